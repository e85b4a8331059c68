// Per-vCPU MMU counters, kept in the vCPU state block (u64 each) so the host
// and the teaching views can read them. Names say what they count.
import { ACTIVE, S_COUNTERS, Counter } from "../layout";

@inline export function bump(c: u32): void {
  const a = ACTIVE + S_COUNTERS + (c << 3);
  store<u64>(a, load<u64>(a) + 1);
}
export function cr3Writes(): void { bump(Counter.FlushCr3); }
export function cr0Cr4Flushes(): void { bump(Counter.FlushCr0Cr4); }
export function invlpgCount(): void { bump(Counter.FlushInvlpg); }
