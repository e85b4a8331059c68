// The Node host's stdin, for the guest's UART. The run loop is synchronous,
// so stdin is read without blocking: a pipe or terminal is reopened
// non-blocking (its own file description, fd 0 is left alone), a socket is
// made non-blocking by Node's stdin stream, a regular file is read as it is.
// With input from a file and the virtual clock, bytes reach the guest at the
// same points on every run.
import { openSync, readSync, closeSync, fstatSync, constants } from 'node:fs';
import type { HostInput } from '../../platform/host-input.js';

/** A terminal or pipe that had nothing is asked again only after this long: a read is a system call. */
const EMPTY_RETRY_MS = 2;

export class StdinInput implements HostInput {
  private fd: number;
  private done = false;
  private readonly buf = new Uint8Array(256);
  private quietUntil = 0;

  constructor() {
    let regular: boolean;
    try {
      regular = fstatSync(0).isFile();
    } catch {
      this.fd = -1; // no stdin at all
      this.done = true;
      return;
    }
    try {
      this.fd = regular ? 0 : openSync('/dev/stdin', constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      // a socket (Node's child-process pipes) cannot be reopened: Node's own
      // stdin stream makes fd 0 non-blocking; kept paused, it reads nothing itself
      process.stdin.pause();
      this.fd = 0;
    }
  }

  take(max: number): Uint8Array {
    if (this.done || performance.now() < this.quietUntil) return this.buf.subarray(0, 0);
    try {
      const n = readSync(this.fd, this.buf, 0, Math.min(max, this.buf.length), null);
      if (n === 0) this.done = true;
      return this.buf.slice(0, n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.done = true;
      this.quietUntil = performance.now() + EMPTY_RETRY_MS;
      return this.buf.subarray(0, 0);
    }
  }

  get ended(): boolean { return this.done; }

  close(): void {
    if (this.fd > 0) closeSync(this.fd); // fd 0 itself stays open
    this.fd = -1;
    this.done = true;
  }
}
