// The machine's time. In virtual mode time is made of retired instructions
// (NS_PER_INSTRUCTION each) plus idle time skipped while every vCPU halts, so a
// run is deterministic: the same guest and input give the same output. In wall
// mode time is the host's monotonic clock. Device timers fire on either.
import { host } from '../host/platform.js';
import { TrapezeError } from '../errors.js';
import { saveDeadline, loadDeadline, type SnapshotPart } from '../vm/snapshot-part.js';

export type ClockMode = 'virtual' | 'wall';

/** The virtual CPU runs 100 million instructions per second. */
export const NS_PER_INSTRUCTION = 10;

/** One device's timer: armed for one deadline at a time. */
export class Timer {
  /** Nanoseconds of machine time when it fires; Infinity = disarmed. */
  at = Infinity;
  constructor(private readonly clock: Clock, readonly fire: () => void) {}
  arm(at: number): void { this.at = at; this.clock.rescan(); }
  cancel(): void { this.at = Infinity; this.clock.rescan(); }
}

/** What the clock saves: its time and every timer's deadline, in the order the devices made them. */
export interface ClockState {
  mode: ClockMode;
  virtualNs: number;
  wallStart: number;
  timers: { at: number | null }[];
}

export class Clock implements SnapshotPart<ClockState> {
  private virtualNs = 0;
  /** Instructions the running entry has retired so far, while a device is read inside it (virtual mode). */
  private inEntry = 0;
  private wallStart = host().nowNs();
  private readonly timers: Timer[] = [];
  private next = Infinity;

  constructor(readonly mode: ClockMode = 'virtual') {}

  readonly snapshotVersion = 1;
  saveState(): ClockState {
    return { mode: this.mode, virtualNs: this.virtualNs, wallStart: this.wallStart, timers: this.timers.map((t) => ({ at: saveDeadline(t.at) })) };
  }
  loadState(s: ClockState): void {
    if (s.mode !== this.mode) throw new TrapezeError(`saved with a ${s.mode} clock; this machine's clock is ${this.mode}`);
    if (s.timers.length !== this.timers.length) throw new TrapezeError(`saved ${s.timers.length} timers; this machine has ${this.timers.length}`);
    this.virtualNs = s.virtualNs;
    this.wallStart = s.wallStart;
    s.timers.forEach((t, i) => { this.timers[i].at = loadDeadline(t.at); });
    this.rescan();
  }

  /** Machine time in nanoseconds. */
  now(): number {
    return this.mode === 'virtual' ? this.virtualNs + this.inEntry * NS_PER_INSTRUCTION : host().nowNs() - this.wallStart;
  }

  /** Inside an entry that has retired `n` instructions so far: now() counts them until retired() ends it. */
  retiredSoFar(n: number): void { this.inEntry = n; }

  timer(fire: () => void): Timer {
    const t = new Timer(this, fire);
    this.timers.push(t);
    return t;
  }

  /** Earliest armed deadline (Infinity when none). */
  get nextDeadline(): number { return this.next; }

  rescan(): void {
    let n = Infinity;
    for (const t of this.timers) if (t.at < n) n = t.at;
    this.next = n;
  }

  /** The vCPU retired `n` instructions: advance time and fire what is due. */
  retired(n: number): void {
    this.inEntry = 0;
    if (this.mode === 'virtual') this.virtualNs += n * NS_PER_INSTRUCTION;
    this.fireDue();
  }

  /** Instructions that may run before the next deadline (at least 1). */
  instructionsUntilDeadline(): number {
    if (this.next === Infinity) return Infinity;
    return Math.max(1, Math.ceil((this.next - this.now()) / NS_PER_INSTRUCTION));
  }

  /** Nothing runs until the next deadline: virtual time jumps there. Returns ns skipped. */
  skipToDeadline(): number {
    if (this.mode !== 'virtual' || this.next === Infinity || this.next <= this.virtualNs) return 0;
    const skipped = this.next - this.virtualNs;
    this.virtualNs = this.next;
    this.fireDue();
    return skipped;
  }

  fireDue(): void {
    // a firing timer may re-arm itself (periodic) or others
    for (let guard = 0; this.next <= this.now() && guard < 1000; guard++) {
      const now = this.now();
      for (const t of this.timers) {
        if (t.at <= now) { t.at = Infinity; t.fire(); }
      }
      this.rescan();
    }
  }
}
