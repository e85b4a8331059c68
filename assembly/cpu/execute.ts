// The executor: one flat switch over handler ids (a single br_table), one case
// per opcode. EIP already points at the next instruction when a case runs.
import { R_OP, R_IMM, R_IMM2, R_DISP, R_REG, R_RM, R_ATTR, R_MODRM, Attr, Op } from "./decode";
import {
  reg32, setReg32, reg16, setReg16, reg8, setReg8, regSz, setRegSz, eip, setEip, EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI,
  segSelector, protectedMode, v86Mode, CF, PF, AF, ZF, SF, OF, IF, DF, TF, IOPL, AC, VM, RF, cr0, CR0_EM, CR0_TS,
  code32,
} from "./state";
import { getFlags, setFlagsRaw, carry, condition, sizeMask, signBit, LazyOp, setLazy } from "./flags";
import {
  o32, a32, osz, isMem, regField, rmField, readE, writeE, readModify, writeBack, readG, writeG, effectiveOffset,
  effectiveLinear, push, pop, peek, getSP, setSP, spMask, writeStack, segOf, bytesOf,
} from "./operand";
import { alu, inc, dec, neg, shift, doubleShift, setMulFlags, logicFlags, daa, das, asciiAdjust, aam, aad, ALU_CMP } from "./alu";
import { segLinear, readSz, writeSz, read8, read16, read32, write16, write32, probeWrite } from "./memory";
import { raise, raiseUD, raiseGP, aborted, endBlock, requestExit, DE, BR, NM, GP, UD } from "./fault";
import { loadSegment } from "./descriptor";
import { interrupt, Source } from "./interrupt";
import { jmpFar, callFar, retFar, iret, popFlagsValue } from "./control";
import { stringOp, StrOp } from "./string";
import { out, inp, outs, ins } from "./io";
import { group6, group7, larLsl, movControl, clts, rdtsc, cpuid, rdmsr, wrmsr, requirePrivilege } from "./system";
import { insnStart } from "./context";
import { fpuEscape, fpuWait } from "../fpu/dispatch";
import { ExitReason, ACTIVE, S_CPL, S_HALTED, S_SHADOW, S_PAUSE_EXIT, SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, EXIT_DETAIL_FLAGS, DetailFlag, SCRATCH } from "../layout";

@inline function imm(rec: u32): u32 { return load<u32>(rec + R_IMM); }
@inline function imm8s(rec: u32): u32 { return <u32><i32><i8>load<u32>(rec + R_IMM); }
@inline function ipMask(rec: u32): u32 { return o32(rec) ? 0xFFFFFFFF : 0xFFFF; }

// A taken relative branch: the target is truncated to the operand size.
function jumpRel(rec: u32, disp: u32): void {
  setEip((eip() + disp) & ipMask(rec));
  endBlock();
}

