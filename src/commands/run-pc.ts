// `trapeze run` on the PC platform: --disk, --boot, --bios, --screen,
// --debugcon, --snapshot, --clock. Serial output goes to stdout, typed stdin
// to COM1; the text screen (--screen) is drawn on stderr.
import { openSync, writeSync, closeSync } from 'node:fs';
import { Pc } from '../platform/pc.js';
import { openDiskImages } from '../host/node/disks.js';
import { StdinInput } from '../host/node/stdin.js';
import { rawishTerminal, restoreTerminal } from '../host/node/terminal.js';
import type { ClockMode } from '../platform/clock.js';
import { TrapezeError } from '../errors.js';
import { readImage } from '../machine.js';
import { writeStdout } from './output.js';
import { describeStop, exitStatus } from './outcome.js';
import { ExitTimer } from '../stats/exit-timer.js';
import { printStats } from './run.js';
import { StatusLine } from './status-line.js';
import { choosePcBoot, bootPc, type PcBootOptions } from './pc-boot.js';

export interface RunPcOptions extends PcBootOptions {
  screen?: boolean;
  debugcon?: string;
  testdev?: boolean;
  clock?: string;
  cpus?: number;
  /** CPUID.1:EDX bits the --cpu model adds (FXSR/SSE/SSE2). */
  cpu?: number;
  /** fw_cfg files: name=<name>,file=<path> or name=<name>,string=<text>. */
  fwCfg?: string[];
  memory: number;
  cmdline: string;
  maxInstructions?: number;
  timeout?: number;
  stats?: boolean;
}

export function runPc(image: string | undefined, opts: RunPcOptions): void {
  const boot = choosePcBoot(image, opts);
  if (opts.clock !== undefined && opts.clock !== 'virtual' && opts.clock !== 'wall') throw new TrapezeError(`--clock must be virtual or wall (got "${opts.clock}")`);

  const fwCfgFiles = (opts.fwCfg ?? []).map(parseFwCfgFile);
  const disks = openDiskImages(opts.disk ?? [], opts.snapshot ?? false);
  const debugFd = opts.debugcon !== undefined ? openOutput(opts.debugcon) : 1;
  const input = new StdinInput();
  rawishTerminal(); // the guest echoes typed keys: the terminal must not echo them too
  let status: StatusLine | undefined;
  const pc = new Pc({
    memoryMiB: opts.memory,
    vcpus: opts.cpus ?? 1,
    serial: (b) => { status?.beforeOutput(b); writeStdout(Buffer.of(b)); },
    disks,
    clock: (opts.clock ?? 'virtual') as ClockMode,
    debugcon: (b) => { if (debugFd === 1) status?.beforeOutput(b); writeSync(debugFd, Uint8Array.of(b)); },
    testdev: opts.testdev,
    input,
    screen: opts.screen && process.stderr.isTTY ? drawScreen : undefined,
  });
  try {
    if (opts.cpu) pc.vm.cpuid.features |= opts.cpu;
    for (const f of fwCfgFiles) pc.fwCfg.addFile(f.name, f.data);
    bootPc(pc, boot, image, opts);
    const timer = opts.stats ? new ExitTimer(pc.vm) : undefined;
    if (!opts.screen) status = StatusLine.forTerminal(pc.vm); // the screen has stderr's terminal
    const stop = pc.vm.run({ maxInstructions: opts.maxInstructions, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined, onTick: status?.tick });
    status?.clear();
    if (opts.screen) process.stderr.write(screenText(pc.cga.lines()));
    if (stop.kind !== 'debug-exit' && stop.kind !== 'halted') process.stderr.write(`trapeze: ${describeStop(stop)}\n`);
    if (timer) {
      printStats(pc.vm, timer);
      process.stderr.write(`${pcStats(pc).join('\n')}\n`);
    }
    process.exitCode = exitStatus(stop);
  } finally {
    restoreTerminal();
    pc.close();
    if (debugFd !== 1) closeSync(debugFd);
  }
}

/** A --fw-cfg item as QEMU's -fw_cfg takes it: name=<name>,file=<path> or name=<name>,string=<text>. */
export function parseFwCfgFile(spec: string): { name: string; data: Uint8Array } {
  const m = /^(?:name=)?([^,]+),(file|string)=(.*)$/s.exec(spec);
  if (!m) throw new TrapezeError(`--fw-cfg "${spec}": expected name=<name>,file=<path> or name=<name>,string=<text>`);
  const [, name, kind, value] = m;
  return { name, data: kind === 'file' ? readImage(value, 'an fw_cfg file') : new TextEncoder().encode(value) };
}

function openOutput(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new TrapezeError(`${path}: cannot open for --debugcon (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** The platform's figures for --stats. */
export function pcStats(pc: Pc): string[] {
  const calls = [...pc.bios.calls].map(([v, n]) => `INT ${v.toString(16).padStart(2, '0')}h=${n}`).join(' ') || 'none';
  return [
    `post codes: ${pc.post.describe()}`,
    `bios calls: ${calls}`,
    `ata:        ${pc.ata.sectorsRead} sectors read, ${pc.ata.sectorsWritten} written`,
    `clock:      ${(pc.clock.now() / 1e6).toFixed(3)} ms of ${pc.clock.mode} time`,
  ];
}

function screenText(lines: string[]): string {
  const bar = `+${'-'.repeat(80)}+`;
  return [bar, ...lines.map((l) => `|${l.padEnd(80)}|`), bar, ''].join('\n');
}

/** Redraw the screen in place on a terminal (cursor up over the last frame). */
let drawn = false;
function drawScreen(lines: string[]): void {
  process.stderr.write((drawn ? `\x1b[${lines.length + 2}A` : '') + screenText(lines));
  drawn = true;
}
