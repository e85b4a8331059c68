// The opcode table: the one place an instruction is defined. scripts/gen-opcodes.mjs
// turns it into the decoder's tables and the executor's dispatch
// (assembly/cpu/*.generated.ts, made by the build). Adding an instruction is one
// row here plus its handler in execute.ts.
//
// A row: op(opcode, name, encoding, fields)
//   opcode    0x00-0xFF for the one-byte map, 0x100 | byte for the 0F map
//   encoding  what follows the opcode bytes:
//               M  ModRM (with SIB and displacement)      R  ModRM that always names registers (MOV CR/DR)
//               B  imm8     V  imm16/32 by operand size   W  imm16
//               A  moffs (an address-size displacement)   F  far pointer (offset, then selector)
//               T  TEST's immediate in group 3 (/0 and /1 only)
//   fields
//     h       the handler: an AssemblyScript call expression (names exported by execute.ts).
//             `$sz` becomes the operand size code (1 = word, 2 = dword, by the 66 prefix and
//             CS.D) and `$mem` true or false (ModRM names memory or a register): each
//             (size, form) is then its own handler, picked at decode time, so a handler does
//             no size or form branching at run time. Either a string for every form, or an
//             object keyed by form: r16 r32 m16 m32, r m (both sizes), 16 32 (both forms), *.
//             null: the CPU defines the instruction but this core does not implement it (#UD,
//             reported as unimplemented).
//     mem     true: memory operands only (a register form is #UD)
//     regs    the ModRM reg values that are defined; the others are #UD
//     group   per ModRM reg value, a sub-row { name, h, mem, lock, ends, sync, jit }: the reg
//             field selects the instruction; a missing value is #UD
//     pfx     per mandatory prefix (none, 66, F3, F2: the last of F2/F3 wins over 66), a
//             sub-row { name, h, mem, lock, ends, sync, jit, group }: the prefix selects the
//             instruction (the SSE maps); a missing prefix form is #UD
//     mode    'pm': #UD outside protected mode and in virtual-8086 mode
//     lock    LOCK may precede it (with a memory destination); otherwise LOCK is #UD
//     ends    ends a block at decode time (an unconditional transfer, HLT)
//     sync    the handler reads or writes EIP, the instruction's start or the retired count
//             (branches, calls, interrupts, REP restarts, the FPU's FIP, the virtual clock):
//             the run loop makes them current before it runs (others see them stale)
//     branch  a near branch that needs none of that: it reads the next EIP as `$next` (from
//             the record) and sets EIP only when it jumps, which ends the block; the run
//             loop then takes EIP as it is (a Sync point would cost every Jcc, taken or not)
//     rel     { cc, disp }: a branch to $next + disp (truncated to the operand size), taken
//             when condition cc holds (no cc: always); its handler is made from it. The block
//             builder finds a target inside the block, where the run loop goes on by itself
//     hot     the forms (true, or an object keyed by form like h) common enough in
//             compiled code that their handler runs inline in the run loop's switch
//             (cpu/run.ts); the others are called through the function table. Keep
//             the set small: the loop's code size is what this trades against.
//     quiet   the forms (like hot) that cannot end the block: no memory access, fault, jump or
//             mode change, registers and immediates only. The run loop does not look at the stop
//             word after them (the test core checks that they never set it: cpu/fault.ts CHECKS)
//     fuse    the forms (like hot) that leave a known lazy flags record (cpu/flags.ts LazyOp:
//             Add, Sub, Logic, Inc, Dec, Shift), at their operand size ($sz in the handler)
//             or a byte's. Followed by a Jcc in the same block, the block builder gives the
//             pair one case of the run loop: the form, then the Jcc's test on that record
//             (conditions per kind: gen-opcodes.mjs FUSE_CONDITIONS). Hot forms only.
//     over    the forms (like hot; quiet 32-bit forms) a Jcc may jump over: the register the
//             form writes, 'E' (ModRM r/m), 'G' (ModRM reg) or a register number. It changes
//             nothing else but the lazy flags record (not EFLAGS; not INC or DEC, which keep a
//             CF record). A Jcc whose target is the instruction after such a form (both in one
//             block) runs it either way, then keeps or drops its register and lazy flags
//             (cpu/run.ts jumpsOver): a skip the host cannot predict costs no host branch.
//     jit     the JIT's emitter for this form (a name, or an object keyed by form like h):
//             passed through to EMITTER[] in opcodes.generated.ts; absent: no emitter, the
//             JIT calls the interpreter handler.
//
// Opcode-ordered, with a section per range.

const rows = [];
const op = (code, name, enc, f = {}) => rows.push({ code, name, enc, ...f });

