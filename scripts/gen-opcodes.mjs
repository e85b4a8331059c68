#!/usr/bin/env node
// Generates the decoder's tables and the executor's dispatch from the opcode
// table (assembly/cpu/opcodes.mjs). Run by the build before asc; the outputs are
// not committed.
//
//   assembly/cpu/opcodes.generated.ts   PROPS (encoding per opcode), SEL_BASE and SEL
//                                       (the handler and its flags per opcode, mandatory
//                                       prefix, ModRM reg, form and operand size), EMITTER (the JIT's emitter
//                                       per handler), handler ids
//   assembly/cpu/dispatch.generated.ts  runLoop(rec, end, kMax): the interpreter's record loop,
//                                       the hot handlers (ids first) in its switch, each case
//                                       going on by itself (quiet forms without the stop word's
//                                       test, rel jumps inside the block); execute(rec): one
//                                       record (the JIT, the trace core); the other handlers
//                                       through the function table (a function per handler id)
//
// Usage: node scripts/gen-opcodes.mjs [--check]   (--check: exit 1 if the outputs are stale)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPCODES, CC } from '../assembly/cpu/opcodes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const TABLES = `${root}assembly/cpu/opcodes.generated.ts`;
const DISPATCH = `${root}assembly/cpu/dispatch.generated.ts`;

// Encoding bits (PROPS). The decoder reads them; G and P are the generator's: the
// ModRM reg field (a group, or forms the reg field makes #UD) or the mandatory
// prefix selects the handler.
const ENC = { M: 1, B: 2, V: 4, W: 8, A: 16, F: 32, X: 64, T: 128, R: 256 };
const G = 512;
// P: the mandatory prefix selects the handler (a row with pfx); its SEL entries come
// in four blocks, in this order (the decoder's prefix index).
const P = 1024;
const PFX = ['none', '66', 'F3', 'F2'];
// Flags of a SEL entry (bits 16-23), copied into the record's R_HFLAGS.
const FLAG = { Lock: 1, Ends: 2, Sync: 4, Invalid: 8, Branch: 16, Rel: 32 };
const FORMS = [['r', 16], ['r', 32], ['m', 16], ['m', 32]]; // SEL order: mem << 1 | o32

function fail(msg) { console.error(`gen-opcodes: ${msg}`); process.exit(2); }

// The conditions (a Jcc's cc >> 1: O B Z BE S P L LE; its low bit negates) that a
// fused pair decides, per kind of lazy flags record: the ones compiled code tests
// after such an instruction. A Jcc with another condition after it runs on its own.
const FUSE_CONDITIONS = {
  Sub: [1, 3, 2, 6, 7], // CMP: unsigned and signed orders, equality
  Logic: [2, 4],        // TEST, AND: zero, sign
  Inc: [2],             // counters: zero
  Dec: [2],
  Shift: [1, 2],        // the bit shifted out, zero
};
const COND = ['O', 'B', 'Z', 'BE', 'S', 'P', 'L', 'LE'];

// ---- handlers: one per distinct (expression, mode guard, emitter) ----
const handlers = [];
const handlerIds = new Map();
// quiet: cannot end the block (the run loop skips the stop word's test after it);
// memForm: a memory form (run in a function of its own); rel: { cc, disp } of a rel jump;
// fuse: { lazy, size } of the lazy flags record it leaves (it pairs with a Jcc after it);
// over: the register it writes, when a Jcc may jump over it (opcodes.mjs over)
function handler(expr, mode, jit, label, sync = false, hot = false, quiet = false, memForm = false, rel = null, fuse = null, over = null) {
  const key = `${expr}\u0000${mode ?? ''}\u0000${jit ?? ''}`;
  let id = handlerIds.get(key);
  if (id === undefined) {
    id = handlers.length;
    handlerIds.set(key, id);
    handlers.push({ expr, mode, jit: jit ?? null, labels: [label], sync, hot, quiet, memForm, rel, fuse, over });
  } else {
    const h = handlers[id];
    if (h.quiet !== quiet) fail(`${label}: quiet differs from ${h.labels[0]}, which has the same handler`);
    if (JSON.stringify(h.fuse) !== JSON.stringify(fuse)) fail(`${label}: fuse differs from ${h.labels[0]}, which has the same handler`);
    if (h.over !== over) fail(`${label}: over differs from ${h.labels[0]}, which has the same handler`);
    if (h.labels.length < 4) h.labels.push(label);
    h.sync ||= sync;
    h.hot ||= hot;
  }
  return id;
}
const H = {}; // the three below, renumbered (hot handlers first)
const H_INVALID = handler('raiseUD()', null, null, '#UD: no such instruction or form');
const H_UNIMPLEMENTED = handler('unimplemented()', null, null, 'defined, not implemented here: #UD');
const H_TOO_LONG = handler('raiseGP(0)', null, null, 'longer than 15 bytes: #GP(0)');

