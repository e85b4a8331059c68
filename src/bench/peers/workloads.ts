// The guests `npm run bench:peers` times on every engine. Each prints a line
// before its work and a line after it; the time between the two is the
// figure (startup excluded). Each output is checked against what QEMU printed
// when the images were recorded: an engine whose output differs has its
// figure refused.
import { readFileSync } from 'node:fs';
import { ROOT } from './engines.js';

export interface Workload {
  id: string;
  /** What it measures, for the table. */
  label: string;
  image: string;
  cmdline: string;
  /** The line printed before the work, and the one after it. */
  start: RegExp;
  end: RegExp;
  /** Why `output` (serial, without '#' lines) is wrong, or undefined when it is right. */
  check(output: string): string | undefined;
  /** The guest times its kinds with RDTSC (`# kind cycles/iter=N`): Trapeze's TSC must follow the host clock. */
  rdtsc?: boolean;
  iterations?: number;
  /**
   * A shorter run an engine with a JIT makes first in the same process, its
   * output discarded, so that per-exit costs are compared warm (QEMU's TCG
   * has no such warm-up to speak of).
   */
  warmup?: string;
}

const IMAGES = `${ROOT}guest-images/`;
const expected = (name: string) => readFileSync(`${IMAGES}expected/${name}`, 'utf8');

/** Lines up to the first that matches `end` (an engine may stop there: v86 has no exit port). */
function upTo(text: string, end: RegExp): string[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => end.test(l));
  return i < 0 ? lines : lines.slice(0, i + 1);
}

/** The first line where `got` and `want` differ up to the end line, for a refusal message. */
function difference(got: string, want: string, end: RegExp): string | undefined {
  const g = upTo(got, end), w = upTo(want, end);
  for (let i = 0; i < Math.max(g.length, w.length); i++) {
    if (g[i] !== w[i]) return `line ${i + 1} is ${JSON.stringify(g[i] ?? '(missing)')}, expected ${JSON.stringify(w[i] ?? '(nothing)')}`;
  }
  return undefined;
}

export function compute(iterations: number): Workload {
  const sum = new RegExp(`^iterations=${iterations} checksum=([0-9A-F]{8})$`, 'm').exec(expected('compute.checksums'))?.[1];
  return {
    id: 'compute', label: `compute guest, iterations=${iterations}`, image: `${IMAGES}compute.elf`, cmdline: `iterations=${iterations}`,
    start: /^iterations=/, end: /^checksum=/, iterations,
    check: (out) => {
      const got = /^checksum=([0-9A-F]{8})$/m.exec(out)?.[1];
      if (!got) return 'no checksum line';
      if (sum === undefined) return `no recorded checksum for iterations=${iterations} (guest-images/expected/compute.checksums)`;
      return got === sum ? undefined : `checksum=${got}, QEMU's recorded checksum is ${sum}`;
    },
  };
}

export function pagestress(): Workload {
  return {
    id: 'pagestress', label: 'pagestress guest (4 address spaces, 100,000 page touches)', image: `${IMAGES}pagestress.elf`, cmdline: '',
    start: /^spaces=/, end: /^checksum=/,
    check: (out) => difference(out, expected('pagestress.txt'), /^checksum=/),
  };
}

export function vmexit(iterations: number): Workload {
  return {
    id: 'vmexit', label: `vmexit guest, iterations=${iterations} per kind`, image: `${IMAGES}vmexit.elf`, cmdline: `iterations=${iterations}`,
    start: /^iterations=/, end: /^vmexit done/, rdtsc: true, iterations, warmup: `iterations=${iterations}`,
    check: (out) => difference(out, expected('vmexit.txt').replace(/^iterations=\d+$/m, `iterations=${iterations}`), /^vmexit done/),
  };
}
