// SHL/SAL, SHR and SAR leave their flags lazy (assembly/cpu/flags.ts
// LazyOp.Shift): every reader must see what the eager code wrote before,
// modelled here: PUSHFD (all flags), SETcc (each flag through its condition),
// INC (CF kept) and ADC (CF in), for byte, word and dword operands, counts 0,
// 1, past 1, past the width and past 31 (masked), by CL, by an immediate, by 1,
// in a register and in memory; with the JIT, a compiled region reads a lazy
// shift left in the state by the interpreter (a memory shift it falls back on).
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;
const OPS = [4, 5, 6, 7]; // SHL, SHR, SAL (= SHL), SAR
const VALUES = [0x00000001, 0x00000080, 0x00008001, 0x80000000, 0x12345678, 0xffffffff, 0xdeadbeef];
const COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33];
const CCS = [0, 2, 4, 6, 8, 10, 12, 14]; // O B E BE S P L LE: every flag, alone or combined

const parity = (v: number) => { let x = v & 0xff, n = 0; while (x) { n += x & 1; x >>>= 1; } return n % 2 === 0; };

/** The shift as the eager code defined it: the result and EFLAGS after it. */
function model(op: number, sz: number, v: number, count: number, flags: number): { r: number; flags: number } {
  const w = 8 << sz, m = sz === 2 ? 0xffffffff : (1 << w) - 1, msb = 2 ** (w - 1);
  const c = count & 31;
  v = (v & m) >>> 0;
  if (c === 0) return { r: v, flags };
  let r: number, cf: number, of: boolean, af: number;
  if (op === 5) { // SHR
    cf = c <= w ? Math.floor(v / 2 ** (c - 1)) % 2 : 0;
    r = Math.floor(v / 2 ** c);
    of = (r >= msb) !== (Math.floor(r / (msb / 2)) % 2 === 1);
    af = AF;
  } else if (op === 7) { // SAR
    const s = v >= msb ? v - 2 * msb : v;
    cf = Math.floor(s / 2 ** Math.min(c - 1, w - 1)) & 1;
    r = (Math.floor(s / 2 ** c) + 2 ** 32) % 2 ** w;
    of = false;
    af = AF;
  } else { // SHL
    const x = BigInt(v) << BigInt(c);
    r = Number(x & BigInt(m));
    cf = Number((x >> BigInt(w)) & 1n);
    of = (r >= msb) !== (cf === 1);
    af = 0;
  }
  let f = (flags & ~ARITH) | cf | af | (of ? OF : 0);
  if (r === 0) f |= ZF;
  if (r >= msb) f |= SF;
  if (parity(r)) f |= PF;
  return { r, flags: f };
}

function condition(cc: number, f: number): boolean {
  const b = (x: number) => (f & x) !== 0;
  const r = [b(OF), b(CF), b(ZF), b(CF) || b(ZF), b(SF), b(PF), b(SF) !== b(OF), b(ZF) || b(SF) !== b(OF)][cc >> 1];
  return (cc & 1) ? !r : r;
}

type Form = 'cl' | 'imm' | 'one' | 'mem';
interface Case { op: number; sz: number; v: number; count: number; flags: number; form: Form }

const DATA = 0x100000;
const SLOT = 32; // per case: value, flags after, 8 SETcc bytes, flags after INC, ADC's CF

/** The code for one case, its results at DATA + i * SLOT. */
function caseCode(c: Case, i: number): number[] {
  const at = DATA + i * SLOT;
  const osz = c.sz === 1 ? [0x66] : [];
  const wide = c.sz === 0 ? 0 : 1;
  const modrm = (c.form === 'mem' ? 0x05 : 0xc0) | (c.op << 3);
  let shift: number[];
  if (c.form === 'imm') shift = [...osz, 0xc0 | wide, modrm, c.count & 0xff];
  else if (c.form === 'one') shift = [...osz, 0xd0 | wide, modrm];
  else shift = [...osz, 0xd2 | wide, modrm, ...(c.form === 'mem' ? le32(at) : [])];
  return [
    0xb8, ...le32(c.v),                   // mov eax, v
    0xa3, ...le32(at),                    // mov [at], eax
    0xb9, ...le32(c.count),               // mov ecx, count
    0xba, ...le32(0),                     // mov edx, 0
    0x68, ...le32(c.flags), 0x9d,         // push flags; popfd
    ...shift,                             // the shift (of AL/AX/EAX or [at])
    ...(c.form === 'mem' ? [] : [0xa3, ...le32(at)]), // mov [at], eax
    0x9c, 0x8f, 0x05, ...le32(at + 4),    // pushfd; pop dword [at + 4]
    ...CCS.flatMap((cc, k) => [0x0f, 0x90 | cc, 0x05, ...le32(at + 8 + k)]), // setcc [at + 8 + k]
    0x47,                                 // inc edi (CF kept)
    0x9c, 0x8f, 0x05, ...le32(at + 16),   // pushfd; pop dword [at + 16]
    0x83, 0xd2, 0x00,                     // adc edx, 0 (CF of the shift, kept by INC)
    0x89, 0x15, ...le32(at + 20),         // mov [at + 20], edx
  ];
}