function pick(spec, f, s) {
  if (spec === null || typeof spec === 'string' || typeof spec === 'boolean') return spec;
  for (const k of [`${f}${s}`, f, `${s}`, '*']) if (k in spec) return spec[k];
  return undefined;
}

// ---- the selection tables ----
const props = new Array(512).fill(0);
const selBase = new Array(512).fill(0);
const sel = [];
for (let i = 0; i < 512; i++) props[i] = i >= 0x100 ? ENC.X : 0; // 0F map: #UD unless a row says otherwise
// invalid opcodes share four entries at the start
for (let k = 0; k < 4; k++) sel.push(H_INVALID | ((FLAG.Invalid | FLAG.Ends) << 16));
const seen = new Set();
for (const row of OPCODES) {
  if (seen.has(row.code)) fail(`opcode ${row.code.toString(16)} has two rows`);
  seen.add(row.code);
  let p = 0;
  for (const c of row.enc) {
    if (!(c in ENC)) fail(`${row.name}: unknown encoding letter ${c}`);
    p |= ENC[c];
  }
  if (row.enc.includes('R')) p |= ENC.M;
  const byPfx = row.pfx !== undefined;
  if (byPfx) {
    if (row.h !== undefined || row.group || row.regs) fail(`${row.name}: a row with pfx has its handlers in the prefix sub-rows`);
    for (const k of Object.keys(row.pfx)) if (!PFX.includes(k)) fail(`${row.name}: unknown mandatory prefix ${k}`);
    p |= P;
  }
  const tops = byPfx
    ? PFX.map((k) => (row.pfx[k] ? { ...row, ...row.pfx[k], pfx: undefined, name: `${row.name}: ${row.pfx[k].name}` } : null))
    : [row];
  const byReg = tops.some((t) => t && (t.group !== undefined || t.regs !== undefined));
  if (byReg) {
    if (!(p & ENC.M)) fail(`${row.name}: a group needs ModRM`);
    p |= G;
  }
  props[row.code] = p;
  selBase[row.code] = sel.length;
  for (const top of tops) {
    for (let reg = 0; reg < (byReg ? 8 : 1); reg++) {
      let sub = top;
      if (!top) sub = null;
      else if (top.group) sub = top.group[reg] ? { ...top, ...top.group[reg], name: `${top.name}: ${top.group[reg].name}` } : null;
      else if (top.regs && !top.regs.includes(reg)) sub = null;
      for (const [f, s] of FORMS) {
        const mem = f === 'm';
        if (!sub || (sub.mem && !mem && !(p & ENC.R))) { sel.push(H_INVALID | ((FLAG.Invalid | FLAG.Ends) << 16)); continue; }
        if (sub.rel && sub.h !== undefined) fail(`${sub.name}: a rel jump's handler comes from rel`);
        // a rel jump: taken when condition cc holds (no cc: always), to $next + disp
        const spec = sub.rel
          ? (sub.rel.cc === undefined ? `relJump(rec, $next, ${sub.rel.disp})` : `jcc(rec, ${sub.rel.cc}, ${sub.rel.disp}, $next)`)
          : pick(sub.h, f, s);
        if (spec === undefined) fail(`${sub.name}: no handler for form ${f}${s}`);
        const label = `${sub.name} ${f}${s}`;
        let id;
        if (spec === null) id = H_UNIMPLEMENTED;
        else {
          const expr = spec.replaceAll('$sz', s === 32 ? '2' : '1').replaceAll('$mem', mem ? 'true' : 'false')
            .replaceAll('$next', 'nextIp(rec)');
          const jit = pick(sub.jit ?? null, f, s) ?? null;
          const quiet = !!pick(sub.quiet ?? false, f, s);
          if (quiet && (sub.sync || sub.branch || sub.ends || sub.mode)) fail(`${sub.name}: a quiet form is not sync, a branch, a block's end or mode-guarded`);
          const hot = !!pick(sub.hot ?? false, f, s);
          const lazy = pick(sub.fuse ?? null, f, s) ?? null;
          if (lazy !== null && !(lazy in FUSE_CONDITIONS)) fail(`${label}: fuse names no lazy flags kind (${Object.keys(FUSE_CONDITIONS)})`);
          if (lazy !== null && (!hot || sub.sync || sub.branch || sub.ends || sub.mode)) fail(`${label}: a fused form is hot, and not sync, a branch, a block's end or mode-guarded`);
          // (its lazy record's size: the operand size where the handler takes it, else a byte)
          const fuse = lazy === null ? null : { lazy, size: spec.includes('$sz') ? (s === 32 ? 2 : 1) : 0 };
          const over = pick(sub.over ?? null, f, s) ?? null;
          if (over !== null && !(over === 'E' || over === 'G' || (Number.isInteger(over) && over >= 0 && over < 8))) fail(`${label}: over names no register ('E', 'G' or 0-7)`);
          if (over !== null && (!hot || !quiet || s !== 32 || fuse?.lazy === 'Inc' || fuse?.lazy === 'Dec')) fail(`${label}: a form a Jcc may jump over is hot, quiet, 32-bit and not INC or DEC`);
          id = handler(expr, sub.mode ?? null, jit, label, !!sub.sync, hot, quiet,
            mem && spec.includes('$mem') && !sub.sync && !sub.mode, sub.rel ?? null, fuse, over);
        }
        let flags = 0;
        if (sub.lock) flags |= FLAG.Lock;
        if (sub.ends || id === H_UNIMPLEMENTED) flags |= FLAG.Ends;
        if (sub.sync) flags |= FLAG.Sync;
        if (sub.branch) {
          if (sub.sync) fail(`${sub.name}: branch and sync exclude each other`);
          flags |= FLAG.Branch;
        }
        if (sub.rel) {
          if (!sub.branch) fail(`${sub.name}: a rel jump is a branch`);
          flags |= FLAG.Rel;
        }
        sel.push(id | (flags << 16));
      }
    }
  }
}
// ---- fused pairs: per fused form, a twin per condition (hot: after the other hot handlers) ----
for (let i = 0, n = handlers.length; i < n; i++) {
  const h = handlers[i];
  if (!h.fuse) continue;
  for (const cond of FUSE_CONDITIONS[h.fuse.lazy]) {
    handlers.push({ ...h, labels: [`${h.labels[0]}, then J${COND[cond]} or JN${COND[cond]}`], fuse: null, over: null, twin: { of: i, cond, ...h.fuse } });
  }
}
// ---- jumps over one instruction (cpu/run.ts jumpsOver): a Jcc per condition that decides
// without a branch, and per form that may be jumped over its twin that runs under such a Jcc
// (hot, after the fused pairs; outside the run loop the Jcc is a Jcc and the twin its form) ----
for (let c = 0; c < 16; c++) {
  handlers.push({ expr: `jcc(rec, ${c}, relDisp(rec), nextIp(rec))`, mode: null, jit: 'Jcc', labels: [`J${CC[c]}, over one instruction`],
    sync: false, hot: true, quiet: false, memForm: false, rel: null, fuse: null, over: null, overJcc: c });
}
for (let i = 0, n = handlers.length; i < n; i++) {
  const h = handlers[i];
  if (h.over === null || h.overJcc !== undefined) continue;
  handlers.push({ ...h, labels: [`${h.labels[0]}, under a Jcc over it`], fuse: null, over: null, under: { of: i, dest: h.over } });
}
if (handlers.length > 0xFFFF) fail('too many handlers');