// Every handler; `rec` is the decoded record. Inlined into the run loop (its
// one caller): a call here made the loop spill and reload around every instruction.
@inline export function execute(rec: u32): void {
  const op = <u32>load<u16>(rec + R_OP);
  switch (op) {
    // ---- ALU: 00-3F, the six regular forms of each of the eight operations ----
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05:
    case 0x08: case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15:
    case 0x18: case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
    case 0x28: case 0x29: case 0x2A: case 0x2B: case 0x2C: case 0x2D:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
    case 0x38: case 0x39: case 0x3A: case 0x3B: case 0x3C: case 0x3D:
      aluForm(rec, op); return;
    case 0x06: case 0x0E: case 0x16: case 0x1E: pushSeg(rec, op >> 3); return;
    case 0x07: case 0x17: case 0x1F: popSeg(rec, op >> 3); return;
    case 0x27: setReg8(0, daa(reg8(0))); return;
    case 0x2F: setReg8(0, das(reg8(0))); return;
    case 0x37: setReg16(EAX, asciiAdjust(reg16(EAX), false)); return;
    case 0x3F: setReg16(EAX, asciiAdjust(reg16(EAX), true)); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47: {
      const sz = osz(rec); setRegSz(op & 7, sz, inc(sz, regSz(op & 7, sz))); return;
    }
    case 0x48: case 0x49: case 0x4A: case 0x4B: case 0x4C: case 0x4D: case 0x4E: case 0x4F: {
      const sz = osz(rec); setRegSz(op & 7, sz, dec(sz, regSz(op & 7, sz))); return;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      push(osz(rec), reg32(op & 7)); return; // PUSH ESP pushes the value before the push
    case 0x58: case 0x59: case 0x5A: case 0x5B: case 0x5C: case 0x5D: case 0x5E: case 0x5F: {
      const sz = osz(rec);
      const v = pop(sz);
      if (aborted()) return;
      setRegSz(op & 7, sz, v); // POP ESP: the popped value wins over the increment
      return;
    }
    case 0x60: pusha(rec); return;
    case 0x61: popa(rec); return;
    case 0x62: bound(rec); return;
    case 0x63: arpl(rec); return;
    case 0x68: push(osz(rec), imm(rec)); return;
    case 0x6A: push(osz(rec), imm8s(rec)); return;
    case 0x69: imul3(rec, imm(rec)); return;
    case 0x6B: imul3(rec, imm8s(rec)); return;
    case 0x6C: ins(rec, 0); return;
    case 0x6D: ins(rec, osz(rec)); return;
    case 0x6E: outs(rec, 0); return;
    case 0x6F: outs(rec, osz(rec)); return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7A: case 0x7B: case 0x7C: case 0x7D: case 0x7E: case 0x7F:
      if (condition(op & 15)) jumpRel(rec, imm8s(rec));
      return;
    case 0x80: case 0x82: group1(rec, 0, imm(rec)); return;
    case 0x81: group1(rec, osz(rec), imm(rec)); return;
    case 0x83: group1(rec, osz(rec), imm8s(rec)); return;
    case 0x84: { const v = readE(rec, 0); if (aborted()) return; logicFlags(0, v & readG(rec, 0)); return; }
    case 0x85: { const sz = osz(rec); const v = readE(rec, sz); if (aborted()) return; logicFlags(sz, v & readG(rec, sz)); return; }
    case 0x86: xchg(rec, 0); return;
    case 0x87: xchg(rec, osz(rec)); return;
    case 0x88: writeE(rec, 0, readG(rec, 0)); return;
    case 0x89: writeE(rec, osz(rec), readG(rec, osz(rec))); return;
    case 0x8A: { const v = readE(rec, 0); if (aborted()) return; writeG(rec, 0, v); return; }
    case 0x8B: { const sz = osz(rec); const v = readE(rec, sz); if (aborted()) return; writeG(rec, sz, v); return; }
    case 0x8C: { // MOV r/m, Sreg
      const s = regField(rec);
      if (s > 5) { raiseUD(); return; }
      // to memory always 16 bits; to a register, zero-extended under o32
      if (isMem(rec)) writeE(rec, 1, segSelector(s)); else writeE(rec, osz(rec), segSelector(s));
      return;
    }
    case 0x8D: { // LEA
      if (!isMem(rec)) { raiseUD(); return; }
      writeG(rec, osz(rec), effectiveOffset(rec));
      return;
    }
    case 0x8E: { // MOV Sreg, r/m
      const s = regField(rec);
      if (s == SEG_CS || s > 5) { raiseUD(); return; }
      const v = readE(rec, 1);
      if (aborted()) return;
      loadSegment(s, v);
      if (aborted()) return;
      if (s == SEG_SS) inhibitInterrupts();
      endBlock();
      return;
    }
    case 0x8F: popE(rec); return;
    case 0x90: // NOP; with F3 PAUSE, which yields the host CPU when the host asked (several vCPUs)
      if ((load<u8>(rec + R_ATTR) & Attr.Rep) && load<u32>(ACTIVE + S_PAUSE_EXIT)) requestExit(ExitReason.Pause);
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const sz = osz(rec);
      const t = regSz(EAX, sz);
      setRegSz(EAX, sz, regSz(op & 7, sz));
      setRegSz(op & 7, sz, t);
      return;
    }
    case 0x98: if (o32(rec)) setReg32(EAX, <u32><i32><i16>reg16(EAX)); else setReg16(EAX, <u32><i32><i8>reg8(0)); return;
    case 0x99:
      if (o32(rec)) setReg32(EDX, (reg32(EAX) & 0x80000000) ? 0xFFFFFFFF : 0);
      else setReg16(EDX, (reg16(EAX) & 0x8000) ? 0xFFFF : 0);
      return;
    case 0x9A: callFar(load<u32>(rec + R_IMM2), imm(rec), osz(rec), eip()); return;
    case 0x9B: fpuWait(); return; // WAIT
    case 0x9C: { // PUSHF
      const f = getFlags();
      if (v86Mode() && (f & IOPL) != IOPL) { raiseGP(0); return; }
      push(osz(rec), o32(rec) ? f & ~(VM | RF) : f);
      return;
    }
    case 0x9D: { // POPF
      const sz = osz(rec);
      if (v86Mode() && (getFlags() & IOPL) != IOPL) { raiseGP(0); return; }
      const v = peek(sz, 0);
      if (aborted()) return;
      if (!popFlagsValue(v, sz)) return;
      setSP(getSP() + (sz == 2 ? 4 : 2));
      endBlock(); // IF or TF may have changed
      return;
    }
    case 0x9E: { // SAHF
      const f = getFlags();
      setFlagsRaw((f & ~0xD5) | (reg8(4) & 0xD5));
      return;
    }
    case 0x9F: setReg8(4, (getFlags() & 0xD5) | 2); return; // LAHF
    case 0xA0: case 0xA1: { // MOV AL/eAX, moffs
      const sz = op == 0xA0 ? 0 : osz(rec);
      const lin = segLinear(segOf(rec), load<u32>(rec + R_DISP), bytesOf(sz), false);
      if (aborted()) return;
      const v = readSz(lin, sz);
      if (aborted()) return;
      setRegSz(EAX, sz, v);
      return;
    }
    case 0xA2: case 0xA3: { // MOV moffs, AL/eAX
      const sz = op == 0xA2 ? 0 : osz(rec);
      const lin = segLinear(segOf(rec), load<u32>(rec + R_DISP), bytesOf(sz), true);
      if (aborted()) return;
      writeSz(lin, sz, regSz(EAX, sz));
      return;
    }
    case 0xA4: stringOp(rec, StrOp.Movs, 0); return;
    case 0xA5: stringOp(rec, StrOp.Movs, osz(rec)); return;
    case 0xA6: stringOp(rec, StrOp.Cmps, 0); return;
    case 0xA7: stringOp(rec, StrOp.Cmps, osz(rec)); return;
    case 0xA8: logicFlags(0, reg8(0) & imm(rec)); return;
    case 0xA9: logicFlags(osz(rec), regSz(EAX, osz(rec)) & imm(rec)); return;
    case 0xAA: stringOp(rec, StrOp.Stos, 0); return;
    case 0xAB: stringOp(rec, StrOp.Stos, osz(rec)); return;
    case 0xAC: stringOp(rec, StrOp.Lods, 0); return;
    case 0xAD: stringOp(rec, StrOp.Lods, osz(rec)); return;
    case 0xAE: stringOp(rec, StrOp.Scas, 0); return;
    case 0xAF: stringOp(rec, StrOp.Scas, osz(rec)); return;
    case 0xB0: case 0xB1: case 0xB2: case 0xB3: case 0xB4: case 0xB5: case 0xB6: case 0xB7:
      setReg8(op & 7, imm(rec)); return;
    case 0xB8: case 0xB9: case 0xBA: case 0xBB: case 0xBC: case 0xBD: case 0xBE: case 0xBF:
      setRegSz(op & 7, osz(rec), imm(rec)); return;
    case 0xC0: group2(rec, 0, imm(rec)); return;
    case 0xC1: group2(rec, osz(rec), imm(rec)); return;
    case 0xC2: case 0xC3: { // RET near [imm16]
      const sz = osz(rec);
      const v = pop(sz);
      if (aborted()) return;
      if (op == 0xC2) setSP(getSP() + imm(rec));
      setEip(v);
      endBlock();
      return;
    }
    case 0xC4: loadFarPointer(rec, SEG_ES); return;
    case 0xC5: loadFarPointer(rec, SEG_DS); return;
    case 0xC6: if (regField(rec) != 0) { raiseUD(); return; } writeE(rec, 0, imm(rec)); return;
    case 0xC7: if (regField(rec) != 0) { raiseUD(); return; } writeE(rec, osz(rec), imm(rec)); return;
    case 0xC8: enter(rec); return;
    case 0xC9: { // LEAVE
      const sz = osz(rec);
      const m = spMask();
      const bp = reg32(EBP) & m;
      const lin = segLinear(SEG_SS, bp, sz == 2 ? 4 : 2, false);
      if (aborted()) return;
      const v = sz == 2 ? read32(lin) : read16(lin);
      if (aborted()) return;
      setSP(bp + (sz == 2 ? 4 : 2));
      setRegSz(EBP, sz, v);
      return;
    }
    case 0xCA: retFar(osz(rec), imm(rec)); return;
    case 0xCB: retFar(osz(rec), 0); return;
    case 0xCC: softInt(3, true); return;
    case 0xCD: softInt(imm(rec), false); return;
    case 0xCE: if (getFlags() & OF) softInt(4, true); return;
    case 0xCF: iret(osz(rec)); return;
    case 0xD0: group2(rec, 0, 1); return;
    case 0xD1: group2(rec, osz(rec), 1); return;
    case 0xD2: group2(rec, 0, reg8(1)); return;
    case 0xD3: group2(rec, osz(rec), reg8(1)); return;
    case 0xD4: { // AAM
      const base = imm(rec) & 0xFF;
      if (base == 0) { raise(DE, 0, false); return; }
      setReg16(EAX, aam(reg16(EAX), base));
      return;
    }
    case 0xD5: setReg16(EAX, aad(reg16(EAX), imm(rec) & 0xFF)); return;
    case 0xD6: setReg8(0, carry() ? 0xFF : 0); return; // SALC
    case 0xD7: { // XLAT
      const off = ((a32(rec) ? reg32(EBX) : reg16(EBX)) + reg8(0)) & (a32(rec) ? 0xFFFFFFFF : 0xFFFF);
      const lin = segLinear(segOf(rec), off, 1, false);
      if (aborted()) return;
      const v = read8(lin);
      if (aborted()) return;
      setReg8(0, v);
      return;
    }
    case 0xD8: case 0xD9: case 0xDA: case 0xDB: case 0xDC: case 0xDD: case 0xDE: case 0xDF:
      fpuEscape(rec); return;
    case 0xE0: case 0xE1: case 0xE2: { // LOOPNE LOOPE LOOP
      const cx = (a32(rec) ? reg32(ECX) : reg16(ECX)) - 1;
      if (a32(rec)) setReg32(ECX, cx); else setReg16(ECX, cx);
      let take = (cx & (a32(rec) ? 0xFFFFFFFF : 0xFFFF)) != 0;
      if (op == 0xE0) take = take && !(getFlags() & ZF);
      else if (op == 0xE1) take = take && (getFlags() & ZF) != 0;
      if (take) jumpRel(rec, imm8s(rec));
      return;
    }
    case 0xE3: if ((a32(rec) ? reg32(ECX) : reg16(ECX)) == 0) jumpRel(rec, imm8s(rec)); return;
    case 0xE4: inp(imm(rec) & 0xFF, 0); return;
    case 0xE5: inp(imm(rec) & 0xFF, osz(rec)); return;
    case 0xE6: out(imm(rec) & 0xFF, 0); return;
    case 0xE7: out(imm(rec) & 0xFF, osz(rec)); return;
    case 0xE8: { // CALL rel
      const sz = osz(rec);
      push(sz, eip());
      if (aborted()) return;
      jumpRel(rec, imm(rec));
      return;
    }
    case 0xE9: jumpRel(rec, imm(rec)); return;
    case 0xEA: jmpFar(load<u32>(rec + R_IMM2), imm(rec)); return;
    case 0xEB: jumpRel(rec, imm8s(rec)); return;
    case 0xEC: inp(reg16(EDX), 0); return;
    case 0xED: inp(reg16(EDX), osz(rec)); return;
    case 0xEE: out(reg16(EDX), 0); return;
    case 0xEF: out(reg16(EDX), osz(rec)); return;
    case 0xF1: interrupt(1, Source.External, eip()); return; // INT1 (ICEBP): delivered like a hardware event
    case 0xF4: // HLT
      if (!requirePrivilege()) return;
      store<u32>(ACTIVE + S_HALTED, 1);
      requestExit(ExitReason.Hlt);
      return;
    case 0xF5: setFlagsRaw(getFlags() ^ CF); return;
    case 0xF6: group3(rec, 0); return;
    case 0xF7: group3(rec, osz(rec)); return;
    case 0xF8: setFlagsRaw(getFlags() & ~CF); return;
    case 0xF9: setFlagsRaw(getFlags() | CF); return;
    case 0xFA: if (ifAllowed()) { setFlagsRaw(getFlags() & ~IF); } return;
    case 0xFB: // STI: interrupts wait one more instruction
      if (ifAllowed()) {
        const f = getFlags();
        if (!(f & IF)) inhibitInterrupts();
        setFlagsRaw(f | IF);
        endBlock();
      }
      return;
    case 0xFC: setFlagsRaw(getFlags() & ~DF); return;
    case 0xFD: setFlagsRaw(getFlags() | DF); return;
    case 0xFE: group4(rec); return;
    case 0xFF: group5(rec); return;

    // ---- 0F map ----
    case 0x100: group6(rec); return;
    case 0x101: group7(rec); return;
    case 0x102: larLsl(rec, false); return;
    case 0x103: larLsl(rec, true); return;
    case 0x106: clts(); return;
    case 0x108: case 0x109: requirePrivilege(); return; // INVD, WBINVD: no caches to manage
    case 0x10B: raiseUD(); return; // UD2
    case 0x118: case 0x119: case 0x11A: case 0x11B: case 0x11C: case 0x11D: case 0x11E: case 0x11F:
      return; // hint NOPs (0F 1F /0 is the long NOP)
    case 0x120: movControl(rec, false, false); return;
    case 0x121: movControl(rec, false, true); return;
    case 0x122: movControl(rec, true, false); return;
    case 0x123: movControl(rec, true, true); return;
    case 0x130: wrmsr(); return;
    case 0x131: rdtsc(); return;
    case 0x132: rdmsr(); return;
    case 0x133: raiseGP(0); return; // RDPMC: no counters are exposed
    case 0x134: case 0x135: raiseUD(); return; // SYSENTER/SYSEXIT: not advertised
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
    case 0x148: case 0x149: case 0x14A: case 0x14B: case 0x14C: case 0x14D: case 0x14E: case 0x14F: {
      // CMOVcc reads its source even when the condition is false
      const sz = osz(rec);
      const v = readE(rec, sz);
      if (aborted()) return;
      if (condition(op & 15)) writeG(rec, sz, v);
      else if (sz == 2) setReg32(regField(rec), reg32(regField(rec)));
      return;
    }
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18A: case 0x18B: case 0x18C: case 0x18D: case 0x18E: case 0x18F:
      if (condition(op & 15)) jumpRel(rec, imm(rec));
      return;
    case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
    case 0x198: case 0x199: case 0x19A: case 0x19B: case 0x19C: case 0x19D: case 0x19E: case 0x19F:
      writeE(rec, 0, condition(op & 15) ? 1 : 0); return;
    case 0x1A0: pushSeg(rec, SEG_FS); return;
    case 0x1A1: popSeg(rec, SEG_FS); return;
    case 0x1A8: pushSeg(rec, SEG_GS); return;
    case 0x1A9: popSeg(rec, SEG_GS); return;
    case 0x1A2: cpuid(); return;
    case 0x1A3: bitOp(rec, 0, readG(rec, osz(rec)), true); return;
    case 0x1AB: bitOp(rec, 1, readG(rec, osz(rec)), true); return;
    case 0x1B3: bitOp(rec, 2, readG(rec, osz(rec)), true); return;
    case 0x1BB: bitOp(rec, 3, readG(rec, osz(rec)), true); return;
    case 0x1BA: {
      const r = regField(rec);
      if (r < 4) { raiseUD(); return; }
      bitOp(rec, r - 4, imm(rec), false);
      return;
    }
    case 0x1A4: shiftDouble(rec, true, imm(rec)); return;
    case 0x1A5: shiftDouble(rec, true, reg8(1)); return;
    case 0x1AC: shiftDouble(rec, false, imm(rec)); return;
    case 0x1AD: shiftDouble(rec, false, reg8(1)); return;
    case 0x1AF: {
      const sz = osz(rec);
      const v = readE(rec, sz);
      if (aborted()) return;
      writeG(rec, sz, imulTrunc(sz, readG(rec, sz), v));
      return;
    }
    case 0x1B0: cmpxchg(rec, 0); return;
    case 0x1B1: cmpxchg(rec, osz(rec)); return;
    case 0x1B2: loadFarPointer(rec, SEG_SS); return;
    case 0x1B4: loadFarPointer(rec, SEG_FS); return;
    case 0x1B5: loadFarPointer(rec, SEG_GS); return;
    case 0x1B6: { const v = readE(rec, 0); if (aborted()) return; writeG(rec, osz(rec), v); return; }
    case 0x1B7: { const v = readE(rec, 1); if (aborted()) return; writeG(rec, osz(rec), v); return; }
    case 0x1BE: { const v = readE(rec, 0); if (aborted()) return; writeG(rec, osz(rec), <u32><i32><i8>v); return; }
    case 0x1BF: { const v = readE(rec, 1); if (aborted()) return; writeG(rec, osz(rec), <u32><i32><i16>v); return; }
    case 0x1BC: case 0x1BD: bitScan(rec, op == 0x1BD); return;
    case 0x1C0: xadd(rec, 0); return;
    case 0x1C1: xadd(rec, osz(rec)); return;
    case 0x1C7: cmpxchg8b(rec); return;
    case 0x1C8: case 0x1C9: case 0x1CA: case 0x1CB: case 0x1CC: case 0x1CD: case 0x1CE: case 0x1CF: {
      const r = op & 7;
      if (o32(rec)) setReg32(r, bswap<u32>(reg32(r)));
      else setReg16(r, 0); // BSWAP of a 16-bit register is undefined; P6 clears it
      return;
    }
    case Op.TooLong: raiseGP(0); return;
    case Op.Invalid: raiseUD(); return;
    default: unimplemented(); return;
  }
}

