// The MMU benchmark: what the shadow page table costs. A shadow miss, a page
// touch after a CR3 flush, a guest PT-write trap (with and without an entry to
// drop), a CR3 switch, and the pagestress guest's throughput — each in ns and
// as a multiple of a TLB-hit load measured in the same run. Each loop is
// checked against the core's counters, so a figure is only printed for a loop
// that really did what its name says.
//
// Most figures are the difference of two loops (with and without the event).
// Two means taken minutes apart on a shared host differ by more than the event
// costs, so the loops are timed in interleaved rounds (A B, B A, ...), each
// round gives one difference, and the figure is the median of the differences,
// with a 95% interval for that median (1.57 IQR / sqrt(n), as a box plot's
// notch). A figure whose interval is wider than itself is flagged unreliable.
import { flatGuest, TOUCH, DATA, pteAddress } from './flat-guest.js';
import { createMachine, bootMultiboot } from '../machine.js';
import { IMAGES } from './suite.js';
import type { Vm } from '../vm/vm.js';
import type { CounterName } from '../core/layout.js';
import { TrapezeError } from '../errors.js';
import { describeStop } from '../commands/outcome.js';

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const LOAD = (disp: number) => [0x8b, 0x86, ...le32(disp)]; // mov eax, [esi+disp32]
const MOV_CR3_EBX = [0x0f, 0x22, 0xdb];
const MOV_EDX_EBX = [0x89, 0xda, 0x90];                     // same length, no flush
const jmpBack = (body: number[]) => [...body, 0xeb, 0x100 - (body.length + 2)];

/** A guest loop with paging on, run `iterations` times per call. */
interface Loop { vm: Vm; insns: number; iterations: number; run(): void }

function loop(body: number[], insns: number, iterations: number, regs: Record<string, number> = {}): Loop {
  const vm = flatGuest(jmpBack(body), { paging: true });
  const cpu = vm.vcpus[0];
  cpu.setReg('ebx', cpu.get('cr3'));
  cpu.setReg('esi', TOUCH);
  for (const [r, v] of Object.entries(regs)) cpu.setReg(r as 'eax', v);
  const enter = vm.core.exports.enter;
  const budget = (insns + 1) * iterations;
  return { vm, insns: insns + 1, iterations, run() { enter(0, budget); } };
}

const sixteen = (distinct: boolean) => Array.from({ length: 16 }, (_, i) => LOAD(distinct ? i * 0x1000 : 0)).flat();
/** 16 loads from one page, after a plain move (no flush): all TLB hits. */
const hits = () => loop([...MOV_EDX_EBX, ...sixteen(false)], 17, 64);
/** MOV CR3, then 16 loads from one page: the flush, then one miss and 15 hits. */
const cr3OnePage = () => loop([...MOV_CR3_EBX, ...sixteen(false)], 17, 64);
/** MOV CR3, then 16 loads from 16 pages: the flush, then 16 misses. */
const cr3SixteenPages = () => loop([...MOV_CR3_EBX, ...sixteen(true)], 17, 64);
// L: mov [edi], eax; mov ecx, [TOUCH]; jmp L — edi: a live PTE (the one for TOUCH),
// a PTE in the same (protected) table that nothing was made from, or a plain page
const MOV_EDI_EAX = [0x89, 0x07];
const ptWrite = (target: number, value: number) =>
  loop([...MOV_EDI_EAX, 0x8b, 0x0d, ...le32(TOUCH)], 2, 256, { edi: target, eax: value });

interface Timing { rounds: number; targetMs: number }

/** ns per iteration of `l` over one timed batch of calls. */
function timeBatch(l: Loop, calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) l.run();
  return Number(process.hrtime.bigint() - t0) / calls / l.iterations;
}

/** Calls that take about `targetMs`. */
function callsFor(l: Loop, targetMs: number): number {
  l.run(); // decode, fill
  const once = timeBatch(l, 4) * l.iterations / 1e6; // ms a call
  return Math.max(1, Math.ceil(targetMs / Math.max(once, 1e-6)));
}

