// Every shipped guest image boots and prints what guest-images/expected/ holds
// (recorded on QEMU, or written from the SDM for `strict`), and stops with the
// same exit status.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { IMAGES, runGuest, expected, significantLines } from './support/guest.js';
import { Pc } from '../src/platform/pc.js';
import { exitStatus } from '../src/commands/outcome.js';

const images = readdirSync(IMAGES).filter((f) => f.endsWith('.elf')).map((f) => f.slice(0, -4)).sort();

// Images that need the PC: its 8259 and 8254 (a timer interrupt wakes sleeper),
// its local APICs and fw_cfg (smp, ipi and spinlock bring up a second vCPU).
const ON_PC = new Set(['sleeper', 'smp', 'ipi', 'spinlock']);

function runOnPc(name: string, cmdline: string): { serial: string; status: number } {
  let serial = '';
  const pc = new Pc({ memoryMiB: 32, vcpus: qemuCpus(name), serial: (b) => { serial += String.fromCharCode(b); } });
  try {
    pc.bootMultiboot(`${IMAGES}${name}.elf`, cmdline);
    const status = exitStatus(pc.vm.run({ maxInstructions: 1_000_000_000 }));
    return { serial, status };
  } finally {
    pc.close();
  }
}

/** The CPU count QEMU was given (`-smp N` in expected/NAME.cmd). */
function qemuCpus(name: string): number {
  const file = `${IMAGES}expected/${name}.cmd`;
  const m = existsSync(file) ? /-smp\s+(\d+)/.exec(readFileSync(file, 'utf8')) : null;
  return m ? Number(m[1]) : 1;
}

/** The command line QEMU was given (`-append "..."` in expected/NAME.cmd). */
function qemuCmdline(name: string): string {
  const file = `${IMAGES}expected/${name}.cmd`;
  if (!existsSync(file)) return '';
  const m = /-append\s+"([^"]*)"/.exec(readFileSync(file, 'utf8'));
  return m ? m[1] : '';
}

// compute runs ~460 M instructions by default: the suite uses a count whose
// checksum QEMU recorded in expected/compute.checksums.
const COMPUTE_ITERATIONS = 100;
function computeExpected(iterations: number): string[] {
  const table = readFileSync(`${IMAGES}expected/compute.checksums`, 'utf8');
  const m = new RegExp(`^iterations=${iterations} (checksum=[0-9A-F]{8})$`, 'm').exec(table);
  if (!m) throw new Error(`no recorded checksum for iterations=${iterations}`);
  return [`iterations=${iterations}`, m[1], 'PASS'];
}

// mbinfo prints the multiboot information it was given. QEMU's file holds
// SeaBIOS's memory map; ours is what src/loader/multiboot.ts builds: 640 KiB
// less the 1 KiB EBDA, the EBDA, the BIOS area, then all RAM above 1 MiB, and
// flags MEM | CMDLINE | MODS | MMAP | LOADER_NAME.
function mbinfoExpected(memoryMiB: number, cmdline: string): string[] {
  const hex16 = (n: number) => n.toString(16).toUpperCase().padStart(16, '0');
  const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const above1M = memoryMiB * 1024 * 1024 - 0x100000;
  return [
    'magic=2BADB002 ok',
    `flags=${hex8(0x24d)}`,
    `mem_lower=${hex8(0x27f)} mem_upper=${hex8(above1M / 1024)}`,
    `cmdline='${cmdline}'`,
    `mmap base=${hex16(0)} length=${hex16(0x9fc00)} type=1`,
    `mmap base=${hex16(0x9fc00)} length=${hex16(0x400)} type=2`,
    `mmap base=${hex16(0xf0000)} length=${hex16(0x10000)} type=2`,
    `mmap base=${hex16(0x100000)} length=${hex16(above1M)} type=1`,
    'PASS',
  ];
}

describe('guest images', () => {
  it('ships the images the README lists', () => {
    expect(images).toEqual(expect.arrayContaining([
      'compute', 'exceptions', 'hello', 'mbinfo', 'pagestress', 'paging', 'gates', 'pmode', 'rings', 'smc', 'smp', 'strict', 'tasks', 'v86', 'vmexit',
    ]));
  });

  for (const name of images.filter((n) => n !== 'compute' && n !== 'mbinfo')) {
    it(`${name}: serial output and exit status match expected/${name}`, () => {
      const cmdline = qemuCmdline(name);
      const run = ON_PC.has(name) ? runOnPc(name, cmdline) : (({ serial, stop }) => ({ serial, status: exitStatus(stop) }))(runGuest(name, { cmdline }));
      const want = expected(name);
      expect(significantLines(run.serial)).toEqual(want.lines);
      expect(run.status).toBe(want.status);
    });
  }

  it(`compute (iterations=${COMPUTE_ITERATIONS}): checksum matches QEMU`, () => {
    const run = runGuest('compute', { cmdline: `iterations=${COMPUTE_ITERATIONS}` });
    expect(significantLines(run.serial)).toEqual(computeExpected(COMPUTE_ITERATIONS));
    expect(exitStatus(run.stop)).toBe(expected('compute').status);
  });

  for (const memoryMiB of [32, 64]) {
    it(`mbinfo (${memoryMiB} MiB): prints the multiboot information our loader builds`, () => {
      const run = runGuest('mbinfo', { cmdline: 'hello world', memoryMiB });
      expect(significantLines(run.serial)).toEqual(mbinfoExpected(memoryMiB, 'hello world'));
      expect(exitStatus(run.stop)).toBe(expected('mbinfo').status);
    });
  }
});