// Defined by the architecture but missing here: #UD, flagged for the crash report.
function unimplemented(): void {
  store<u32>(EXIT_DETAIL_FLAGS, DetailFlag.Unimplemented);
  raiseUD();
}

function inhibitInterrupts(): void { store<u32>(ACTIVE + S_SHADOW, 1); endBlock(); }

// CLI/STI: allowed when CPL <= IOPL (V86: IOPL must be 3).
function ifAllowed(): bool {
  if (!protectedMode()) return true;
  const iopl = (getFlags() & IOPL) >> 12;
  const cpl: u32 = v86Mode() ? 3 : load<u32>(ACTIVE + S_CPL);
  if (cpl > iopl) { raiseGP(0); return false; }
  return true;
}

@inline function aluForm(rec: u32, op: u32): void {
  const kind = op >> 3;
  const form = op & 7;
  // the commonest case first: dword register to register, no memory and no size dispatch
  if ((form == 1 || form == 3) && (load<u8>(rec + R_ATTR) & (Attr.O32 | Attr.Mem)) == Attr.O32) {
    const e = load<u8>(rec + R_RM), g = load<u8>(rec + R_REG);
    const dst = form == 1 ? e : g;
    const r = alu(kind, 2, reg32(dst), reg32(form == 1 ? g : e));
    if (kind != ALU_CMP) setReg32(dst, r);
    return;
  }
  const sz: u32 = (form & 1) ? osz(rec) : 0;
  if (form >= 4) { // AL/eAX, imm
    const r = alu(kind, sz, regSz(EAX, sz), imm(rec));
    if (kind != ALU_CMP) setRegSz(EAX, sz, r);
    return;
  }
  if (form < 2) { // E, G
    const a = kind == ALU_CMP ? readE(rec, sz) : readModify(rec, sz);
    if (aborted()) return;
    const r = alu(kind, sz, a, readG(rec, sz));
    if (kind != ALU_CMP) writeBack(rec, sz, r);
    return;
  }
  const b = readE(rec, sz); // G, E
  if (aborted()) return;
  const r = alu(kind, sz, readG(rec, sz), b);
  if (kind != ALU_CMP) writeG(rec, sz, r);
}

