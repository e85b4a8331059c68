// For two kinds of test that the 286 and a 386+ run differently, the Intel SDM
// fixes the 386+ outcome exactly, so it can be derived from the 286's record
// and checked instead of skipped:
// - lock: LOCK on a form that cannot be locked raises #UD (vector 6) before
//   anything runs; the frame holds the IP of the first prefix. (Where the
//   form is invalid anyway, the 286 raised #UD too, and its record stands.)
// - ss-fault: a word at SS-relative offset FFFF raises #SS (vector 12) where
//   the 286 raised #GP: the same frame, through IVT entry 12.
// A derivation that would overlap the test's own bytes is not made.
import type { ConformanceTest, RamPair } from './suite.js';

const UD = 6, SS = 12, GP = 13;
/** Our #UD handler: a HLT at 0050:0000, just above the IVT. */
const HANDLER_SEG = 0x0050;
const HANDLER = HANDLER_SEG * 16;
const HLT = 0xf4;

/** The 386+ version of `t`, for the divergent386 categories that have one. */
export function derive386(categories: string[], t: ConformanceTest): ConformanceTest | undefined {
  // LOCK's #UD comes first, whatever else the instruction would have done
  if (categories.includes('lock')) return t.exception?.vector === UD ? t : faultAtStart(t, UD); // the 286 raised #UD too
  if (categories.length === 1 && categories[0] === 'ss-fault') return gpBecomesSs(t);
  return undefined;
}

function gpBecomesSs(t: ConformanceTest): ConformanceTest | undefined {
  if (t.exception?.vector !== GP) return undefined;
  const ram = new Map(t.initial.ram);
  const entry: RamPair[] = [];
  for (let i = 0; i < 4; i++) {
    const b = ram.get(GP * 4 + i);
    if (b === undefined || ram.has(SS * 4 + i)) return undefined;
    entry.push([SS * 4 + i, b]);
  }
  return {
    ...t,
    initial: { ...t.initial, ram: [...t.initial.ram, ...entry] },
    exception: { ...t.exception, vector: SS },
  };
}

function faultAtStart(t: ConformanceTest, vector: number): ConformanceTest | undefined {
  const r = t.initial.regs;
  const flags = (r.flags & 0x0fd7) | 2;
  const sp = (off: number) => (r.sp - off) & 0xffff;
  if (r.sp < 6 && r.sp & 1) return undefined; // a word of the frame would straddle offset FFFF
  const word = (lin: number, v: number): RamPair[] => [[lin, v & 0xff], [lin + 1, v >> 8]];
  const stack = r.ss * 16;
  const frame = [...word(stack + sp(2), flags), ...word(stack + sp(4), r.cs), ...word(stack + sp(6), r.ip)];
  const setup: RamPair[] = [...word(vector * 4, 0), ...word(vector * 4 + 2, HANDLER_SEG), [HANDLER, HLT]];
  const used = new Set(t.initial.ram.map(([a]) => a));
  const ours = new Set(setup.map(([a]) => a));
  if (setup.some(([a]) => used.has(a)) || frame.some(([a]) => ours.has(a))) return undefined;
  return {
    ...t,
    initial: { ...t.initial, ram: [...t.initial.ram, ...setup] },
    final: { regs: { cs: HANDLER_SEG, ip: 1, sp: sp(6), flags: flags & ~0x300 }, ram: frame },
    exception: { vector, flagsAddress: stack + sp(2) },
  };
}
