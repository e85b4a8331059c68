// Bytes typed on the host, for the guest's UART: taken without blocking, as
// the run loop is synchronous. The Node host reads its stdin
// (src/host/node/stdin.ts); a page types into a BufferedInput.

export interface HostInput {
  /** Up to `max` bytes available now (empty when none). */
  take(max: number): Uint8Array;
  /** No more bytes will ever come. */
  readonly ended: boolean;
  close(): void;
}

/** Input from a list of bytes (tests, scripted sessions). */
export class BufferedInput implements HostInput {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  take(max: number): Uint8Array {
    const out = this.bytes.subarray(this.at, this.at + max);
    this.at += out.length;
    return out;
  }
  get ended(): boolean { return this.at >= this.bytes.length; }
  close(): void {}
}