// ---- hot handlers first (in table order): ids 0..HOT_COUNT-1, the run loop's inline switch ----
const HOT_COUNT = handlers.filter((h) => h.hot).length;
{
  const order = [...handlers.keys()].sort((a, b) => (handlers[b].hot - handlers[a].hot) || a - b);
  const newId = new Array(handlers.length);
  order.forEach((old, i) => { newId[old] = i; });
  const moved = order.map((old) => handlers[old]);
  handlers.length = 0;
  handlers.push(...moved);
  for (let i = 0; i < sel.length; i++) sel[i] = newId[sel[i] & 0xFFFF] | (sel[i] & ~0xFFFF);
  H.INVALID = newId[H_INVALID]; H.UNIMPLEMENTED = newId[H_UNIMPLEMENTED]; H.TOO_LONG = newId[H_TOO_LONG];
  for (const h of handlers) if (h.twin) h.twin.of = newId[h.twin.of];
  for (const h of handlers) if (h.under) h.under.of = newId[h.under.of];
}
// FUSED[id * 8 + (cc >> 1)]: the twin of fused form id for a Jcc of condition cc after it (0: none)
const FUSE_IDS = Math.max(0, ...handlers.filter((h) => h.twin).map((h) => h.twin.of + 1));
const fused = new Array(FUSE_IDS * 8).fill(0);
handlers.forEach((h, id) => { if (h.twin) fused[h.twin.of * 8 + h.twin.cond] = id; });
// OVERS[id]: the twin of form id that runs under a Jcc over it (0: none); JCC_OVER + cc: that Jcc
const OVER_IDS = Math.max(0, ...handlers.filter((h) => h.under).map((h) => h.under.of + 1));
const overs = new Array(OVER_IDS).fill(0);
handlers.forEach((h, id) => { if (h.under) overs[h.under.of] = id; });
const JCC_OVER = handlers.findIndex((h) => h.overJcc === 0);
handlers.forEach((h, id) => { if (h.overJcc !== undefined && id !== JCC_OVER + h.overJcc) fail('the Jccs over one instruction are not in cc order'); });