/** Median and its 95% interval (half-width) of some values. */
export function medianWithSpread(values: number[]): { ns: number; spreadNs: number } {
  const v = [...values].sort((a, b) => a - b);
  const q = (f: number) => { const i = f * (v.length - 1), lo = Math.floor(i); return v[lo] + (v[Math.ceil(i)] - v[lo]) * (i - lo); };
  return { ns: q(0.5), spreadNs: (1.57 * (q(0.75) - q(0.25))) / Math.sqrt(v.length) };
}

/** ns per iteration of `a` minus `b` (or of `a` alone), from interleaved rounds. */
function measure(t: Timing, a: Loop, b?: Loop, per = 1): { ns: number; spreadNs: number } {
  const ca = callsFor(a, t.targetMs), cb = b ? callsFor(b, t.targetMs) : 0;
  const d: number[] = [];
  for (let r = 0; r < t.rounds; r++) {
    if (!b) { d.push(timeBatch(a, ca)); continue; }
    // alternate the order so that a drift of the host's speed cancels
    let ta: number, tb: number;
    if (r % 2 === 0) { ta = timeBatch(a, ca); tb = timeBatch(b, cb); } else { tb = timeBatch(b, cb); ta = timeBatch(a, ca); }
    d.push(ta - tb);
  }
  const m = medianWithSpread(d);
  return { ns: m.ns / per, spreadNs: m.spreadNs / per };
}

/** A counter's change per iteration over a few calls. */
function perIteration(l: Loop, name: CounterName): number {
  l.run(); // decode, fill
  const before = l.vm.vcpus[0].counter(name);
  for (let i = 0; i < 4; i++) l.run();
  return (l.vm.vcpus[0].counter(name) - before) / (4 * l.iterations);
}

function expectCount(what: string, got: number, want: number): void {
  if (Math.abs(got - want) > 1e-9) throw new TrapezeError(`MMU benchmark: ${what} counted ${got} per iteration, expected ${want}`);
}

export interface MmuFigure {
  name: string;
  method: string;
  ns: number;
  /** Half-width of the 95% interval of the median, ns. */
  spreadNs: number;
  /** False when the interval is wider than the figure itself: re-run on a quiet machine. */
  reliable: boolean;
  /** ns / the TLB-hit load's ns. */
  ratioToHit: number;
}

export interface MmuBenchResult {
  node: string;
  quick: boolean;
  hitNs: number;
  figures: MmuFigure[];
  pagestress: { touches: number; instructions: number; ms: number; nsPerTouch: number; mips: number; counters: Record<CounterName, number> };
}

function pagestress(): MmuBenchResult['pagestress'] {
  let serial = '';
  const m = createMachine({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); } });
  bootMultiboot(m, `${IMAGES}pagestress.elf`);
  const start = process.hrtime.bigint();
  const stop = m.vm.run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const steps = /^spaces=\d+ pages=\d+ steps=(\d+)$/m.exec(serial);
  if (stop.kind !== 'debug-exit' || !serial.includes('PASS') || !steps) throw new TrapezeError(`pagestress guest failed: ${describeStop(stop)}\n${serial}`);
  const cpu = m.vm.vcpus[0];
  const touches = Number(steps[1]);
  return {
    touches, instructions: cpu.instructionsRetired, ms, nsPerTouch: (ms * 1e6) / touches,
    mips: cpu.instructionsRetired / ms / 1000, counters: cpu.counters(),
  };
}

