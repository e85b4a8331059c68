// Compares the state a test left with what the 286 recorded: registers
// (FLAGS under the file's mask), the RAM bytes listed as final, and the FLAGS
// word an exception pushed (under the same mask); other bytes the test gave
// must be unchanged.
import type { ConformanceTest, Reg16Name } from './suite.js';
import type { Harness } from './harness.js';

const GPR_INDEX: Partial<Record<Reg16Name, number>> = { ax: 0, cx: 1, dx: 2, bx: 3, sp: 4, bp: 5, si: 6, di: 7 };
const SEGMENTS = ['cs', 'ss', 'ds', 'es'] as const;
/** Only bits 0-11 of FLAGS are compared (bits 12-15 differ between a 286 and a 386 in real mode). */
const FLAGS_BITS = 0x0fff;

const hex = (v: number, w = 4) => v.toString(16).toUpperCase().padStart(w, '0');

/** What differs, one line each; empty when the test passed. */
export function compare(t: ConformanceTest, h: Harness, flagsMask: number): string[] {
  const want = { ...t.initial.regs, ...t.final.regs };
  const out: string[] = [];
  const cpu = h.vcpu;
  for (const [name, i] of Object.entries(GPR_INDEX) as [Reg16Name, number][]) {
    const got = cpu.gpr(i);
    if (got !== want[name]) out.push(`${name}: got ${hex(got)}, want ${hex(want[name])}`);
  }
  for (const s of SEGMENTS) {
    const seg = cpu.segment(s);
    if (seg.selector !== want[s]) out.push(`${s}: got ${hex(seg.selector)}, want ${hex(want[s])}`);
    else if (seg.base !== seg.selector * 16 || seg.limit !== 0xffff) {
      out.push(`${s} cache: got base ${hex(seg.base, 5)} limit ${hex(seg.limit)}, want a real-mode ${hex(seg.selector * 16, 5)} FFFF`);
    }
  }
  if (cpu.eip !== want.ip) out.push(`ip: got ${hex(cpu.eip)}, want ${hex(want.ip)}`);
  const mask = flagsMask & FLAGS_BITS;
  const flags = cpu.eflags;
  if ((flags ^ want.flags) & mask) out.push(`flags: got ${hex(flags & FLAGS_BITS, 3)}, want ${hex(want.flags & FLAGS_BITS, 3)} (differ ${hex((flags ^ want.flags) & mask, 3)})`);

  const pushedFlags = t.exception?.flagsAddress ?? -2;
  for (const [addr, b] of t.final.ram) {
    const got = h.byte(addr);
    const m = addr === pushedFlags ? mask & 0xff : addr === pushedFlags + 1 ? mask >> 8 : 0xff;
    if ((got ^ b) & m) out.push(`ram[${hex(addr, 5)}]: got ${hex(got, 2)}, want ${hex(b, 2)}${m !== 0xff ? ' (pushed FLAGS)' : ''}`);
  }
  // bytes the test gave and does not list as final must be left as they were
  const listed = new Set(t.final.ram.map(([addr]) => addr));
  for (const [addr, b] of t.initial.ram) {
    const got = h.byte(addr);
    if (!listed.has(addr) && got !== b) out.push(`ram[${hex(addr, 5)}]: got ${hex(got, 2)}, want it unchanged (${hex(b, 2)})`);
  }
  return out;
}