function group1(rec: u32, sz: u32, b: u32): void {
  const kind = regField(rec);
  const a = kind == ALU_CMP ? readE(rec, sz) : readModify(rec, sz);
  if (aborted()) return;
  const r = alu(kind, sz, a, b);
  if (kind != ALU_CMP) writeBack(rec, sz, r);
}

@inline function group2(rec: u32, sz: u32, count: u32): void {
  const v = readModify(rec, sz);
  if (aborted()) return;
  if ((count & 31) == 0) return;
  writeBack(rec, sz, shift(regField(rec), sz, v, count));
}

function shiftDouble(rec: u32, left: bool, count: u32): void {
  const sz = osz(rec);
  const v = readModify(rec, sz);
  if (aborted()) return;
  if ((count & 31) == 0) return;
  writeBack(rec, sz, doubleShift(left, sz, v, readG(rec, sz), count));
}

function group3(rec: u32, sz: u32): void {
  const r = regField(rec);
  switch (r) {
    case 0: case 1: { // TEST
      const v = readE(rec, sz);
      if (aborted()) return;
      logicFlags(sz, v & imm(rec));
      return;
    }
    case 2: { const v = readModify(rec, sz); if (aborted()) return; writeBack(rec, sz, ~v & sizeMask(sz)); return; }
    case 3: { const v = readModify(rec, sz); if (aborted()) return; writeBack(rec, sz, neg(sz, v)); return; }
    case 4: case 5: { // MUL / IMUL (one operand)
      const v = readE(rec, sz);
      if (aborted()) return;
      multiply(sz, v, r == 5);
      return;
    }
    default: { // DIV / IDIV
      const v = readE(rec, sz);
      if (aborted()) return;
      divide(sz, v, r == 7);
    }
  }
}