// ---- emitters: names from the jit column, numbered in order of first use ----
const emitters = ['None'];
for (const h of handlers) if (h.jit && !emitters.includes(h.jit)) emitters.push(h.jit);
const emitterOf = handlers.map((h) => (h.jit ? emitters.indexOf(h.jit) : 0));

// ---- output ----
const hex = (n, w = 4) => `0x${n.toString(16).toUpperCase().padStart(w, '0')}`;
function rowsOf(values, per, fmt) {
  const out = [];
  for (let i = 0; i < values.length; i += per) out.push(`  ${values.slice(i, i + per).map(fmt).join(', ')},`);
  return out.join('\n');
}
const banner = '// Generated by scripts/gen-opcodes.mjs from assembly/cpu/opcodes.mjs. Do not edit: change the table.';

const tables = `${banner}
// The decoder reads PROPS for the encoding, then SEL for the handler:
//   SEL[SEL_BASE[op] + (PROPS[op] & Enc.P ? pfx << (PROPS[op] & Enc.G ? 5 : 2) : 0)
//       + (PROPS[op] & Enc.G ? reg << 2 : 0) + (mem << 1) + o32]
// where op is the opcode (| 0x100 in the 0F map), pfx the mandatory prefix (0 none,
// 1 66, 2 F3, 3 F2), reg the ModRM reg field, mem 1 when ModRM names memory, o32 1
// for a 32-bit operand size. A SEL entry is the
// handler id (bits 0-15) and its HFlag bits (16-23).

export const enum Enc {
  M = ${ENC.M},     // ModRM
  B = ${ENC.B},     // imm8
  V = ${ENC.V},     // imm16/32 by operand size
  W = ${ENC.W},     // imm16
  A = ${ENC.A},    // moffs: an address-size displacement
  F = ${ENC.F},    // far pointer: imm16/32 offset, then imm16 selector
  X = ${ENC.X},    // invalid opcode (#UD)
  T = ${ENC.T},   // group 3: TEST /0 /1 carries an immediate
  R = ${ENC.R},   // ModRM always names registers: mod is ignored (MOV CR/DR)
  G = ${G},   // the ModRM reg field selects the handler
  P = ${P},  // the mandatory prefix (none, 66, F3, F2) selects the handler
}

export const enum HFlag {
  Lock = ${FLAG.Lock},    // LOCK may precede it (with a memory operand)
  Ends = ${FLAG.Ends},    // ends a block at decode time
  Sync = ${FLAG.Sync},    // the handler needs EIP, the instruction's start and the retired count current
  Invalid = ${FLAG.Invalid}, // #UD at decode time (R_OP becomes Op.Invalid)
  Branch = ${FLAG.Branch}, // not Sync: it sets EIP itself when it ends the block (a near jump taken)
  Rel = ${FLAG.Rel},     // a Branch to $next + R_DISP, truncated to the operand size (run.ts resolves it in the block)
}

export const H_INVALID: u32 = ${H.INVALID};
export const H_UNIMPLEMENTED: u32 = ${H.UNIMPLEMENTED};
export const H_TOO_LONG: u32 = ${H.TOO_LONG};
export const HANDLER_COUNT: u32 = ${handlers.length};

// The fused pairs (cpu/run.ts fusePairs): FUSED[id * 8 + (cc >> 1)] is the twin of
// handler id that also decides a Jcc of condition cc right after it; 0: none.
export const FUSE_IDS: u32 = ${FUSE_IDS};
export const FUSED: StaticArray<u16> = [
${rowsOf(fused, 16, String)}
];

// Jumps over one instruction (cpu/run.ts jumpsOver): OVERS[id] is the twin of
// handler id that runs under a Jcc over it (0: none); H_JCC_OVER + cc is the
// Jcc of condition cc that decides for such a twin.
export const OVER_IDS: u32 = ${OVER_IDS};
export const OVERS: StaticArray<u16> = [
${rowsOf(overs, 16, String)}
];
export const H_JCC_OVER: u32 = ${JCC_OVER};

export const PROPS: StaticArray<u16> = [
${rowsOf(props, 16, (v) => hex(v, 3))}
];

export const SEL_BASE: StaticArray<u16> = [
${rowsOf(selBase, 16, (v) => String(v))}
];

export const SEL: StaticArray<u32> = [
${rowsOf(sel, 8, (v) => hex(v, 6))}
];

// The JIT's emitter for each handler id (0: none; the JIT calls the interpreter's handler).
export const enum Emitter {
${emitters.map((e, i) => `  ${e} = ${i},`).join('\n')}
}
export const EMITTER: StaticArray<u16> = [
${rowsOf(emitterOf, 32, String)}
];
`;

