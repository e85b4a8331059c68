// POST-code ports: firmware writes progress codes to port 0x80 (the classic
// diagnostic card port) and 0x190; the last codes are kept for --stats.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const POST_PORTS = [0x80, 0x190] as const;
const KEPT = 16;

/** What PostCode saves in a snapshot. */
export interface PostCodeState {
  codes: number[];
  last: number;
}

export class PostCode implements PortDevice, SnapshotPart<PostCodeState> {
  readonly name = 'post-code';
  readonly inline = true; // a log: no time, interrupts or stop
  /** The last codes written, oldest first (port 0x190 may write words). */
  readonly codes: number[] = [];
  private last = 0;

  readonly snapshotVersion = 1;
  saveState(): PostCodeState {
    return {
      codes: [...this.codes],
      last: this.last,
    };
  }
  loadState(s: PostCodeState): void {
    ({ last: this.last } = s);
    this.codes.splice(0, this.codes.length, ...s.codes);
  }

  read(_port: number, _size: IoSize): number { return this.last; }

  write(_port: number, size: IoSize, value: number): void {
    this.last = value & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
    this.codes.push(this.last);
    if (this.codes.length > KEPT) this.codes.shift();
  }

  /** "0x01 0x02 ..." for --stats. */
  describe(): string {
    return this.codes.map((c) => `0x${c.toString(16).padStart(2, '0')}`).join(' ') || 'none';
  }
}
