// What an i686-class integer CPU (Pentium Pro/II without MMX, no x87 unit)
// decides for a byte string, derived from iced-x86, and what the core decides
// (assembly/decoder-probe.ts). Both answer with a Verdict.
//
// "Implemented by this CPU" means: iced decodes a valid instruction whose CPUID
// features are all in IMPLEMENTED (8086..486 integer, CPUID, RDTSC, RDMSR/WRMSR,
// CMPXCHG8B, CMOVcc, RDPMC, the multi-byte NOP), except
//  - UD0/UD1/UD2: defined to raise #UD, so #UD at decode;
//  - 0F 0D: an AMD prefetch / later reserved NOP; #UD on a P6;
//  - 0F 18..0F 1F: the P6 hint-NOP space. SSE prefetches, CLDEMOTE, MPX, CET
//    (ENDBR) were put there because older CPUs run them as NOPs; so every
//    valid iced decoding there is a NOP whose length must agree;
//  - D8..DF (x87): this CPU has no FPU, but the ESC opcodes still decode (they
//    raise #NM or #UD when executed), so only the length must agree, and LOCK
//    on them is #UD;
//  - F2/F3 on an instruction of a later extension (PAUSE, TZCNT, LZCNT,
//    POPCNT..): a P6 ignores the REP prefix there, so the instruction without it
//    decides (F3 90 is NOP, F3 0F BC is BSF).
//  - the MMX/SSE/SSE2/SSE3 opcode space of the 0F map (SSE_SPACE_0F in
//    assembly/cpu/opcodes.mjs, and 0F AE: FXSAVE..SFENCE): the core decodes it
//    whatever the CPU model, and runs the forms its `sse` model has (others are
//    #UD when executed), so where iced finds an instruction of those extensions
//    the length must agree; where iced finds none, the encoding has no length
//    and the core may decode one or say #UD.
// Everything else iced decodes (3DNow!, VEX/EVEX/XOP, SSSE3 and later, SYSENTER,
// SYSCALL, RSM, VMX, SVM, TSX, ...) must be #UD in the core. An instruction
// longer than 15 bytes is #GP(0) ("too long"); an encoding the CPU does not
// define has no defined length, so when its prefixes leave less room than the
// longest instruction (11 bytes) either #UD or too long is accepted.
import { Decoder, DecoderOptions, Instruction, CpuidFeature, Mnemonic } from 'iced-x86';
import type { CoreInstance, TestCoreExports } from '../../src/core/core.js';
// @ts-expect-error: the opcode table is plain JavaScript (no declarations)
import { SSE_SPACE_0F } from '../../assembly/cpu/opcodes.mjs';

export type Verdict = { kind: 'ok'; len: number } | { kind: 'ud'; mayBeTooLong?: boolean; orDecoded?: boolean } | { kind: 'toolong' } | { kind: 'unimplemented' };

const IMPLEMENTED = new Set<number>([
  CpuidFeature.INTEL8086, CpuidFeature.INTEL186, CpuidFeature.INTEL286, CpuidFeature.INTEL386,
  CpuidFeature.INTEL486, CpuidFeature.CPUID, CpuidFeature.TSC, CpuidFeature.MSR, CpuidFeature.CX8,
  CpuidFeature.CMOV, CpuidFeature.RDPMC, CpuidFeature.MULTIBYTENOP,
]);
const ALWAYS_UD = new Set<number>([Mnemonic.Ud0, Mnemonic.Ud1, Mnemonic.Ud2]);
// extensions whose 0F-map opcodes the core decodes (see above)
const SIMD = new Set<number>([...IMPLEMENTED, CpuidFeature.MMX, CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.SSE3, CpuidFeature.FXSR]);
const SIMD_SPACE = new Set<number>(SSE_SPACE_0F as number[]);

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
const SLOT = 32;

/** Expected verdicts, decoding with iced-x86 in batches. */
export class IcedOracle {
  private readonly instr = new Instruction();
  private readonly implemented = new Int8Array(8192); // per iced Code: 0 unknown, 1 yes, -1 no

  /** The verdicts for `count` strings of 15 bytes at `bytes` (15 per string). */
  verdicts(bits: 16 | 32, bytes: Uint8Array, count: number): Verdict[] {
    // iced sees each string with its prefixes folded to at most one of each
    // kind (same meaning, shorter), so that it reports the real length
    const slots = new Uint8Array(count * SLOT);
    const prefixCount = new Uint8Array(count);
    const folded = new Uint8Array(count);
    for (let k = 0; k < count; k++) {
      const s = bytes.subarray(k * 15, k * 15 + 15);
      let n = 0;
      while (n < 15 && PREFIXES.has(s[n])) n++;
      prefixCount[k] = n;
      const f = foldPrefixes(s.subarray(0, n));
      folded[k] = f.length;
      slots.set(f, k * SLOT);
      slots.set(s.subarray(n), k * SLOT + f.length);
      // iced rejects the undefined x87 forms and then gives no length; D8 /r
      // is defined for every ModRM and has the same shape as all of D8-DF
      if (n < 15 && s[n] >= 0xd8 && s[n] <= 0xdf) slots[k * SLOT + f.length] = 0xd8;
    }
    const decoder = new Decoder(bits, slots, DecoderOptions.None);
    const out: Verdict[] = new Array(count);
    try {
      for (let k = 0; k < count; k++) {
        const n = prefixCount[k];
        if (n >= 15) { out[k] = { kind: 'toolong' }; continue; }
        const s = bytes.subarray(k * 15, k * 15 + 15);
        decoder.position = k * SLOT;
        decoder.decodeOut(this.instr);
        const total = n + this.instr.length - folded[k];
        out[k] = this.judge(bits, s, n, total, slots.subarray(k * SLOT, k * SLOT + folded[k]));
      }
    } finally {
      decoder.free();
    }
    return out;
  }