const ALU = ['ADD', 'OR', 'ADC', 'SBB', 'AND', 'SUB', 'XOR', 'CMP'];
const ALU_K = ['ALU_ADD', 'ALU_OR', 'ALU_ADC', 'ALU_SBB', 'ALU_AND', 'ALU_SUB', 'ALU_XOR', 'ALU_CMP'];
export const CC = ['O', 'NO', 'B', 'AE', 'E', 'NE', 'BE', 'A', 'S', 'NS', 'P', 'NP', 'L', 'GE', 'LE', 'G'];
const SHIFT = ['ROL', 'ROR', 'RCL', 'RCR', 'SHL', 'SHR', 'SAL', 'SAR'];
const REG32 = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI'];
const REG8 = ['AL', 'CL', 'DL', 'BL', 'AH', 'CH', 'DH', 'BH'];
const SREG = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
// the JIT compiles only the 32-bit operand size of a word/dword instruction (or only its register form)
const D32 = (e) => ({ 32: e });
const R32 = (e) => ({ r32: e });
const H32 = { 32: true }; // hot: the 32-bit operand size, both forms
const Q = { r: true }; // quiet: the register forms
// over: ADD, OR, AND, SUB and XOR (compiled code's conditional adjustments)
const OVER = (k, dest, form = 'r32') => ([0, 1, 4, 5, 6].includes(k) ? { [form]: dest } : undefined);
// fuse: the ALU operations compiled code tests with a Jcc after them, and the lazy flags they leave
const ALU_LAZY = [null, null, null, null, 'Logic', null, null, 'Sub']; // AND, CMP
// fuse for the 32-bit register form; CMP also with memory (a compare of memory and a register, then a Jcc)
const F32 = (k) => (ALU_LAZY[k] ? { r32: ALU_LAZY[k], ...(k === 7 ? { m32: 'Sub' } : {}) } : undefined);
const each = (n, f) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i, f(i)]));

// ---- 00-3F: the eight ALU operations, six forms each; segment pushes and pops; BCD ----
for (let k = 0; k < 8; k++) {
  const K = ALU_K[k], b = k * 8, lock = k !== 7;
  op(b + 0, `${ALU[k]} Eb,Gb`, 'M', { lock, h: `aluEG(rec, ${K}, 0, $mem)`, jit: 'Alu' });
  op(b + 1, `${ALU[k]} Ev,Gv`, 'M', { lock, h: `aluEG(rec, ${K}, $sz, $mem)`, jit: D32('Alu'), hot: H32, quiet: Q, fuse: F32(k), over: OVER(k, 'E') });
  op(b + 2, `${ALU[k]} Gb,Eb`, 'M', { h: `aluGE(rec, ${K}, 0, $mem)`, jit: 'Alu' });
  op(b + 3, `${ALU[k]} Gv,Ev`, 'M', { h: `aluGE(rec, ${K}, $sz, $mem)`, jit: D32('Alu'), hot: H32, quiet: Q, fuse: F32(k), over: OVER(k, 'G') });
  op(b + 4, `${ALU[k]} AL,Ib`, 'B', { h: `aluAI(rec, ${K}, 0)`, jit: 'Alu' });
  op(b + 5, `${ALU[k]} eAX,Iz`, 'V', { h: `aluAI(rec, ${K}, $sz)`, jit: D32('Alu'), hot: H32, quiet: true, fuse: ALU_LAZY[k] ? { 32: ALU_LAZY[k] } : undefined, over: OVER(k, 0, 32) });
}
for (const s of [0, 1, 2, 3]) op(0x06 + s * 8, `PUSH ${SREG[s]}`, '', { h: `pushSeg(rec, ${s})` });
for (const s of [0, 2, 3]) op(0x07 + s * 8, `POP ${SREG[s]}`, '', { h: `popSeg(rec, ${s})` });
op(0x27, 'DAA', '', { h: 'daaOp()' });
op(0x2F, 'DAS', '', { h: 'dasOp()' });
op(0x37, 'AAA', '', { h: 'aaaOp(false)' });
op(0x3F, 'AAS', '', { h: 'aaaOp(true)' });

// ---- 40-5F: INC, DEC, PUSH, POP of a register ----
for (let r = 0; r < 8; r++) op(0x40 + r, `INC ${REG32[r]}`, '', { h: `incReg(${r}, $sz)`, jit: D32('IncDecReg'), hot: H32, quiet: true, fuse: { 32: 'Inc' } });
for (let r = 0; r < 8; r++) op(0x48 + r, `DEC ${REG32[r]}`, '', { h: `decReg(${r}, $sz)`, jit: D32('IncDecReg'), hot: H32, quiet: true, fuse: { 32: 'Dec' } });
for (let r = 0; r < 8; r++) op(0x50 + r, `PUSH ${REG32[r]}`, '', { h: `pushReg(${r}, $sz)`, jit: D32('PushReg'), hot: H32 });
for (let r = 0; r < 8; r++) op(0x58 + r, `POP ${REG32[r]}`, '', { h: `popReg(${r}, $sz)`, jit: D32('PopReg'), hot: H32 });