export function runMmuBench(options: { quick?: boolean } = {}): MmuBenchResult {
  const quick = options.quick ?? false;
  const timing: Timing = quick ? { rounds: 5, targetMs: 2 } : { rounds: 31, targetMs: 20 };
  const L = {
    hits: hits(), cr3One: cr3OnePage(), cr3Sixteen: cr3SixteenPages(),
    ptLive: ptWrite(pteAddress(TOUCH), TOUCH | 0x63), ptIdle: ptWrite(pteAddress(TOUCH + 0x10000), 0),
    plain: ptWrite(DATA, 0),
  };
  // each loop does what its name says
  expectCount('TLB-hit loop fills', perIteration(L.hits, 'shadowFills'), 0);
  expectCount('CR3 + one page fills', perIteration(L.cr3One, 'shadowFills'), 2);        // code page + the page
  expectCount('CR3 + 16 pages fills', perIteration(L.cr3Sixteen, 'shadowFills'), 17);   // code page + 16 pages
  expectCount('live PTE write traps', perIteration(L.ptLive, 'ptWriteTraps'), 1);
  expectCount('live PTE write drops', perIteration(L.ptLive, 'ptWriteDrops'), 1);
  expectCount('idle PTE write traps', perIteration(L.ptIdle, 'ptWriteTraps'), 1);
  expectCount('idle PTE write drops', perIteration(L.ptIdle, 'ptWriteDrops'), 0);
  expectCount('plain write traps', perIteration(L.plain, 'ptWriteTraps'), 0);

  const hit = measure(timing, L.hits, undefined, L.hits.insns);
  const hitNs = hit.ns;
  const fig = (name: string, method: string, v: { ns: number; spreadNs: number }): MmuFigure =>
    ({ name, method, ...v, ratioToHit: v.ns / hitNs, reliable: v.spreadNs < Math.abs(v.ns) });
  const figures = [
    fig('TLB-hit load', 'mov eax, [esi] x16 + jmp on one page, per instruction', hit),
    fig('shadow miss (walk + fill)', 'MOV CR3 + 16 loads from 16 pages minus from 1 page, per extra miss',
      measure(timing, L.cr3Sixteen, L.cr3One, 15)),
    fig('page touch after a CR3 flush', 'MOV CR3 + 16 loads from 16 pages, whole loop per touch',
      measure(timing, L.cr3Sixteen, undefined, 16)),
    fig('CR3 switch (flush + refill code, data)', 'MOV CR3 + 16 loads from 1 page minus the same with MOV EDX, EBX',
      measure(timing, L.cr3One, L.hits)),
    fig('PT-write trap, no entry to drop', 'store to an idle PTE of a protected table minus to a plain page',
      measure(timing, L.ptIdle, L.plain)),
    fig('PT-write trap + drop + refill', 'store to the live PTE of the page loaded next minus to a plain page',
      measure(timing, L.ptLive, L.plain)),
  ];
  return { node: process.version, quick, hitNs, figures, pagestress: pagestress() };
}

const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

export function formatMmuBench(r: MmuBenchResult): string {
  const rows = [['event', 'ns', '± (95%)', 'x TLB hit', ''], ...r.figures.map((f) => [f.name, fmt(f.ns), fmt(f.spreadNs), fmt(f.ratioToHit), f.reliable ? '' : 'UNRELIABLE'])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  const p = r.pagestress;
  const touch = r.figures.find((f) => f.name.startsWith('page touch'))!;
  return [
    `MMU benchmark (${r.node}${r.quick ? ', quick' : ''})`,
    line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  ').trimEnd(), ...rows.slice(1).map(line),
    ...(r.figures.some((f) => !f.reliable) ? ['UNRELIABLE: the 95% interval is wider than the figure (the host was too busy); re-run when it is quiet'] : []),
    '',
    `page touch after a flush: ${fmt(touch.ns)} ns (target <= 100 ns; QEMU TCG 122, v86 157, Bochs 151)`,
    `pagestress: ${p.touches.toLocaleString('en-US')} touches, ${p.instructions.toLocaleString('en-US')} instructions in ${fmt(p.ms)} ms: ` +
      `${fmt(p.nsPerTouch)} ns per touch (${fmt(p.nsPerTouch / r.hitNs)} x TLB hit), ${fmt(p.mips)} MIPS`,
    `  fills=${p.counters.shadowFills} walks=${p.counters.guestWalks} CR3=${p.counters.flushCr3} ` +
      `PT-write traps=${p.counters.ptWriteTraps} drops=${p.counters.ptWriteDrops} INVLPG=${p.counters.flushInvlpg}`,
  ].join('\n') + '\n';
}