  private judge(bits: 16 | 32, s: Uint8Array, n: number, total: number, folded: Uint8Array): Verdict {
    const op0 = s[n], op1 = s[n + 1];
    const valid = !this.instr.isInvalid;
    // longest form without prefixes: opcode, ModRM, SIB, disp32, imm32
    const unknown: Verdict = { kind: 'ud', mayBeTooLong: total > 15 || n + 11 > 15 };
    const lengthFrom = (len: number): Verdict => (len > 15 ? { kind: 'toolong' } : { kind: 'ok', len });
    if (op0 >= 0xd8 && op0 <= 0xdf) return folded.includes(0xf0) ? unknown : lengthFrom(total);
    if (op0 === 0x0f && op1 === 0x0d) return unknown;
    if (op0 === 0x0f && op1 >= 0x18 && op1 <= 0x1f) return valid ? lengthFrom(total) : unknown;
    if (op0 === 0x0f && SIMD_SPACE.has(op1)) {
      if (valid && [...this.instr.cpuidFeatures()].every((f) => SIMD.has(f))) return lengthFrom(total);
      return { ...unknown, orDecoded: true };
    }
    if (op0 === 0x0f && op1 === 0xae) { // FXSAVE..SFENCE; its XSAVE/CLFLUSH forms decode too and are #UD
      if (valid && [...this.instr.cpuidFeatures()].every((f) => SIMD.has(f))) return lengthFrom(total);
      return { ...unknown, orDecoded: true };
    }
    if (!valid) return unknown;
    if (this.isImplemented(this.instr)) return lengthFrom(total);
    if (folded.includes(0xf2) || folded.includes(0xf3)) {
      // a P6 ignores REP here: decode the string without it
      const noRep = folded.filter((b) => b !== 0xf2 && b !== 0xf3);
      const d = new Decoder(bits, Uint8Array.from([...noRep, ...s.subarray(n), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), DecoderOptions.None);
      try {
        d.decodeOut(this.instr);
        if (!this.instr.isInvalid && this.isImplemented(this.instr)) return lengthFrom(n + this.instr.length - noRep.length);
      } finally {
        d.free();
      }
    }
    return unknown;
  }

  private isImplemented(instr: Instruction): boolean {
    const code = instr.code;
    let v = this.implemented[code];
    if (v === 0) {
      const ok = !ALWAYS_UD.has(instr.mnemonic) && [...instr.cpuidFeatures()].every((f) => IMPLEMENTED.has(f));
      v = this.implemented[code] = ok ? 1 : -1;
    }
    return v === 1;
  }
}

/** The same prefixes with each kind once: the last segment override, the
 * last of F2/F3 (the one that counts), 66, 67 and F0 if present. */
function foldPrefixes(p: Uint8Array): number[] {
  let seg = -1, rep = -1, osz = false, asz = false, lock = false;
  for (const b of p) {
    if (b === 0x66) osz = true;
    else if (b === 0x67) asz = true;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2 || b === 0xf3) rep = b;
    else seg = b;
  }
  const out: number[] = [];
  if (seg >= 0) out.push(seg);
  if (osz) out.push(0x66);
  if (asz) out.push(0x67);
  if (lock) out.push(0xf0);
  if (rep >= 0) out.push(rep);
  return out;
}

/** The core's verdict for the 15 bytes at `bytes[off..]`. */
export function coreVerdict(core: CoreInstance, bits: 16 | 32, bytes: Uint8Array, off: number): Verdict {
  const input = (core.exports as TestCoreExports).decoderProbeInput();
  core.bytes.set(bytes.subarray(off, off + 15), input);
  const r = (core.exports as TestCoreExports).decoderProbe(bits === 32 ? 1 : 0);
  const op = r >>> 8, len = r & 0xff;
  if (op === OP_INVALID) return { kind: 'ud' };
  if (op === OP_TOO_LONG) return { kind: 'toolong' };
  if (op === OP_UNIMPLEMENTED) return { kind: 'unimplemented' };
  return { kind: 'ok', len };
}

// Handler ids past the opcode maps (Op in assembly/cpu/decode.ts).
const OP_INVALID = 0x200, OP_UNIMPLEMENTED = 0x201, OP_TOO_LONG = 0x202;

/** Whether the core's verdict is what the CPU does. */
export function agrees(expected: Verdict, core: Verdict): boolean {
  if (expected.kind === 'ok') return core.kind === 'ok' && core.len === expected.len;
  if (expected.kind === 'ud') {
    return core.kind === 'ud' || (core.kind === 'toolong' && expected.mayBeTooLong === true) || (core.kind === 'ok' && expected.orDecoded === true);
  }
  return core.kind === expected.kind;
}