// ---- 60-6F ----
op(0x60, 'PUSHA', '', { h: 'pusha(rec)' });
op(0x61, 'POPA', '', { h: 'popa(rec)' });
op(0x62, 'BOUND Gv,Ma', 'M', { mem: true, h: 'bound(rec)' });
op(0x63, 'ARPL Ew,Gw', 'M', { mode: 'pm', h: 'arpl(rec)' });
op(0x68, 'PUSH Iz', 'V', { h: 'push($sz, imm(rec))', jit: D32('PushImm') });
op(0x69, 'IMUL Gv,Ev,Iz', 'MV', { h: 'imul3(rec, imm(rec))', jit: D32('Imul') });
op(0x6A, 'PUSH Ib', 'B', { h: 'push($sz, imm8s(rec))', jit: D32('PushImm') });
op(0x6B, 'IMUL Gv,Ev,Ib', 'MB', { h: 'imul3(rec, imm8s(rec))', jit: D32('Imul') });
op(0x6C, 'INSB', '', { sync: true, h: 'ins(rec, 0)' });
op(0x6D, 'INSW/D', '', { sync: true, h: 'ins(rec, $sz)' });
op(0x6E, 'OUTSB', '', { sync: true, h: 'outs(rec, 0)' });
op(0x6F, 'OUTSW/D', '', { sync: true, h: 'outs(rec, $sz)' });

// ---- 70-7F: Jcc rel8 ----
for (let c = 0; c < 16; c++) op(0x70 + c, `J${CC[c]} Jb`, 'B', { branch: true, rel: { cc: c, disp: 'imm8s(rec)' }, jit: D32('Jcc'), hot: H32 });

// ---- 80-8F: group 1, TEST, XCHG, MOV, LEA, POP Ev ----
const group1 = (sz, imm, jit, hot) => each(8, (k) => ({ name: ALU[k], lock: k !== 7, h: `grp1(rec, ${ALU_K[k]}, ${sz}, ${imm}, $mem)`, jit, hot, quiet: Q,
  fuse: hot && ALU_LAZY[k] ? { r32: ALU_LAZY[k] } : undefined, over: hot ? OVER(k, 'E') : undefined }));
op(0x80, 'group 1 Eb,Ib', 'MB', { group: group1('0', 'imm(rec)', 'Alu') });
op(0x81, 'group 1 Ev,Iz', 'MV', { group: group1('$sz', 'imm(rec)', D32('Alu'), H32) });
op(0x82, 'group 1 Eb,Ib (alias of 80)', 'MB', { group: group1('0', 'imm(rec)', 'Alu') });
op(0x83, 'group 1 Ev,Ib', 'MB', { group: group1('$sz', 'imm8s(rec)', D32('Alu'), H32) });
op(0x84, 'TEST Eb,Gb', 'M', { h: 'testEG(rec, 0, $mem)', jit: 'Test' });
op(0x85, 'TEST Ev,Gv', 'M', { h: 'testEG(rec, $sz, $mem)', jit: D32('Test'), hot: H32, quiet: Q, fuse: { r32: 'Logic', m32: 'Logic' } });
op(0x86, 'XCHG Eb,Gb', 'M', { lock: true, h: 'xchg(rec, 0)' });
op(0x87, 'XCHG Ev,Gv', 'M', { lock: true, h: 'xchg(rec, $sz)', jit: R32('Xchg') });
op(0x88, 'MOV Eb,Gb', 'M', { h: 'movEG(rec, 0, $mem)', jit: 'Mov', hot: true, quiet: Q });
op(0x89, 'MOV Ev,Gv', 'M', { h: 'movEG(rec, $sz, $mem)', jit: 'Mov', hot: H32, quiet: Q, over: { r32: 'E' } });
op(0x8A, 'MOV Gb,Eb', 'M', { h: 'movGE(rec, 0, $mem)', jit: 'Mov', hot: true, quiet: Q });
op(0x8B, 'MOV Gv,Ev', 'M', { h: 'movGE(rec, $sz, $mem)', jit: 'Mov', hot: H32, quiet: Q, over: { r32: 'G' } });
op(0x8C, 'MOV Ev,Sw', 'M', { regs: [0, 1, 2, 3, 4, 5], h: { m: 'writeE(rec, 1, segSelector(regField(rec)))', r: 'writeE(rec, $sz, segSelector(regField(rec)))' } });
op(0x8D, 'LEA Gv,M', 'M', { mem: true, h: 'writeG(rec, $sz, effectiveOffset(rec))', jit: D32('Lea'), hot: H32, quiet: true, over: { m32: 'G' } });
op(0x8E, 'MOV Sw,Ew', 'M', { regs: [0, 2, 3, 4, 5], h: 'movSreg(rec)' });
op(0x8F, 'POP Ev', 'M', { regs: [0], h: 'popE(rec)' });

// ---- 90-9F ----
op(0x90, 'NOP / PAUSE', '', { h: 'nop(rec)', jit: 'Nop' });
for (let r = 1; r < 8; r++) op(0x90 + r, `XCHG eAX,${REG32[r]}`, '', { h: `xchgAx(${r}, $sz)`, jit: D32('Xchg') });
op(0x98, 'CBW/CWDE', '', { h: 'cbw($sz)', jit: D32('Cwde') });
op(0x99, 'CWD/CDQ', '', { h: 'cwd($sz)', jit: D32('Cdq') });
op(0x9A, 'CALL Ap', 'F', { ends: true, sync: true, h: 'callFar(imm2(rec), imm(rec), $sz, eip())' });
op(0x9B, 'WAIT', '', { sync: true, h: 'fpuWait()' });
op(0x9C, 'PUSHF', '', { h: 'pushf($sz)' });
op(0x9D, 'POPF', '', { h: 'popf($sz)' });
op(0x9E, 'SAHF', '', { h: 'sahf()' });
op(0x9F, 'LAHF', '', { h: 'lahf()' });