// identifiers the handler expressions use, imported from execute.ts
const KEYWORDS = new Set(['rec', 'true', 'false', 'nextIp']);
const names = new Set();
for (const h of handlers) {
  for (const m of h.expr.matchAll(/(?<![.\w])[A-Za-z_]\w*/g)) if (!KEYWORDS.has(m[0])) names.add(m[0]);
  if (h.mode) for (const n of ['protectedMode', 'v86Mode', 'raiseUD']) names.add(n);
}
function wrap(list, width) {
  const lines = [];
  let line = ' ';
  for (const n of list) {
    if (line.length + n.length + 2 > width) { lines.push(line); line = ' '; }
    line += ` ${n},`;
  }
  lines.push(line);
  return lines.join('\n');
}
const GUARD = { pm: 'if (!protectedMode() || v86Mode()) { raiseUD(); return; }' };
function bodyOf(h) {
  const guard = h.mode ? `${GUARD[h.mode] ?? fail(`unknown mode ${h.mode}`)} ` : '';
  const body = h.expr ? `${h.expr}; ` : '';
  // first, so that a fault of the mode guard finds the instruction's start too
  const sync = h.sync ? 'syncPoint(rec); ' : '';
  return `${sync}${guard}${body}`;
}
const labelsOf = (h) => `${h.labels.join('; ')}${h.labels.length >= 4 ? '; ...' : ''}`;
// one function per handler id, called through the function table
// (a twin, outside the run loop, is its form)
const formOf = (h) => (h.twin ? h.twin.of : h.under ? h.under.of : null);
const fns = handlers.map((h, id) => `// ${labelsOf(h)}
function h${id}(rec: u32): void { ${formOf(h) !== null ? `h${formOf(h)}(rec); ` : bodyOf(h)}}`);
// (a memory form runs in its own function, where its operation and size are constants)
const memCall = (h, id) => `h${formOf(h) ?? id}(rec); `;
const hotCases = handlers.slice(0, HOT_COUNT).map((h, id) => `    case ${id}: ${h.memForm ? memCall(h, id) : bodyOf(h)}return; // ${labelsOf(h)}`);
// A hot rel jump in the loop: taken, it leaves the switch for the loop's one
// taken-jump path (on at a record of its own block, position.ts jumpInBlock,
// also the cold jumps' way in run.ts; otherwise out of the block).
function relCase(h) {
  return h.rel.cc === undefined ? 'break;' : `if (condition(${h.rel.cc})) break; continue;`;
}
// A twin runs its form, then decides the Jcc after it from the lazy record the
// form left (its kind and size are constants here): not taken, it steps over
// the Jcc; taken, it is at the Jcc's record on the taken-jump path. (The Jcc may
// lie past a budget's end.)
function twinTail(t) {
  return `rec += RECORD_SIZE; if (rec >= end) return rec; if (lazyCondition(LazyOp.${t.lazy}, ${t.size}, ${t.cond}) != <bool>(load<u8>(rec + R_OP) & 1)) break; continue;`;
}
// A Jcc over one instruction decides whether that instruction's result stays
// (\`skip\`, for the twin in the next record) while the loop may go on inside
// the block (JUMP_OK: run.ts; then that record is before the block's end); else
// it is a Jcc.
function overJccCase(c) {
  return `{ const t = condition(${c}); if (!load<u8>(JUMP_OK)) { if (t) break; continue; } skip = t; continue; }`;
}
// A form under a Jcc over it runs, then what it changed (its register and the
// lazy flags record) goes back to what it was when the Jcc skips it, by
// selects: no host branch on the guest's condition. A skipped instruction does
// not retire (k one less). (The test core checks that it left EFLAGS alone.)
function underCase(h) {
  const d = h.under.dest;
  const reg = d === 'E' ? 'ACTIVE + (<u32>load<u8>(rec + R_RM) << 2)' : d === 'G' ? 'ACTIVE + (<u32>load<u8>(rec + R_REG) << 2)' : `ACTIVE + ${d * 4}`;
  const save = [`const d = ${reg}, v = load<u32>(d), e = CHECKS ? load<u32>(ACTIVE + S_EFLAGS) : 0`, ...LAZY_WORDS.map((o, i) => `f${i} = load<u32>(ACTIVE + ${o})`)].join(', ');
  const back = LAZY_WORDS.map((o, i) => `store<u32>(ACTIVE + ${o}, select(f${i}, load<u32>(ACTIVE + ${o}), skip));`).join(' ');
  return `{ ${save}; ${bodyOf(h)}if (CHECKS && (stopOrAbort() || load<u32>(ACTIVE + S_EFLAGS) != e)) unreachable(); ` +
    `store<u32>(d, select(v, load<u32>(d), skip)); ${back} setPosK(posK() - <u32>skip); skip = false; continue; }`;
}
// the lazy flags record (layout.ts S_LAZY_*)
const LAZY_WORDS = ['S_LAZY_OP', 'S_LAZY_SIZE', 'S_LAZY_A', 'S_LAZY_B', 'S_LAZY_R'];
const loopCases = handlers.slice(0, HOT_COUNT).map((h, id) => `      case ${id}: ${h.rel ? relCase(h) : h.overJcc !== undefined ? overJccCase(h.overJcc) : h.under ? underCase(h)
  : `${h.memForm ? memCall(h, id) : bodyOf(h)}${h.quiet ? 'if (CHECKS && stopOrAbort()) unreachable(); ' : 'if (stopOrAbort()) return rec; '}${h.twin ? twinTail(h.twin) : 'continue;'}`} // ${labelsOf(h)}`);