function multiply(sz: u32, v: u32, signed: bool): void {
  if (sz == 0) {
    const a = reg8(0);
    if (signed) {
      const p = <i32><i8>a * <i32><i8>v;
      setReg16(EAX, <u32>p);
      setMulFlags(<u32>p, 0, p != <i32><i8>p);
    } else {
      const p = a * v;
      setReg16(EAX, p);
      setMulFlags(p, 0, (p & 0xFF00) != 0);
    }
  } else if (sz == 1) {
    const a = reg16(EAX);
    const p: u32 = signed ? <u32>(<i32><i16>a * <i32><i16>v) : a * v;
    setReg16(EAX, p);
    setReg16(EDX, p >> 16);
    const over = signed ? (<i32>p != <i32><i16>p) : (p >> 16) != 0;
    setMulFlags(p, 1, over);
  } else {
    const a = reg32(EAX);
    const p: u64 = signed ? <u64>(<i64><i32>a * <i64><i32>v) : <u64>a * <u64>v;
    setReg32(EAX, <u32>p);
    setReg32(EDX, <u32>(p >> 32));
    const over = signed ? (<i64>p != <i64><i32><u32>p) : (p >> 32) != 0;
    setMulFlags(<u32>p, 2, over);
  }
}

// IMUL r, r/m, imm and IMUL r, r/m: the truncated signed product.
function imulTrunc(sz: u32, a: u32, b: u32): u32 {
  if (sz == 1) {
    const p = <i32><i16>a * <i32><i16>b;
    setMulFlags(<u32>p, 1, p != <i32><i16>p);
    return <u32>p & 0xFFFF;
  }
  const p = <i64><i32>a * <i64><i32>b;
  setMulFlags(<u32>p, 2, p != <i64><i32>p);
  return <u32>p;
}