// ---- A0-AF: moffs moves, string instructions, TEST eAX ----
op(0xA0, 'MOV AL,Ob', 'A', { h: 'movAO(rec, 0)', jit: 'Moffs' });
op(0xA1, 'MOV eAX,Ov', 'A', { h: 'movAO(rec, $sz)', jit: 'Moffs' });
op(0xA2, 'MOV Ob,AL', 'A', { h: 'movOA(rec, 0)', jit: 'Moffs' });
op(0xA3, 'MOV Ov,eAX', 'A', { h: 'movOA(rec, $sz)', jit: 'Moffs' });
op(0xA4, 'MOVSB', '', { sync: true, h: 'stringOp(rec, StrOp.Movs, 0)', jit: 'Movs' });
op(0xA5, 'MOVSW/D', '', { sync: true, h: 'stringOp(rec, StrOp.Movs, $sz)', jit: 'Movs' });
op(0xA6, 'CMPSB', '', { sync: true, h: 'stringOp(rec, StrOp.Cmps, 0)', jit: 'Cmps' });
op(0xA7, 'CMPSW/D', '', { sync: true, h: 'stringOp(rec, StrOp.Cmps, $sz)', jit: D32('Cmps') });
op(0xA8, 'TEST AL,Ib', 'B', { h: 'logicFlags(0, reg8(0) & imm(rec))', jit: 'Test' });
op(0xA9, 'TEST eAX,Iz', 'V', { h: 'logicFlags($sz, regSz(EAX, $sz) & imm(rec))', jit: D32('Test') });
op(0xAA, 'STOSB', '', { sync: true, h: 'stringOp(rec, StrOp.Stos, 0)', jit: 'Stos' });
op(0xAB, 'STOSW/D', '', { sync: true, h: 'stringOp(rec, StrOp.Stos, $sz)', jit: 'Stos' });
op(0xAC, 'LODSB', '', { sync: true, h: 'stringOp(rec, StrOp.Lods, 0)', jit: 'Lods' });
op(0xAD, 'LODSW/D', '', { sync: true, h: 'stringOp(rec, StrOp.Lods, $sz)', jit: 'Lods' });
op(0xAE, 'SCASB', '', { sync: true, h: 'stringOp(rec, StrOp.Scas, 0)', jit: 'Scas' });
op(0xAF, 'SCASW/D', '', { sync: true, h: 'stringOp(rec, StrOp.Scas, $sz)', jit: D32('Scas') });

// ---- B0-BF: MOV register, immediate ----
for (let r = 0; r < 8; r++) op(0xB0 + r, `MOV ${REG8[r]},Ib`, 'B', { h: `setReg8(${r}, imm(rec))`, jit: 'Mov', hot: true, quiet: true });
for (let r = 0; r < 8; r++) op(0xB8 + r, `MOV ${REG32[r]},Iv`, 'V', { h: `setRegSz(${r}, $sz, imm(rec))`, jit: 'Mov', hot: H32, quiet: true });

// ---- C0-CF ----
// (fuse: SHL, SHR and SAR by 1; not by a count that may be 0, which leaves the flags as they were)
const group2 = (sz, count, jit, hot) => each(8, (k) => ({ name: SHIFT[k], h: `grp2(rec, ${k}, ${sz}, ${count}, $mem)`, jit, hot, quiet: Q,
  fuse: hot && count === '1' && k >= 4 && k !== 6 ? { r32: 'Shift' } : undefined }));
op(0xC0, 'group 2 Eb,Ib', 'MB', { group: group2('0', 'imm(rec)', { r: 'Shift' }) });
op(0xC1, 'group 2 Ev,Ib', 'MB', { group: group2('$sz', 'imm(rec)', { r: 'Shift' }, { r32: true }) });
op(0xC2, 'RET Iw', 'W', { ends: true, branch: true, h: 'retNear($sz, imm(rec))' });
op(0xC3, 'RET', '', { ends: true, branch: true, h: 'retNear($sz, 0)', jit: D32('Ret'), hot: H32 });
op(0xC4, 'LES Gv,Mp', 'M', { mem: true, h: `loadFarPointer(rec, ${0})` });
op(0xC5, 'LDS Gv,Mp', 'M', { mem: true, h: `loadFarPointer(rec, ${3})` });
op(0xC6, 'MOV Eb,Ib', 'MB', { regs: [0], h: 'writeE(rec, 0, imm(rec))', jit: 'Mov' });
op(0xC7, 'MOV Ev,Iz', 'MV', { regs: [0], h: 'writeE(rec, $sz, imm(rec))', jit: 'Mov', hot: H32 });
op(0xC8, 'ENTER Iw,Ib', 'WB', { h: 'enter(rec)' });
op(0xC9, 'LEAVE', '', { h: 'leave($sz)', jit: D32('Leave') });
op(0xCA, 'RETF Iw', 'W', { ends: true, sync: true, h: 'retFar($sz, imm(rec))' });
op(0xCB, 'RETF', '', { ends: true, sync: true, h: 'retFar($sz, 0)' });
op(0xCC, 'INT3', '', { ends: true, sync: true, h: 'softInt(3, true)' });
op(0xCD, 'INT Ib', 'B', { ends: true, sync: true, h: 'softInt(imm(rec), false)' });
op(0xCE, 'INTO', '', { sync: true, h: 'into()' });
op(0xCF, 'IRET', '', { ends: true, sync: true, h: 'iret($sz)' });

