// The engines `npm run bench:peers` compares: each runs a guest in a process
// of its own whose stdout is the guest's serial port. An engine that cannot
// run here says why, and is reported as skipped. To add a row (another core,
// a JIT setting), add an Engine: an id, a label, and the command for a guest.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Workload } from './workloads.js';
import { NODE_FLAGS } from '../../host/node/node-flags.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Debian's SeaBIOS (apt-get install seabios), which v86 boots when it is there. */
export const SEABIOS = '/usr/share/seabios/bios.bin';
export const SEABIOS_VGA = '/usr/share/seabios/vgabios-stdvga.bin';
/** How a Trapeze child's last stderr line starts (src/bench/peers/trapeze-child.ts). */
export const CHILD_REPORT = 'trapeze-child:';
// the children run from the build (also when this module runs from source, under vitest)
const CHILD = (name: string) => `${ROOT}dist/bench/peers/${name}.js`;

export interface Engine {
  id: string;
  label: string;
  /** Why it cannot run on this machine, or undefined when it can. */
  missing(): string | undefined;
  /** The command that runs `w` until it prints its end line (and, for most engines, exits). */
  command(w: Workload): string[];
  /** The whole-process command for the startup figure: `hello` from a cold start. */
  startup?(): string[];
  /** Whether it reports the instructions retired at each line (Trapeze does). */
  countsInstructions?: boolean;
}

/** Trapeze on this checkout's core, or on another build of it (`core`). */
export function trapeze(id: string, label: string, options: { core?: () => string; args?: string[]; cli?: boolean } = {}): Engine {
  return {
    id, label, countsInstructions: true,
    missing: () => {
      if (!options.core) return existsSync(`${ROOT}build/core.wasm`) ? undefined : 'build/core.wasm is missing (npm run build)';
      try { options.core(); return undefined; } catch (e) { return (e as Error).message; }
    },
    command: (w) => [process.execPath, ...NODE_FLAGS, CHILD('trapeze-child'), w.image, w.cmdline,
      ...(options.core ? ['--core', options.core()] : []), ...(w.rdtsc ? ['--host-clock'] : []),
      ...(w.warmup !== undefined ? ['--warmup', w.warmup] : []), ...(options.args ?? [])],
    // the command line users run
    startup: options.cli ? () => [process.execPath, ...NODE_FLAGS, `${ROOT}bin/trapeze.js`, 'run', `${ROOT}guest-images/hello.elf`, ...(options.args ?? [])] : undefined,
  };
}

/** An earlier Trapeze through its own CLI (its host and core belong together); the time comes from its serial lines. */
export function earlierTrapeze(id: string, label: string, cli: () => string): Engine {
  return {
    id, label,
    missing: () => { try { cli(); return undefined; } catch (e) { return (e as Error).message; } },
    command: (w) => [process.execPath, ...NODE_FLAGS, cli(), 'run', w.image, ...(w.cmdline ? ['--cmdline', w.cmdline] : [])],
    startup: () => [process.execPath, ...NODE_FLAGS, cli(), 'run', `${ROOT}guest-images/hello.elf`],
  };
}

function v86Version(): string | undefined {
  try {
    const main = createRequire(import.meta.url).resolve('v86');
    return JSON.parse(readFileSync(new URL('../package.json', `file://${main}`), 'utf8')).version.replace(/\+.*/, '');
  } catch { return undefined; }
}

/** v86 from npm, with its JIT or interpreting only. */
export function v86(jit: boolean): Engine {
  const version = v86Version();
  const bios = existsSync(SEABIOS) ? 'SeaBIOS' : 'no BIOS';
  return {
    id: jit ? 'v86' : 'v86-interpreter',
    label: `v86 ${version ?? ''} ${jit ? 'JIT' : 'interpreter'} (${bios})`.replace(/ +/g, ' '),
    missing: () => version ? undefined : 'the v86 package is not installed (npm install)',
    command: (w) => [process.execPath, CHILD('v86-child'), w.image, w.cmdline, w.end.source, ...(jit ? [] : ['--no-jit']),
      ...(w.warmup !== undefined ? ['--warmup', w.warmup] : [])],
    startup: jit ? () => [process.execPath, CHILD('v86-child'), `${ROOT}guest-images/hello.elf`, '', '^Hello'] : undefined,
  };
}

const QEMU = 'qemu-system-i386';
function qemuVersion(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? /version (\d+\.\d+(\.\d+)?)/.exec(r.stdout)?.[1] ?? '?' : undefined;
}

/** QEMU's TCG with the devices the guest images expect (guest-images/verify-qemu.sh). */
export function qemu(): Engine {
  const version = qemuVersion();
  const args = (image: string, cmdline: string) => [QEMU, '-accel', 'tcg', '-cpu', 'pentium3', '-m', '32', '-kernel', image,
    ...(cmdline ? ['-append', cmdline] : []), '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
  return {
    id: 'qemu', label: `QEMU ${version ?? ''} TCG`.replace(/ +/g, ' '),
    missing: () => version ? undefined : `${QEMU} is not on the PATH`,
    command: (w) => args(w.image, w.cmdline),
    startup: () => args(`${ROOT}guest-images/hello.elf`, ''),
  };
}