function imul3(rec: u32, b: u32): void {
  const sz = osz(rec);
  const a = readE(rec, sz);
  if (aborted()) return;
  writeG(rec, sz, imulTrunc(sz, a, b));
}

function divide(sz: u32, d: u32, signed: bool): void {
  if ((d & sizeMask(sz)) == 0) { raise(DE, 0, false); return; }
  if (sz == 0) {
    const n = reg16(EAX);
    if (signed) {
      const q = <i32><i16>n / <i32><i8>d, r = <i32><i16>n % <i32><i8>d;
      if (q > 127 || q < -128) { raise(DE, 0, false); return; }
      setReg16(EAX, ((<u32>r & 0xFF) << 8) | (<u32>q & 0xFF));
    } else {
      const q = n / d, r = n % d;
      if (q > 0xFF) { raise(DE, 0, false); return; }
      setReg16(EAX, (r << 8) | q);
    }
  } else if (sz == 1) {
    const n = (reg16(EDX) << 16) | reg16(EAX);
    if (signed) {
      const q = <i64><i32>n / <i64><i16>d, r = <i64><i32>n % <i64><i16>d;
      if (q > 32767 || q < -32768) { raise(DE, 0, false); return; }
      setReg16(EAX, <u32>q); setReg16(EDX, <u32>r);
    } else {
      const q = n / d, r = n % d;
      if (q > 0xFFFF) { raise(DE, 0, false); return; }
      setReg16(EAX, q); setReg16(EDX, r);
    }
  } else {
    const n: u64 = (<u64>reg32(EDX) << 32) | <u64>reg32(EAX);
    if (signed) {
      const sn = <i64>n, sd = <i64><i32>d;
      if (sn == i64.MIN_VALUE && sd == -1) { raise(DE, 0, false); return; }
      const q = sn / sd, r = sn % sd;
      if (q > 0x7FFFFFFF || q < -0x80000000) { raise(DE, 0, false); return; }
      setReg32(EAX, <u32>q); setReg32(EDX, <u32>r);
    } else {
      const q = n / <u64>d, r = n % <u64>d;
      if (q > 0xFFFFFFFF) { raise(DE, 0, false); return; }
      setReg32(EAX, <u32>q); setReg32(EDX, <u32>r);
    }
  }
}

@inline function group4(rec: u32): void { // FE: INC/DEC r/m8
  const r = regField(rec);
  if (r > 1) { raiseUD(); return; }
  const v = readModify(rec, 0);
  if (aborted()) return;
  writeBack(rec, 0, r == 0 ? inc(0, v) : dec(0, v));
}

function group5(rec: u32): void { // FF
  const r = regField(rec);
  const sz = osz(rec);
  switch (r) {
    case 0: case 1: {
      const v = readModify(rec, sz);
      if (aborted()) return;
      writeBack(rec, sz, r == 0 ? inc(sz, v) : dec(sz, v));
      return;
    }
    case 2: { // CALL near r/m
      const t = readE(rec, sz);
      if (aborted()) return;
      push(sz, eip());
      if (aborted()) return;
      setEip(t & ipMask(rec));
      endBlock();
      return;
    }
    case 3: case 5: { // CALL/JMP far m16:16/32
      if (!isMem(rec)) { raiseUD(); return; }
      const o = readFarPointer(rec, sz);
      if (aborted()) return;
      const sel = farSelector;
      if (r == 3) callFar(sel, o, sz, eip()); else jmpFar(sel, o);
      return;
    }
    case 4: { // JMP near r/m
      const t = readE(rec, sz);
      if (aborted()) return;
      setEip(t & ipMask(rec));
      endBlock();
      return;
    }
    case 6: { // PUSH r/m
      const v = readE(rec, sz);
      if (aborted()) return;
      push(sz, v);
      return;
    }
    default: raiseUD();
  }
}

// POP r/m: ESP is incremented before the destination address is formed.
function popE(rec: u32): void {
  if (regField(rec) != 0) { raiseUD(); return; }
  const sz = osz(rec);
  const old = reg32(ESP);
  const v = pop(sz);
  if (aborted()) return;
  writeE(rec, sz, v);
  if (aborted()) setReg32(ESP, old);
}