const dispatch = `${banner}
// The executor: one handler per (instruction, operand size, register/memory
// form). The hot ones (the table's \`hot\` forms, ids 0..${HOT_COUNT - 1}) run inline
// in one switch, their memory forms through a direct call (a function per
// form, where its operation and size are constants); every other id is its own
// function, called through the function table (call_indirect on the record's
// handler id), so that the run loop stays small enough to keep its values in
// registers. runLoop is the record loop (inlined into cpu/run.ts runRecords);
// execute runs one record (jitStep in jit/tier.ts, and the trace core). EIP is current only for
// handlers with HFlag.Sync: they make EIP, the instruction's start and the
// retired count current first, from the record's offset in its block (R_OFF)
// and its index, with where the loop is (position.ts: the EIP of the block's
// first instruction, and the retired count less the record's index in memory).

import { R_H, R_LEN, R_OFF, R_OP, R_REG, R_RM } from "./decode";
import { lazyCondition, LazyOp } from "./flags";
import { RECORD_SIZE, JIT_TABLE_BASE, ACTIVE, S_EFLAGS, ${LAZY_WORDS.join(', ')} } from "../layout";
import { setEip } from "./state";
import { setInsnStart, setRetired } from "./context";
import { posBase, posMask, posK, setPosK, jumpInBlock } from "./position";
import { stopOrAbort, CHECKS, JUMP_OK } from "./fault";
import { branchRel, condition, relDisp } from "./execute";
import {
${wrap([...names].sort(), 100)}
} from "./execute";

// The EIP of the instruction after rec (a Branch handler's $next).
@inline function nextIp(rec: u32): u32 {
  return (posBase() + load<u8>(rec + R_OFF) + load<u8>(rec + R_LEN)) & posMask();
}

@inline function syncPoint(rec: u32): void {
  const ipMask = posMask();
  const ip = (posBase() + load<u8>(rec + R_OFF)) & ipMask;
  setEip((ip + load<u8>(rec + R_LEN)) & ipMask);
  setInsnStart(ip);
  setRetired(rec / RECORD_SIZE + posK());
}

${fns.join('\n')}

type Handler = (rec: u32) => void;
// The first functions the core refers to, so they fill the table from index 1
// in handler order (checked at instantiation); the JIT's regions come after.
const HANDLERS: StaticArray<Handler> = [
${rowsOf(handlers.map((_, id) => `h${id}`), 12, String)}
];
const HANDLER_BASE: u32 = 1;
for (let i = 0; i < HANDLERS.length; i++) {
  if (load<u32>(changetype<usize>(unchecked(HANDLERS[i]))) != HANDLER_BASE + <u32>i) unreachable();
}
if (HANDLER_BASE + <u32>HANDLERS.length > JIT_TABLE_BASE) unreachable();

@inline export function execute(rec: u32): void {
  const id = <u32>load<u16>(rec + R_H);
  // (the call in the default: one bounds check, the br_table's)
  switch (id) {
${hotCases.join('\n')}
    default: call_indirect<void>(HANDLER_BASE + id, rec);
  }
}

// Runs the records from rec up to end; returns end, or the record that
// stopped (the stop word set). A quiet handler cannot stop: no test after it.
@inline export function runLoop(rec: u32, end: u32, kMax: u32): u32 {
  // (the step at the loop's head: after each case it would be hoisted above the switch and spilled)
  rec -= RECORD_SIZE;
  // a Jcc over one instruction skips it (that instruction's twin, the next record, reads it)
  let skip = false;
  while (true) {
    rec += RECORD_SIZE;
    if (rec >= end) return rec;
    const id = <u32>load<u16>(rec + R_H);
    switch (id) {
${loopCases.join('\n')}
      default: call_indirect<void>(HANDLER_BASE + id, rec); if (stopOrAbort()) return rec; continue;
    }
    // a rel jump taken at rec (one path for them all: the loop's code stays small)
    const to = jumpInBlock(rec, kMax);
    if (to) { rec = to - RECORD_SIZE; continue; }
    branchRel(rec, nextIp(rec), relDisp(rec));
    return rec;
  }
}
`;

const check = process.argv.includes('--check');
let stale = false;
for (const [path, text] of [[TABLES, tables], [DISPATCH, dispatch]]) {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (old === text) continue;
  if (check) { console.error(`gen-opcodes: ${path} is stale`); stale = true; continue; }
  writeFileSync(path, text);
}
if (stale) process.exit(1);
if (!check) console.log(`gen-opcodes: ${OPCODES.length} rows, ${handlers.length} handlers, ${sel.length} selector entries`);
