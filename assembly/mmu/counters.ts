// Per-vCPU counters, kept in the vCPU state block (u64 each) so the host and
// the teaching views can read them. layout.ts's Counter enum names what each counts.
import { ACTIVE, S_COUNTERS } from "../layout";

@inline export function bump(c: u32): void {
  const a = ACTIVE + S_COUNTERS + (c << 3);
  store<u64>(a, load<u64>(a) + 1);
}

@inline export function bumpBy(c: u32, n: u32): void {
  const a = ACTIVE + S_COUNTERS + (c << 3);
  store<u64>(a, load<u64>(a) + <u64>n);
}
