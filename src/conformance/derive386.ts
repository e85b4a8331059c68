// For some kinds of test that the 286 and a 386+ run differently, the Intel SDM
// fixes the 386+ outcome exactly, so it can be derived from the 286's record
// and checked instead of skipped:
// - lock: LOCK on a form that cannot be locked raises #UD (vector 6) before
//   anything runs; the frame holds the IP of the first prefix. (Where the
//   form is invalid anyway, the 286 raised #UD too, and its record stands.)
// - ss-fault: a word at SS-relative offset FFFF raises #SS (vector 12) where
//   the 286 raised #GP: the same frame, through IVT entry 12.
// - string-fault: a word string instruction whose item at offset FFFF faults
//   leaves SI, DI and CX as they were before that item (the 286 had moved
//   them on); #SS when that item's source was SS-relative.
// - pop-mem-fault: POP m16 whose write faults leaves SP as it was.
// And the README's advice for `wrap` (multi-word operands across FFFF) is to
// run them on a core that wraps word by word, as this one does.
// A derivation that would overlap the test's own bytes is not made.
import type { ConformanceTest, RamPair } from './suite.js';

const UD = 6, SS = 12, GP = 13;
/** Our handler for a vector the test has no IVT entry for: a HLT at 0050:0000, above the IVT. */
const HANDLER_SEG = 0x0050;
const HANDLER = HANDLER_SEG * 16;
const HLT = 0xf4;

/** The 386+ version of `t`, for the divergent386 categories that have one. */
export function derive386(categories: string[], t: ConformanceTest): ConformanceTest | undefined {
  // LOCK's #UD comes first, whatever else the instruction would have done
  if (categories.includes('lock')) return t.exception?.vector === UD ? t : faultAtStart(t, UD); // the 286 raised #UD too
  if (categories.length !== 1) return undefined;
  if (categories[0] === 'ss-fault') return gpBecomesSs(t);
  if (categories[0] === 'string-fault') return restartableString(t);
  if (categories[0] === 'pop-mem-fault') return faultAtStart(t, GP); // SP restored, nothing written
  // this core checks each word and wraps at FFFF as the 286 (and Bochs) do, so the record stands
  if (categories[0] === 'wrap') return t;
  return undefined;
}

/** Index registers each word string instruction uses, by opcode. */
const STRING_REGS: Record<number, { si: boolean; di: boolean }> = {
  0x6d: { si: false, di: true }, 0x6f: { si: true, di: false }, 0xa5: { si: true, di: true }, 0xa7: { si: true, di: true },
  0xab: { si: false, di: true }, 0xad: { si: true, di: false }, 0xaf: { si: false, di: true },
};
const SEG_PREFIX: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds' };

function restartableString(t: ConformanceTest): ConformanceTest | undefined {
  if (t.exception?.vector !== GP) return undefined;
  const bytes = Buffer.from(t.bytes, 'hex');
  let i = 0, rep = false, seg = 'ds';
  for (; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0xf2 || b === 0xf3) rep = true;
    else if (SEG_PREFIX[b]) seg = SEG_PREFIX[b];
    else if (b !== 0xf0) break;
  }
  const uses = STRING_REGS[bytes[i]];
  if (!uses) return undefined;
  const r = t.initial.regs;
  const step = r.flags & 0x400 ? -2 : 2;
  // the item that faults: the first whose source or destination word is at FFFF
  const items = rep ? r.cx : 1;
  const at = (v: number, k: number) => (v + k * step) & 0xffff;
  let k = 0;
  while (k < items && !(uses.si && at(r.si, k) === 0xffff) && !(uses.di && at(r.di, k) === 0xffff)) k++;
  if (k === items) return undefined;
  const regs = { ...t.final.regs };
  if (uses.si) regs.si = at(r.si, k);
  if (uses.di) regs.di = at(r.di, k);
  if (rep) regs.cx = r.cx - k;
  const derived = { ...t, final: { ...t.final, regs } };
  // the source (read first) is where SI points; an SS: source faults with #SS
  return uses.si && at(r.si, k) === 0xffff && seg === 'ss' ? gpBecomesSs(derived) : derived;
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

// `vector` raised at the instruction's first byte, before it changed anything:
// through the test's own IVT entry when it has one, else through ours.
function faultAtStart(t: ConformanceTest, vector: number): ConformanceTest | undefined {
  const r = t.initial.regs;
  const flags = (r.flags & 0x0fd7) | 2;
  const sp = (off: number) => (r.sp - off) & 0xffff;
  if (r.sp < 6 && r.sp & 1) return undefined; // a word of the frame would straddle offset FFFF
  const word = (lin: number, v: number): RamPair[] => [[lin, v & 0xff], [lin + 1, v >> 8]];
  const stack = r.ss * 16;
  const frame = [...word(stack + sp(2), flags), ...word(stack + sp(4), r.cs), ...word(stack + sp(6), r.ip)];
  const ram = new Map(t.initial.ram);
  const entry = [0, 1, 2, 3].map((i) => ram.get(vector * 4 + i));
  let handler: { cs: number; ip: number };
  let setup: RamPair[] = [];
  if (entry.every((b) => b !== undefined)) {
    const [o0, o1, s0, s1] = entry as number[];
    handler = { cs: s0 | (s1 << 8), ip: o0 | (o1 << 8) };
    if (ram.get(handler.cs * 16 + handler.ip) !== HLT) return undefined;
  } else {
    handler = { cs: HANDLER_SEG, ip: 0 };
    setup = [...word(vector * 4, 0), ...word(vector * 4 + 2, HANDLER_SEG), [HANDLER, HLT]];
    if (setup.some(([a]) => ram.has(a))) return undefined;
  }
  const fixed = new Set([...setup.map(([a]) => a), vector * 4, vector * 4 + 1, vector * 4 + 2, vector * 4 + 3, handler.cs * 16 + handler.ip]);
  if (frame.some(([a]) => fixed.has(a))) return undefined;
  return {
    ...t,
    initial: { ...t.initial, ram: [...t.initial.ram, ...setup] },
    final: { regs: { cs: handler.cs, ip: handler.ip + 1, sp: sp(6), flags: flags & ~0x300 }, ram: frame },
    exception: { vector, flagsAddress: stack + sp(2) },
  };
}