function pushSeg(rec: u32, s: u32): void {
  const sz = osz(rec);
  push(sz, segSelector(s));
}

// The stack pointer advances as the stack was when the value was read: a POP SS
// that loads a 32-bit SS from a 16-bit stack still moves only SP.
function popSeg(rec: u32, s: u32): void {
  const sz = osz(rec);
  const v = peek(sz, 0);
  if (aborted()) return;
  const m = spMask();
  const esp = reg32(ESP);
  const next = (esp & ~m) | ((esp + (sz == 2 ? 4 : 2)) & m);
  loadSegment(s, v & 0xFFFF);
  if (aborted()) return;
  setReg32(ESP, next);
  if (s == SEG_SS) inhibitInterrupts();
}

// A far pointer m16:16 or m16:32: the offset at the operand, the selector
// after it. Each part is its own access, and the selector's offset wraps at the
// address size (a real-mode pointer at FFFE takes its selector from 0000).
let farSelector: u32 = 0;
function readFarPointer(rec: u32, sz: u32): u32 {
  const off = effectiveOffset(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = segLinear(segOf(rec), off, bytes, false);
  if (aborted()) return 0;
  const o = readSz(lin, sz);
  if (aborted()) return 0;
  const selLin = segLinear(segOf(rec), (off + bytes) & (a32(rec) ? 0xFFFFFFFF : 0xFFFF), 2, false);
  if (aborted()) return 0;
  farSelector = read16(selLin);
  return o;
}

// LDS LES LSS LFS LGS
function loadFarPointer(rec: u32, s: u32): void {
  if (!isMem(rec)) { raiseUD(); return; }
  const sz = osz(rec);
  const off = readFarPointer(rec, sz);
  if (aborted()) return;
  loadSegment(s, farSelector);
  if (aborted()) return;
  writeG(rec, sz, off);
  if (s == SEG_SS) endBlock();
}

function xchg(rec: u32, sz: u32): void {
  const v = readModify(rec, sz);
  if (aborted()) return;
  const g = readG(rec, sz);
  writeBack(rec, sz, g);
  if (aborted()) return;
  writeG(rec, sz, v);
}

function xadd(rec: u32, sz: u32): void {
  const d = readModify(rec, sz);
  if (aborted()) return;
  const s = readG(rec, sz);
  const r = alu(0, sz, d, s);
  // SDM order: SRC <- DEST, then DEST <- sum; with one register as both, the sum wins
  if (!isMem(rec)) { writeG(rec, sz, d); writeBack(rec, sz, r); return; }
  writeBack(rec, sz, r);
  if (aborted()) return;
  writeG(rec, sz, d);
}

function cmpxchg(rec: u32, sz: u32): void {
  const d = readModify(rec, sz);
  if (aborted()) return;
  const a = regSz(EAX, sz);
  alu(ALU_CMP, sz, a, d);
  if ((a & sizeMask(sz)) == (d & sizeMask(sz))) {
    writeBack(rec, sz, readG(rec, sz));
  } else {
    writeBack(rec, sz, d); // the destination is always written
    if (aborted()) return;
    setRegSz(EAX, sz, d);
  }
}

function cmpxchg8b(rec: u32): void {
  if (regField(rec) != 1 || !isMem(rec)) { raiseUD(); return; }
  const lin = effectiveLinear(rec, 8, true);
  if (aborted()) return;
  const lo = read32(lin), hi = read32(lin + 4);
  if (aborted()) return;
  const f = getFlags();
  if (lo == reg32(EAX) && hi == reg32(EDX)) {
    write32(lin, reg32(EBX)); write32(lin + 4, reg32(ECX));
    if (aborted()) return;
    setFlagsRaw(f | ZF);
  } else {
    write32(lin, lo); write32(lin + 4, hi);
    if (aborted()) return;
    setReg32(EAX, lo); setReg32(EDX, hi);
    setFlagsRaw(f & ~ZF);
  }
}

// BT BTS BTR BTC (kind 0-3). A register bit offset reaches beyond the operand in memory.
function bitOp(rec: u32, kind: u32, offset: u32, fromReg: bool): void {
  const sz = osz(rec);
  const bits: u32 = 8 << sz;
  let bit: u32;
  let v: u32;
  let lin: u32 = 0;
  if (!isMem(rec)) {
    bit = offset & (bits - 1);
    v = regSz(rmField(rec), sz);
  } else {
    let off = effectiveOffset(rec);
    if (fromReg) {
      const sOff: i32 = sz == 2 ? <i32>offset : <i32><i16>offset;
      off += <u32>((sOff >> (sz == 2 ? 5 : 4)) * <i32>(bits >> 3));
      if (!a32(rec)) off &= 0xFFFF;
      bit = offset & (bits - 1);
    } else bit = offset & (bits - 1);
    lin = segLinear(segOf(rec), off, bits >> 3, kind != 0);
    if (aborted()) return;
    v = readSz(lin, sz);
    if (aborted()) return;
  }
  const cf = (v >> bit) & 1;
  let nv = v;
  if (kind == 1) nv = v | (1 << bit);
  else if (kind == 2) nv = v & ~(1 << bit);
  else if (kind == 3) nv = v ^ (1 << bit);
  if (kind != 0) {
    if (isMem(rec)) writeSz(lin, sz, nv); else setRegSz(rmField(rec), sz, nv);
    if (aborted()) return;
  }
  const f = getFlags();
  setFlagsRaw((f & ~CF) | cf);
}

function bitScan(rec: u32, reverse: bool): void {
  const sz = osz(rec);
  const v = readE(rec, sz) & sizeMask(sz);
  if (aborted()) return;
  const f = getFlags();
  if (v == 0) { setFlagsRaw(f | ZF); return; } // destination unchanged
  const r: u32 = reverse ? 31 - clz<u32>(v) : ctz<u32>(v);
  writeG(rec, sz, r);
  setFlagsRaw(f & ~ZF);
}

function pusha(rec: u32): void {
  const sz = osz(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const sp = getSP();
  const esp = reg32(ESP); // the whole ESP is pushed (its low word by PUSHA), whatever the stack size
  // check the whole frame first: PUSHA either writes all eight or nothing
  segLinear(SEG_SS, (sp - 8 * bytes) & spMask(), bytes, true);
  segLinear(SEG_SS, (sp - bytes) & spMask(), bytes, true);
  if (aborted()) return;
  for (let r: u32 = 0; r < 8; r++) {
    const v = r == ESP ? esp : reg32(r);
    writeStack(sp - (r + 1) * bytes, sz, v);
  }
  if (aborted()) return;
  setSP(sp - 8 * bytes);
}

function popa(rec: u32): void {
  const sz = osz(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const base = getSP(); // read all eight before writing any
  for (let r: i32 = 7; r >= 0; r--) {
    const v = peek(sz, (7 - <u32>r) * bytes);
    if (aborted()) return;
    store<u32>(POPA_TMP + (<u32>r << 2), v);
  }
  for (let r: u32 = 0; r < 8; r++) {
    if (r == ESP) continue; // the saved ESP is discarded
    setRegSz(r, sz, load<u32>(POPA_TMP + (r << 2)));
  }
  setSP(base + 8 * bytes);
}
const POPA_TMP: u32 = SCRATCH;

function bound(rec: u32): void {
  if (!isMem(rec)) { raiseUD(); return; }
  const sz = osz(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = effectiveLinear(rec, 2 * bytes, false);
  if (aborted()) return;
  const lo = readSz(lin, sz), hi = readSz(lin + bytes, sz);
  if (aborted()) return;
  const v = readG(rec, sz);
  const sv: i32 = sz == 2 ? <i32>v : <i32><i16>v;
  const slo: i32 = sz == 2 ? <i32>lo : <i32><i16>lo;
  const shi: i32 = sz == 2 ? <i32>hi : <i32><i16>hi;
  if (sv < slo || sv > shi) raise(BR, 0, false);
}

function arpl(rec: u32): void {
  if (!protectedMode() || v86Mode()) { raiseUD(); return; }
  // the destination is written only when its RPL changes: a read-only
  // operand faults only then
  const d = readE(rec, 1);
  if (aborted()) return;
  const s = readG(rec, 1);
  const f = getFlags();
  if ((d & 3) < (s & 3)) {
    writeE(rec, 1, (d & ~3) | (s & 3));
    if (aborted()) return;
    setFlagsRaw(f | ZF);
  } else setFlagsRaw(f & ~ZF);
}

// ENTER size, level (SDM vol. 2): push (E)BP, copy level-1 frame pointers of
// the enclosing frames, push FrameTemp, reserve `size` bytes. Every value is
// read and every slot (and the final stack top) checked through segmentation
// and paging before the first write, so a fault leaves no partial frame.
// FrameTemp is (E)SP after the first push at the operand size (the whole ESP
// for ENTERD, even on a 16-bit stack); the stack pointer moves as SS.B says.
function enter(rec: u32): void {
  const sz = osz(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const size = imm(rec) & 0xFFFF;
  const level = load<u32>(rec + R_IMM2) & 31;
  const m = spMask();
  const esp = reg32(ESP);
  const sp0 = esp & m;
  const bp = reg32(EBP);
  for (let i: u32 = 1; i < level; i++) {
    const lin = segLinear(SEG_SS, (bp - i * bytes) & m, bytes, false);
    if (aborted()) return;
    const v = readSz(lin, sz);
    if (aborted()) return;
    store<u32>(ENTER_TMP + (i << 2), v);
  }
  const pushes: u32 = level == 0 ? 1 : level + 1;
  const top = (sp0 - pushes * bytes - size) & m;
  for (let k: u32 = 1; k <= pushes; k++) {
    probeWrite(segLinear(SEG_SS, (sp0 - k * bytes) & m, bytes, true), bytes);
    if (aborted()) return;
  }
  probeWrite(segLinear(SEG_SS, top, bytes, true), bytes);
  if (aborted()) return;
  const frameTemp = (esp & ~m) | ((sp0 - bytes) & m);
  writeStack(sp0 - bytes, sz, bp);
  for (let i: u32 = 1; i < level; i++) writeStack(sp0 - (i + 1) * bytes, sz, load<u32>(ENTER_TMP + (i << 2)));
  if (level > 0) writeStack(sp0 - pushes * bytes, sz, frameTemp);
  if (aborted()) return;
  setRegSz(EBP, sz, frameTemp);
  setSP(top);
}
const ENTER_TMP: u32 = <u32>memory.data(32 * 4); // the copied frame pointers

function softInt(vector: u32, trapLike: bool): void {
  // V86 with IOPL < 3: INT n goes to the monitor as #GP(0)
  if (v86Mode() && (getFlags() & IOPL) != IOPL && !trapLike) { raiseGP(0); return; }
  interrupt(vector, Source.Software, eip());
}