// ---- D0-DF: shifts by 1 and CL, BCD, SALC, XLAT, the FPU escapes ----
op(0xD0, 'group 2 Eb,1', 'M', { group: group2('0', '1', { r: 'Shift' }) });
op(0xD1, 'group 2 Ev,1', 'M', { group: group2('$sz', '1', R32('Shift'), { r32: true }) });
op(0xD2, 'group 2 Eb,CL', 'M', { group: group2('0', 'reg8(1)', { r: 'Shift' }) });
op(0xD3, 'group 2 Ev,CL', 'M', { group: group2('$sz', 'reg8(1)', R32('Shift'), { r32: true }) });
op(0xD4, 'AAM Ib', 'B', { h: 'aamOp(imm(rec))' });
op(0xD5, 'AAD Ib', 'B', { h: 'aadOp(imm(rec))' });
op(0xD6, 'SALC', '', { h: 'setReg8(0, carry() ? 0xFF : 0)' });
op(0xD7, 'XLAT', '', { h: 'xlat(rec)' });
for (let e = 0; e < 8; e++) op(0xD8 + e, `ESC ${e} (x87)`, 'M', { sync: true, h: 'fpuEscape(rec)' });

// ---- E0-EF: loops, port I/O, near and far transfers ----
op(0xE0, 'LOOPNE Jb', 'B', { sync: true, h: 'loop(rec, 0)' });
op(0xE1, 'LOOPE Jb', 'B', { sync: true, h: 'loop(rec, 1)' });
op(0xE2, 'LOOP Jb', 'B', { sync: true, h: 'loop(rec, 2)', jit: D32('Loop') });
op(0xE3, 'JCXZ Jb', 'B', { sync: true, h: 'jcxz(rec)' });
op(0xE4, 'IN AL,Ib', 'B', { sync: true, h: 'inp(imm(rec) & 0xFF, 0)', jit: 'PortIo' });
op(0xE5, 'IN eAX,Ib', 'B', { sync: true, h: 'inp(imm(rec) & 0xFF, $sz)', jit: 'PortIo' });
op(0xE6, 'OUT Ib,AL', 'B', { h: 'out(imm(rec) & 0xFF, 0)', jit: 'PortIo' });
op(0xE7, 'OUT Ib,eAX', 'B', { h: 'out(imm(rec) & 0xFF, $sz)', jit: 'PortIo' });
op(0xE8, 'CALL Jz', 'V', { ends: true, branch: true, h: 'callRel(rec, $sz, $next)', jit: D32('Call'), hot: H32 });
op(0xE9, 'JMP Jz', 'V', { ends: true, branch: true, rel: { disp: 'imm(rec)' }, jit: D32('Jmp'), hot: H32 });
op(0xEA, 'JMP Ap', 'F', { ends: true, sync: true, h: 'jmpFar(imm2(rec), imm(rec))' });
op(0xEB, 'JMP Jb', 'B', { ends: true, branch: true, rel: { disp: 'imm8s(rec)' }, jit: D32('Jmp'), hot: H32 });
op(0xEC, 'IN AL,DX', '', { sync: true, h: 'inp(reg16(EDX), 0)', jit: 'PortIo' });
op(0xED, 'IN eAX,DX', '', { sync: true, h: 'inp(reg16(EDX), $sz)', jit: 'PortIo' });
op(0xEE, 'OUT DX,AL', '', { h: 'out(reg16(EDX), 0)', jit: 'PortIo' });
op(0xEF, 'OUT DX,eAX', '', { h: 'out(reg16(EDX), $sz)', jit: 'PortIo' });

