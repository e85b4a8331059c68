// Running the shipped guest images in tests: boot, collect serial output,
// and compare with what QEMU printed (guest-images/expected/).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMachine } from '../../src/machine.js';
import { bootMultiboot } from '../../src/machine.js';
import type { StopInfo, Vm } from '../../src/vm/vm.js';

export const IMAGES = fileURLToPath(new URL('../../guest-images/', import.meta.url));

export interface GuestRun {
  serial: string;
  stop: StopInfo;
  vm: Vm;
}

export function runGuest(name: string, opts: { memoryMiB?: number; cmdline?: string; maxInstructions?: number } = {}): GuestRun {
  let serial = '';
  const machine = createMachine({ memoryMiB: opts.memoryMiB ?? 32, serial: (b) => { serial += String.fromCharCode(b); } });
  bootMultiboot(machine, `${IMAGES}${name}.elf`, opts.cmdline ?? '');
  const stop = machine.vm.run({ maxInstructions: opts.maxInstructions ?? 3_000_000_000 });
  return { serial, stop, vm: machine.vm };
}

/** Lines that carry architecture, not timing: '#' lines are left out. */
export function significantLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

export function expected(name: string): { lines: string[]; status: number } {
  const lines = significantLines(readFileSync(`${IMAGES}expected/${name}.txt`, 'latin1'));
  const statusFile = `${IMAGES}expected/${name}.status`;
  const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : 1;
  return { lines, status };
}
