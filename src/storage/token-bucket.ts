// A token bucket with Firecracker's semantics: `size` tokens, refilled from
// empty to full in `refillTimeMs`, plus a one-time burst spent first and never
// refilled. A request needs all its tokens at once (or, when it asks for more
// than the bucket can ever hold, a full bucket). Tokens taken beyond what the
// bucket holds are debt, which the requests after it wait out.

export interface BucketSpec {
  size: number;
  oneTimeBurst?: number;
  refillTimeMs: number;
}

export class TokenBucket {
  private budget: number;
  private burst: number;
  private last: number;

  constructor(readonly spec: BucketSpec, now = 0) {
    this.budget = spec.size;
    this.burst = spec.oneTimeBurst ?? 0;
    this.last = now;
  }

  /** Tokens available now (the burst included). */
  available(now: number): number {
    this.refill(now);
    return this.burst + this.budget;
  }

  /** Milliseconds until `tokens` can be taken; 0 = now. Takes nothing. */
  wait(tokens: number, now: number): number {
    this.refill(now);
    const need = Math.min(tokens, this.spec.size) - this.burst;
    if (need <= this.budget) return 0;
    return Math.ceil(((need - this.budget) * this.spec.refillTimeMs) / this.spec.size);
  }

  /** Take `tokens`: the budget may go below zero (debt, paid back by refills). */
  take(tokens: number, now: number): void {
    this.refill(now);
    const fromBurst = Math.min(this.burst, tokens);
    this.burst -= fromBurst;
    this.budget -= tokens - fromBurst; // negative: over-consumption, paid back by refills
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.budget = Math.min(this.spec.size, this.budget + ((now - this.last) * this.spec.size) / this.spec.refillTimeMs);
    this.last = now;
  }

  /** State for a snapshot. */
  save(): { budget: number; burst: number; last: number } { return { budget: this.budget, burst: this.burst, last: this.last }; }
  load(s: { budget: number; burst: number; last: number }): void { this.budget = s.budget; this.burst = s.burst; this.last = s.last; }
}

/** The shorthand `perSecond`: a bucket of that size refilled every second. */
export function perSecond(rate: number): BucketSpec {
  return { size: rate, refillTimeMs: 1000 };
}