// ---- F0-FF ----
op(0xF1, 'INT1 (ICEBP)', '', { sync: true, h: 'interrupt(1, Source.External, eip())' });
op(0xF4, 'HLT', '', { ends: true, h: 'hlt()' });
op(0xF5, 'CMC', '', { h: 'setFlagsRaw(getFlags() ^ CF)' });
const group3 = (sz, test, notNeg, mulDiv) => ({
  0: { name: 'TEST', h: `testEI(rec, ${sz})`, jit: test },
  1: { name: 'TEST', h: `testEI(rec, ${sz})`, jit: test },
  2: { name: 'NOT', lock: true, h: `notE(rec, ${sz})`, jit: notNeg ? R32('Not') : undefined },
  3: { name: 'NEG', lock: true, h: `negE(rec, ${sz})`, jit: notNeg ? R32('Neg') : undefined },
  4: { name: 'MUL', h: `mulE(rec, ${sz}, false)`, jit: mulDiv },
  5: { name: 'IMUL', h: `mulE(rec, ${sz}, true)`, jit: mulDiv },
  6: { name: 'DIV', h: `divE(rec, ${sz}, false)`, jit: mulDiv },
  7: { name: 'IDIV', h: `divE(rec, ${sz}, true)`, jit: mulDiv },
});
op(0xF6, 'group 3 Eb', 'MT', { group: group3('0', 'Test', false) });
op(0xF7, 'group 3 Ev', 'MT', { group: group3('$sz', D32('Test'), true, D32('MulDiv')) });
op(0xF8, 'CLC', '', { h: 'setFlagsRaw(getFlags() & ~CF)' });
op(0xF9, 'STC', '', { h: 'setFlagsRaw(getFlags() | CF)' });
op(0xFA, 'CLI', '', { h: 'cli()' });
op(0xFB, 'STI', '', { h: 'sti()' });
op(0xFC, 'CLD', '', { h: 'setFlagsRaw(getFlags() & ~DF)' });
op(0xFD, 'STD', '', { h: 'setFlagsRaw(getFlags() | DF)' });
op(0xFE, 'group 4 Eb', 'M', { group: {
  0: { name: 'INC', lock: true, h: 'incE(rec, 0, $mem)', jit: 'IncDec', hot: true, quiet: Q, fuse: { r: 'Inc' } },
  1: { name: 'DEC', lock: true, h: 'decE(rec, 0, $mem)', jit: 'IncDec', hot: true, quiet: Q, fuse: { r: 'Dec' } },
} });
op(0xFF, 'group 5 Ev', 'M', { group: {
  0: { name: 'INC', lock: true, h: 'incE(rec, $sz, $mem)', jit: D32('IncDec'), hot: H32, quiet: Q, fuse: { r32: 'Inc' } },
  1: { name: 'DEC', lock: true, h: 'decE(rec, $sz, $mem)', jit: D32('IncDec'), hot: H32, quiet: Q, fuse: { r32: 'Dec' } },
  2: { name: 'CALL Ev', ends: true, sync: true, h: 'callNearE(rec, $sz)', jit: D32('JmpE') },
  3: { name: 'CALL Mp', mem: true, ends: true, sync: true, h: 'farE(rec, $sz, true)' },
  4: { name: 'JMP Ev', ends: true, sync: true, h: 'jmpNearE(rec, $sz)', jit: D32('JmpE') },
  5: { name: 'JMP Mp', mem: true, ends: true, sync: true, h: 'farE(rec, $sz, false)' },
  6: { name: 'PUSH Ev', h: 'pushE(rec, $sz)', jit: D32('PushE') },
} });

// ---- 0F 00-0F: system ----
op(0x100, 'group 6', 'M', { regs: [0, 1, 2, 3, 4, 5], h: 'group6(rec)' });
op(0x101, 'group 7', 'M', { group: {
  0: { name: 'SGDT', mem: true, h: 'group7(rec)' },
  1: { name: 'SIDT', mem: true, h: 'group7(rec)' },
  2: { name: 'LGDT', mem: true, h: 'group7(rec)' },
  3: { name: 'LIDT', mem: true, h: 'group7(rec)' },
  4: { name: 'SMSW', h: 'group7(rec)' },
  6: { name: 'LMSW', h: 'group7(rec)' },
  7: { name: 'INVLPG', mem: true, h: 'group7(rec)' },
} });
op(0x102, 'LAR Gv,Ew', 'M', { h: 'larLsl(rec, false)' });
op(0x103, 'LSL Gv,Ew', 'M', { h: 'larLsl(rec, true)' });
op(0x106, 'CLTS', '', { h: 'clts()' });
op(0x108, 'INVD', '', { h: 'requirePrivilege()' }); // no caches to manage
op(0x109, 'WBINVD', '', { h: 'requirePrivilege()' });

