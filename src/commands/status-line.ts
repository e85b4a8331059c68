// The live status line of `trapeze run` on a terminal: instructions, MIPS and
// exits so far, redrawn a few times a second on stderr and cleared at the
// end, as --top does for many VMs. Only when stdout and stderr are both a
// terminal (piped or redirected output gets none), and only at the start of
// a line of guest output: the guest's own bytes take the line away first.
import type { Vm } from '../vm/vm.js';

const REDRAW_MS = 250;

export class StatusLine {
  private shown = false;
  private atLineStart = true;
  private last = 0;
  private readonly started = performance.now();

  private constructor(private readonly vm: Vm, private readonly err: NodeJS.WriteStream) {}

  /** A status line when the output is a terminal; undefined otherwise. */
  static forTerminal(vm: Vm): StatusLine | undefined {
    return process.stdout.isTTY && process.stderr.isTTY ? new StatusLine(vm, process.stderr) : undefined;
  }

  /** Before the guest writes `byte` to the terminal. */
  beforeOutput(byte: number): void {
    if (this.shown) this.clear();
    this.atLineStart = byte === 0x0a;
  }

  /** From the run loop: redraw when it is time (and the line is free). */
  readonly tick = (): void => {
    const now = performance.now();
    // a run shorter than a second shows nothing
    if (now - this.started < 1000 || now - this.last < REDRAW_MS || !this.atLineStart) return;
    this.last = now;
    this.err.write(`\r\x1b[K${this.text(now)}`);
    this.shown = true;
  };

  text(now = performance.now()): string {
    const insns = this.vm.instructionsRetired;
    const seconds = (now - this.started) / 1000;
    const exits = Object.values(this.vm.exitStats()).reduce((a, b) => a + b, 0);
    return `trapeze: ${count(insns)} instructions, ${(insns / 1e6 / Math.max(seconds, 1e-3)).toFixed(1)} MIPS, ${count(exits)} exits, ${seconds.toFixed(1)} s`;
  }

  /** Take the line away (at the end, or before guest output). */
  clear(): void {
    if (!this.shown) return;
    this.err.write('\r\x1b[K');
    this.shown = false;
  }
}

function count(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}
