// Rate limits in front of a disk: a bandwidth bucket (bytes) and an operations
// bucket (requests). Each request pays both buckets when it is asked about,
// into debt if they are short, and delayFor says how long until the debt is
// covered: the request completes then. Requests queue in the order asked, and
// nothing is dropped. Ask once per request.
import type { BlockDevice, BlockStatus } from './block-device.js';
import { TokenBucket, type BucketSpec } from './token-bucket.js';

export class RateLimitedDisk implements BlockDevice {
  readonly bandwidth: TokenBucket | undefined;
  readonly ops: TokenBucket | undefined;
  /** Requests that had to wait, for stats. */
  throttled = 0;

  constructor(readonly inner: BlockDevice, limits: { bandwidth?: BucketSpec; ops?: BucketSpec }, now = 0) {
    this.bandwidth = limits.bandwidth && new TokenBucket(limits.bandwidth, now);
    this.ops = limits.ops && new TokenBucket(limits.ops, now);
  }

  get name(): string { return this.inner.name; }
  get sectors(): number { return this.inner.sectors; }
  get readOnly(): boolean { return this.inner.readOnly; }

  /** Milliseconds until this request (its tokens now taken) may complete; 0 = now. */
  delayFor(bytes: number, now: number): number {
    const wait = Math.max(this.bandwidth?.wait(bytes, now) ?? 0, this.ops?.wait(1, now) ?? 0);
    this.bandwidth?.take(bytes, now);
    this.ops?.take(1, now);
    if (wait > 0) this.throttled++;
    return wait;
  }

  read(lba: number, count: number, into: Uint8Array): BlockStatus { return this.inner.read(lba, count, into); }
  write(lba: number, count: number, data: Uint8Array): BlockStatus { return this.inner.write(lba, count, data); }
  close(): void { this.inner.close(); }
}