// ---- SSE/SSE2 and MMX (0F 10-17, 28-2F, 50-7F, C2-C6, D0-FF) ----
// The mandatory prefix (none, 66, F3, F2) selects the instruction, so the moves
// have a row per prefix form (`pfx`; a form not listed is #UD); the rest of the
// space is defined (decoded at its real length) but not implemented: #UD,
// reported as such. Every handler first checks CR0.EM/CR4.OSFXSR/CR0.TS, so a
// CPU model without SSE (the default P6) takes #UD on all of them.
const load = (bytes, aligned, zeroRest) => `sseLoad(rec, ${bytes}, ${aligned}, ${zeroRest})`;
const store = (bytes, aligned) => `sseStore(rec, ${bytes}, ${aligned})`;
const SSE_ROWS = {
  0x10: { none: { name: 'MOVUPS', h: load(16, false, false) }, 66: { name: 'MOVUPD', h: load(16, false, false) },
    F3: { name: 'MOVSS', h: load(4, false, true) }, F2: { name: 'MOVSD', h: load(8, false, true) } },
  0x11: { none: { name: 'MOVUPS', h: store(16, false) }, 66: { name: 'MOVUPD', h: store(16, false) },
    F3: { name: 'MOVSS', h: store(4, false) }, F2: { name: 'MOVSD', h: store(8, false) } },
  0x28: { none: { name: 'MOVAPS', h: load(16, true, false) }, 66: { name: 'MOVAPD', h: load(16, true, false) } },
  0x29: { none: { name: 'MOVAPS', h: store(16, true) }, 66: { name: 'MOVAPD', h: store(16, true) } },
  // without a prefix, the MMX MOVQ: this CPU has no MMX
  0x6F: { none: { name: 'MOVQ Pq,Qq', h: null }, 66: { name: 'MOVDQA', h: load(16, true, false) }, F3: { name: 'MOVDQU', h: load(16, false, false) } },
  0x7F: { none: { name: 'MOVQ Qq,Pq', h: null }, 66: { name: 'MOVDQA', h: store(16, true) }, F3: { name: 'MOVDQU', h: store(16, false) } },
};
const SSE_IMM8 = new Set([0x70, 0x71, 0x72, 0x73, 0xC2, 0xC4, 0xC5, 0xC6]);
const SSE_SPACE = [
  ...Array.from({ length: 8 }, (_, i) => 0x10 + i), ...Array.from({ length: 8 }, (_, i) => 0x28 + i),
  ...Array.from({ length: 0x28 }, (_, i) => 0x50 + i).filter((b) => b !== 0x77),
  0x7C, 0x7D, 0x7E, 0x7F, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6,
  ...Array.from({ length: 0x2F }, (_, i) => 0xD0 + i),
];
const sseRows = [];
for (const b of SSE_SPACE) {
  const f = SSE_ROWS[b] ? { pfx: SSE_ROWS[b] } : { h: null };
  sseRows.push([0x100 | b, `SSE/MMX 0F ${b.toString(16).toUpperCase()}`, SSE_IMM8.has(b) ? 'MB' : 'M', f]);
}
sseRows.push([0x177, 'EMMS', '', { h: null }]);

// ---- 0F 18-1F: hint NOPs (0F 1F /0 is the long NOP) ----
for (let i = 0; i < 8; i++) op(0x118 + i, 'hint NOP Ev', 'M', { h: '' });

for (const r of sseRows.filter((r) => r[0] < 0x120)) op(...r);

// ---- 0F 20-23: control and debug registers ----
op(0x120, 'MOV Rd,Cd', 'R', { regs: [0, 2, 3, 4], h: 'movControl(rec, false, false)' });
op(0x121, 'MOV Rd,Dd', 'R', { h: 'movControl(rec, false, true)' });
op(0x122, 'MOV Cd,Rd', 'R', { regs: [0, 2, 3, 4], h: 'movControl(rec, true, false)' });
op(0x123, 'MOV Dd,Rd', 'R', { h: 'movControl(rec, true, true)' });

for (const r of sseRows.filter((r) => r[0] >= 0x128 && r[0] < 0x130)) op(...r);

// ---- 0F 30-33: MSRs, the time-stamp counter ----
op(0x130, 'WRMSR', '', { h: 'wrmsr()' });
op(0x131, 'RDTSC', '', { sync: true, h: 'rdtsc()', jit: 'Rdtsc' });
op(0x132, 'RDMSR', '', { sync: true, h: 'rdmsr()' });
op(0x133, 'RDPMC', '', { h: 'raiseGP(0)' }); // no counters are exposed

// ---- 0F 40-4F: CMOVcc ----
for (let c = 0; c < 16; c++) op(0x140 + c, `CMOV${CC[c]} Gv,Ev`, 'M', { h: `cmov(rec, ${c}, $sz)`, jit: D32('Cmov') });

for (const r of sseRows.filter((r) => r[0] >= 0x150 && r[0] < 0x180)) op(...r);

// ---- 0F 80-9F: Jcc rel16/32, SETcc ----
for (let c = 0; c < 16; c++) op(0x180 + c, `J${CC[c]} Jz`, 'V', { branch: true, rel: { cc: c, disp: 'imm(rec)' }, jit: D32('Jcc') });
for (let c = 0; c < 16; c++) op(0x190 + c, `SET${CC[c]} Eb`, 'M', { h: `writeE(rec, 0, condition(${c}) ? 1 : 0)`, jit: { r: 'Setcc' } });