function cases(): Case[] {
  const out: Case[] = [];
  let n = 0;
  for (const op of OPS) for (const sz of [0, 1, 2]) for (const v of VALUES) for (const count of COUNTS) {
    const forms: Form[] = count === 1 ? ['cl', 'imm', 'one', 'mem'] : ['cl', 'imm', 'mem'];
    out.push({ op, sz, v, count, flags: n % 2 ? 0x2 | ARITH : 0x2, form: forms[n % forms.length] });
    n++;
  }
  return out;
}

function run(code: number[], jit: boolean): Vm {
  const vm = new Vm({ memoryMiB: 2, jit: { on: jit, threshold: 2, demote: false }, sliceInstructions: 1000 });
  enterFlat32(vm, code, { esp: 0x1f0000 });
  const stop = vm.run({ maxInstructions: 10_000_000 });
  expect(stop.kind).toBe('halted');
  return vm;
}

const resultOf = (c: Case) => model(c.op, c.sz, c.v, c.count, c.flags);
const valueOf = (c: Case) => {
  const mask = c.sz === 2 ? 0xffffffff : c.sz === 1 ? 0xffff : 0xff;
  return ((c.v & ~mask) | resultOf(c).r) >>> 0;
};

function expectAll(all: Case[], got: (i: number) => unknown, want: (c: Case) => unknown): void {
  const bad: string[] = [];
  all.forEach((c, i) => {
    const g = JSON.stringify(got(i)), w = JSON.stringify(want(c));
    if (g !== w) bad.push(`${JSON.stringify(c)}: got ${g}, want ${w}`);
  });
  expect(bad.slice(0, 5)).toEqual([]);
}

// The JIT's case: the memory shift (a fallback), then SETcc into registers
// and INC, compiled (they read the state's lazy record: F_COND, F_CARRY_HERE),
// in a loop of PASSES so that its blocks are compiled while it runs.
const PASSES = 30;
function jitCaseCode(c: Case, i: number): number[] {
  const at = DATA + i * SLOT;
  const osz = c.sz === 1 ? [0x66] : [];
  const body = [
    0xb8, ...le32(c.v), 0xa3, ...le32(at),                       // mov eax, v; mov [at], eax
    0xb9, ...le32(c.count), 0xba, ...le32(0),                    // mov ecx, count; mov edx, 0
    0x68, ...le32(c.flags), 0x9d,                                // push flags; popfd
    ...osz, 0xd2 | (c.sz === 0 ? 0 : 1), 0x05 | (c.op << 3), ...le32(at), // shift [at], cl
    0x0f, 0x90, 0xc0, 0x0f, 0x92, 0xc4,                          // seto al; setb ah
    0x0f, 0x94, 0xc3, 0x0f, 0x98, 0xc7,                          // sete bl; sets bh
    0x47, 0x83, 0xd2, 0x00,                                      // inc edi (CF kept); adc edx, 0
    0x89, 0x05, ...le32(at + 8), 0x89, 0x1d, ...le32(at + 12),   // mov [at + 8], eax; mov [at + 12], ebx
    0x89, 0x15, ...le32(at + 20),                                // mov [at + 20], edx
  ];
  return [0xbd, ...le32(PASSES), ...body, 0x4d, 0x0f, 0x85, ...le32(-(body.length + 7) >>> 0)]; // mov ebp, n; L: body; dec ebp; jnz L
}

describe('shift flags (lazy)', () => {
  const all = cases();

  it('SHL/SHR/SAR: every flag reader sees the eager definition (interpreter)', () => {
    const vm = run([...all.flatMap(caseCode), 0xf4], false);
    expectAll(all, (i) => {
      const at = DATA + i * SLOT;
      return {
        value: vm.readPhys32(at), flags: vm.readPhys32(at + 4) & ARITH, cc: Array.from(vm.readPhys(at + 8, 8)),
        cfAfterInc: vm.readPhys32(at + 16) & CF, adc: vm.readPhys32(at + 20),
      };
    }, (c) => {
      const f = resultOf(c).flags;
      return { value: valueOf(c), flags: f & ARITH, cc: CCS.map((cc) => (condition(cc, f) ? 1 : 0)), cfAfterInc: f & CF, adc: f & CF };
    });
  });

  it('a compiled region reads the lazy shift the interpreter left in the state (JIT on, and as interpreted)', () => {
    const mem = all.filter((c) => c.form === 'mem');
    const code = [...mem.flatMap(jitCaseCode), 0xf4];
    const got = (vm: Vm) => (i: number) => {
      const at = DATA + i * SLOT;
      return { value: vm.readPhys32(at), cc: Array.from(vm.readPhys(at + 8, 2)).concat(Array.from(vm.readPhys(at + 12, 2))), adc: vm.readPhys32(at + 20) };
    };
    const want = (c: Case) => {
      const f = resultOf(c).flags;
      return { value: valueOf(c), cc: [0, 2, 4, 8].map((cc) => (condition(cc, f) ? 1 : 0)), adc: f & CF };
    };
    const on = run(code, true), off = run(code, false);
    expect(on.core.jit.stats().instructions).toBeGreaterThan(mem.length * PASSES * 10);
    expectAll(mem, got(on), want);
    expectAll(mem, got(off), want);
    expect(on.vcpus[0].eflags).toBe(off.vcpus[0].eflags);
  });
});