// ---- 0F A0-AF ----
op(0x1A0, 'PUSH FS', '', { h: 'pushSeg(rec, 4)' });
op(0x1A1, 'POP FS', '', { h: 'popSeg(rec, 4)' });
op(0x1A2, 'CPUID', '', { h: 'cpuid()', jit: 'Cpuid' });
op(0x1A3, 'BT Ev,Gv', 'M', { h: 'bitOp(rec, 0, readG(rec, $sz), true)' });
op(0x1A4, 'SHLD Ev,Gv,Ib', 'MB', { h: 'shiftDouble(rec, true, imm(rec))' });
op(0x1A5, 'SHLD Ev,Gv,CL', 'M', { h: 'shiftDouble(rec, true, reg8(1))' });
op(0x1A8, 'PUSH GS', '', { h: 'pushSeg(rec, 5)' });
op(0x1A9, 'POP GS', '', { h: 'popSeg(rec, 5)' });
op(0x1AB, 'BTS Ev,Gv', 'M', { lock: true, h: 'bitOp(rec, 1, readG(rec, $sz), true)' });
op(0x1AC, 'SHRD Ev,Gv,Ib', 'MB', { h: 'shiftDouble(rec, false, imm(rec))' });
op(0x1AD, 'SHRD Ev,Gv,CL', 'M', { h: 'shiftDouble(rec, false, reg8(1))' });
op(0x1AE, 'group 15', 'M', { group: {
  0: { name: 'FXSAVE M512', mem: true, h: 'fxsave(rec)' },
  1: { name: 'FXRSTOR M512', mem: true, h: 'fxrstor(rec)' },
  2: { name: 'LDMXCSR Md', mem: true, h: 'ldmxcsr(rec)' },
  3: { name: 'STMXCSR Md', mem: true, h: 'stmxcsr(rec)' },
  5: { name: 'LFENCE', h: 'fence(rec)' },
  6: { name: 'MFENCE', h: 'fence(rec)' },
  7: { name: 'SFENCE / CLFLUSH', h: 'fence(rec)' },
} });
op(0x1AF, 'IMUL Gv,Ev', 'M', { h: 'imul2(rec)', jit: D32('Imul') });

// ---- 0F B0-BF ----
op(0x1B0, 'CMPXCHG Eb,Gb', 'M', { lock: true, h: 'cmpxchg(rec, 0)' });
op(0x1B1, 'CMPXCHG Ev,Gv', 'M', { lock: true, h: 'cmpxchg(rec, $sz)' });
op(0x1B2, 'LSS Gv,Mp', 'M', { mem: true, h: 'loadFarPointer(rec, 2)' });
op(0x1B3, 'BTR Ev,Gv', 'M', { lock: true, h: 'bitOp(rec, 2, readG(rec, $sz), true)' });
op(0x1B4, 'LFS Gv,Mp', 'M', { mem: true, h: 'loadFarPointer(rec, 4)' });
op(0x1B5, 'LGS Gv,Mp', 'M', { mem: true, h: 'loadFarPointer(rec, 5)' });
op(0x1B6, 'MOVZX Gv,Eb', 'M', { h: 'movx(rec, 0, $sz, false)', jit: D32('Movx'), hot: H32 });
op(0x1B7, 'MOVZX Gv,Ew', 'M', { h: 'movx(rec, 1, $sz, false)', jit: D32('Movx'), hot: H32 });
op(0x1BA, 'group 8 Ev,Ib', 'MB', { group: {
  4: { name: 'BT', h: 'bitOp(rec, 0, imm(rec), false)' },
  5: { name: 'BTS', lock: true, h: 'bitOp(rec, 1, imm(rec), false)' },
  6: { name: 'BTR', lock: true, h: 'bitOp(rec, 2, imm(rec), false)' },
  7: { name: 'BTC', lock: true, h: 'bitOp(rec, 3, imm(rec), false)' },
} });
op(0x1BB, 'BTC Ev,Gv', 'M', { lock: true, h: 'bitOp(rec, 3, readG(rec, $sz), true)' });
op(0x1BC, 'BSF Gv,Ev', 'M', { h: 'bitScan(rec, false)' });
op(0x1BD, 'BSR Gv,Ev', 'M', { h: 'bitScan(rec, true)' });
op(0x1BE, 'MOVSX Gv,Eb', 'M', { h: 'movx(rec, 0, $sz, true)', jit: D32('Movx'), hot: H32 });
op(0x1BF, 'MOVSX Gv,Ew', 'M', { h: 'movx(rec, 1, $sz, true)', jit: D32('Movx'), hot: H32 });

// ---- 0F C0-CF ----
op(0x1C0, 'XADD Eb,Gb', 'M', { lock: true, h: 'xadd(rec, 0)' });
op(0x1C1, 'XADD Ev,Gv', 'M', { lock: true, h: 'xadd(rec, $sz)' });
op(0x1C7, 'group 9', 'M', { group: { 1: { name: 'CMPXCHG8B Mq', mem: true, lock: true, h: 'cmpxchg8b(rec)' } } });
for (const r of sseRows.filter((r) => r[0] >= 0x1C2 && r[0] < 0x1C7)) op(...r);
for (let r = 0; r < 8; r++) op(0x1C8 + r, `BSWAP ${REG32[r]}`, '', { h: `bswapReg(${r}, $sz)` });

for (const r of sseRows.filter((r) => r[0] >= 0x1D0)) op(...r);

export const OPCODES = rows;
/** Second bytes of the 0F map the SSE/MMX rows cover (the decoder-agreement test reads them). */
export const SSE_SPACE_0F = sseRows.map((r) => r[0] & 0xff);
