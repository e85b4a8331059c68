// `npm run bench:peers`: Trapeze beside its peers on the same guests, in one
// run on one machine. Every engine runs each guest in a fresh process whose
// stdout is the guest's serial port; the arrival of the line before the work
// and the line after it gives the time (startup excluded), and the startup is
// measured on its own as the whole process of the `hello` guest. Each output
// is checked (a wrong checksum refuses that engine's figure), a missing engine
// is reported as skipped, and every figure is the median of the repeats, run
// in rounds (every engine once per round, so a slow spell hits them alike).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { TrapezeError } from '../../errors.js';
import { ROOT, CHILD_REPORT, trapeze, earlierTrapeze, v86, qemu, type Engine } from './engines.js';
import { compute, pagestress, vmexit, type Workload } from './workloads.js';
import { baselineCli } from './baseline.js';

/** The core before the speed work of issue 11 (the comparison its targets are stated against). */
export const DEFAULT_BASELINE = 'e19a150';
const TIMEOUT_MS = 600_000;

interface Line { text: string; ms: number }
interface ProcessRun { lines: Line[]; wallMs: number; stderr: string; timedOut: boolean; status: number | null }

/** Run `argv`, stamping each stdout line's arrival (ms since the spawn). */
function timed(argv: string[]): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let partial = '', stderr = '', timedOut = false;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      const ms = performance.now() - t0;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ text, ms });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (partial) lines.push({ text: partial, ms: performance.now() - t0 });
      resolve({ lines, wallMs: performance.now() - t0, stderr, timedOut, status });
    });
  });
}

export interface Cell {
  /** Median seconds between the start and end lines. */
  seconds?: number;
  /** Instructions between the two lines (Trapeze counts them; every engine runs the same guest code). */
  instructions?: number;
  mips?: number;
  /** vmexit: median ns per iteration of each kind. */
  nsPerIteration?: Record<string, number>;
  runs: number;
  refused?: string;
}

export interface PeerResult {
  date: string;
  machine: string;
  node: string;
  repeat: number;
  /** The host's 1-minute load average when the run started and when it ended (a shared machine skews every figure). */
  load: [number, number];
  engines: { id: string; label: string; skipped?: string }[];
  startup: Record<string, { seconds?: number; refused?: string }>;
  workloads: { id: string; label: string; cells: Record<string, Cell> }[];
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** One run of `w` on `e`: the window's length, its instructions when counted, the kinds' ns; or why it is refused. */
async function runOnce(e: Engine, w: Workload): Promise<{ ms: number; instructions?: number; ns?: Record<string, number> } | string> {
  const r = await timed(e.command(w));
  if (r.timedOut) return `no end line after ${TIMEOUT_MS / 1000} s`;
  const output = r.lines.filter((l) => !l.text.startsWith('#')).map((l) => l.text).join('\n') + '\n';
  const wrong = w.check(output);
  if (wrong) return `output differs: ${wrong}${r.stderr.trim() ? ` (${r.stderr.trim().split('\n').pop()})` : ''}`;
  const start = r.lines.findIndex((l) => w.start.test(l.text));
  const end = r.lines.findIndex((l) => w.end.test(l.text));
  if (start < 0 || end < start) return `no line matching ${w.start} before one matching ${w.end}`;
  const ms = r.lines[end].ms - r.lines[start].ms;
  let instructions: number | undefined;
  const report = r.stderr.split('\n').find((l) => l.startsWith(CHILD_REPORT));
  if (e.countsInstructions && report) {
    const at: number[] = JSON.parse(report.slice(CHILD_REPORT.length)).lineInstructions;
    instructions = at[end] - at[start];
  }
  let ns: Record<string, number> | undefined;
  if (w.rdtsc) {
    // the guest's TSC runs at the engine's own rate: scale it by the wall clock over the same window
    const kinds = r.lines.map((l) => /^# (\S+) cycles\/iter=(\d+)$/.exec(l.text)).filter((m): m is RegExpExecArray => !!m);
    const cycles = kinds.reduce((s, m) => s + Number(m[2]) * w.iterations!, 0);
    ns = Object.fromEntries(kinds.map((m) => [m[1], (Number(m[2]) * ms * 1e6) / cycles]));
  }
  return { ms, instructions, ns };
}

/** The runs of one engine so far: its windows, counts and kinds' ns, or why it was refused. */
interface Runs { ms: number[]; insns: number[]; ns: Record<string, number>[]; refused?: string }

function cellOf(r: Runs): Cell {
  if (r.refused) return { runs: r.ms.length + 1, refused: r.refused };
  const cell: Cell = { runs: r.ms.length, seconds: median(r.ms) / 1000, instructions: r.insns.length ? r.insns[0] : undefined };
  if (r.ns.length) cell.nsPerIteration = Object.fromEntries(Object.keys(r.ns[0]).map((k) => [k, median(r.ns.map((n) => n[k]))]));
  return cell;
}

/**
 * `repeat` runs of `w` on each engine, in rounds (each engine once per round):
 * a slow spell of a shared machine then falls on every engine alike, not on
 * the one that happened to be running. Each cell is the median of its runs.
 */
async function measure(engines: Engine[], w: Workload, repeat: number, log: (line: string) => void): Promise<Record<string, Cell>> {
  const runs = new Map(engines.map((e) => [e.id, { ms: [], insns: [], ns: [] } as Runs]));
  for (let i = 0; i < repeat; i++) {
    for (const e of engines) {
      const r = runs.get(e.id)!;
      if (r.refused) continue;
      log(`${w.id}: ${e.label}${repeat > 1 ? ` (round ${i + 1} of ${repeat})` : ''}`);
      const once = await runOnce(e, w);
      if (typeof once === 'string') { r.refused = once; continue; }
      r.ms.push(once.ms);
      if (once.instructions !== undefined) r.insns.push(once.instructions);
      if (once.ns) r.ns.push(once.ns);
    }
  }
  return Object.fromEntries(engines.map((e) => [e.id, cellOf(runs.get(e.id)!)]));
}

/** Each engine's `hello` process, `repeat` times in rounds as `measure` runs: the median, or why it is refused. */
async function startups(engines: Engine[], repeat: number, log: (line: string) => void): Promise<Record<string, { seconds?: number; refused?: string }>> {
  const times = new Map<string, number[]>(engines.map((e) => [e.id, []]));
  const out: Record<string, { seconds?: number; refused?: string }> = {};
  for (let i = 0; i < repeat; i++) {
    for (const e of engines) {
      if (out[e.id]) continue;
      if (i === 0) log(`startup: ${e.label}`);
      const r = await timed(e.startup!());
      if (r.timedOut || !r.lines.some((l) => l.text.startsWith('Hello from a Trapeze guest!'))) out[e.id] = { refused: 'hello did not print its greeting' };
      else times.get(e.id)!.push(r.wallMs);
    }
  }
  for (const e of engines) out[e.id] ??= { seconds: median(times.get(e.id)!) / 1000 };
  return out;
}

export interface PeerOptions {
  quick?: boolean;
  repeat?: number;
  /** A git revision whose core is the "before" row; false: no such row. */
  baseline?: string | false;
  /** The "before" row's core as a wasm file (instead of building a revision's). */
  baselineWasm?: string;
  /** Only these engines / guests (ids). */
  engines?: string[];
  /** Run these engines instead of the usual ones. */
  engineList?: Engine[];
  guests?: string[];
  log?: (line: string) => void;
}

export function peerEngines(options: PeerOptions): Engine[] {
  const log = options.log ?? (() => {});
  // the interpreter alone (the figures before the JIT), and with the JIT tier (docs/jit.md)
  const engines: Engine[] = [
    trapeze('trapeze', 'Trapeze', { cli: true, args: ['--jit', 'off'] }),
    trapeze('trapeze-jit', 'Trapeze JIT', { cli: true, args: ['--jit', 'on'] }),
  ];
  if (options.baselineWasm) {
    const path = options.baselineWasm;
    engines.push(trapeze('trapeze-before', `Trapeze (${path})`, { core: () => path }));
  } else if (options.baseline !== false) {
    const rev = options.baseline ?? DEFAULT_BASELINE;
    let built: string | undefined;
    engines.push(earlierTrapeze('trapeze-before', `Trapeze ${rev} (before)`, () => (built ??= baselineCli(ROOT, rev, log))));
  }
  engines.push(v86(true), v86(false), qemu());
  return engines;
}

export async function runPeers(options: PeerOptions = {}): Promise<PeerResult> {
  const log = options.log ?? (() => {});
  const repeat = options.repeat ?? (options.quick ? 1 : 3);
  let engines = options.engineList ?? peerEngines(options);
  if (options.engines) {
    const unknown = options.engines.filter((id) => !engines.some((e) => e.id === id));
    if (unknown.length) throw new TrapezeError(`unknown engine ${unknown.join(', ')} (engines: ${engines.map((e) => e.id).join(', ')})`);
    engines = engines.filter((e) => options.engines!.includes(e.id));
  }
  let workloads = [compute(options.quick ? 100 : 1600), pagestress(), vmexit(options.quick ? 2000 : 100000)];
  if (options.guests) {
    const unknown = options.guests.filter((id) => !workloads.some((w) => w.id === id));
    if (unknown.length) throw new TrapezeError(`unknown guest ${unknown.join(', ')} (guests: ${workloads.map((w) => w.id).join(', ')})`);
    workloads = workloads.filter((w) => options.guests!.includes(w.id));
  }
  const skipped = new Map(engines.map((e) => [e.id, e.missing()]));
  const live = engines.filter((e) => !skipped.get(e.id));
  for (const e of engines) if (skipped.get(e.id)) log(`${e.label}: SKIPPED (${skipped.get(e.id)})`);

  const result: PeerResult = {
    date: new Date().toISOString(), machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`, node: process.version, repeat,
    load: [loadavg()[0], 0],
    engines: engines.map((e) => ({ id: e.id, label: e.label, ...(skipped.get(e.id) ? { skipped: skipped.get(e.id) } : {}) })),
    startup: {}, workloads: [],
  };
  result.startup = await startups(live.filter((x) => x.startup), Math.max(repeat, 5), log);
  for (const w of workloads) {
    const cells = await measure(live, w, repeat, log);
    // every engine ran the same guest code: Trapeze's count gives each its MIPS
    const counted = Object.values(cells).find((c) => c.instructions !== undefined)?.instructions;
    for (const c of Object.values(cells)) {
      c.instructions ??= counted;
      if (c.seconds !== undefined && c.instructions !== undefined && !w.rdtsc) c.mips = c.instructions / c.seconds / 1e6;
    }
    result.workloads.push({ id: w.id, label: w.label, cells });
  }
  result.load[1] = loadavg()[0];
  return result;
}

// ---- the table ----
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
const fmtRatio = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)) + '×';

export function formatPeers(r: PeerResult): string {
  const out: string[] = [];
  const label = new Map(r.engines.map((e) => [e.id, e.label]));
  const width = Math.max(...r.engines.map((e) => e.label.length), 10) + 2;
  out.push(`Peers side by side — ${r.machine}, Node ${r.node}, ${r.date.slice(0, 10)}; medians of ${r.repeat} run${r.repeat > 1 ? 's' : ''} each`);
  out.push(`load average ${r.load[0].toFixed(1)} at the start, ${r.load[1].toFixed(1)} at the end${r.load[0] > cpus().length / 2 || r.load[1] > cpus().length / 2 ? ' — the machine was busy: compare ratios, not absolute figures' : ''}`);
  for (const e of r.engines) if (e.skipped) out.push(`  SKIPPED ${e.label}: ${e.skipped}`);
  out.push('');
  const startup = Object.entries(r.startup);
  if (startup.length) {
    out.push('startup: the whole process of the hello guest, from a cold start');
    out.push(`  ${pad('engine', width)}${lpad('seconds', 9)}  ${lpad('× Trapeze', 10)}`);
    const base = r.startup.trapeze?.seconds;
    for (const [id, s] of startup) {
      out.push(`  ${pad(label.get(id)!, width)}${s.seconds !== undefined
        ? `${lpad(s.seconds.toFixed(3), 9)}  ${lpad(base ? fmtRatio(s.seconds / base) : '—', 10)}`
        : `  refused: ${s.refused}`}`);
    }
    out.push('');
  }
  for (const w of r.workloads) {
    const base = w.cells.trapeze;
    const insns = Object.values(w.cells).find((c) => c.instructions)?.instructions;
    out.push(`${w.label}${insns ? ` — ${insns.toLocaleString('en-US')} instructions` : ''}, startup excluded`);
    if (w.id !== 'vmexit') {
      out.push(`  ${pad('engine', width)}${lpad('seconds', 9)}${lpad('MIPS', 9)}  ${lpad('speed × Trapeze', 16)}`);
      for (const [id, c] of Object.entries(w.cells)) {
        if (c.refused) { out.push(`  ${pad(label.get(id)!, width)}  REFUSED: ${c.refused}`); continue; }
        const ratio = base?.seconds && c.seconds ? fmtRatio(base.seconds / c.seconds) : '—';
        out.push(`  ${pad(label.get(id)!, width)}${lpad(c.seconds!.toFixed(3), 9)}${lpad(c.mips ? c.mips.toFixed(1) : '—', 9)}  ${lpad(ratio, 16)}`);
      }
    } else {
      // one column per engine: ns per iteration of each kind (the guest's RDTSC scaled to the wall clock), and its ratio to Trapeze's
      const ids = Object.keys(w.cells);
      for (const id of ids) if (w.cells[id].refused) out.push(`  ${label.get(id)}: REFUSED: ${w.cells[id].refused}`);
      const ok = ids.filter((id) => !w.cells[id].refused);
      const col = Math.max(...ok.map((id) => id.length), 12) + 6;
      out.push(`  ns per iteration (× Trapeze's), engines by id: ${ok.map((id) => `${id} = ${label.get(id)}`).join(', ')}`);
      out.push(`  ${pad('kind', 24)}${ok.map((id) => lpad(id, col)).join('')}`);
      const kinds = ok.length ? Object.keys(w.cells[ok[0]].nsPerIteration ?? {}) : [];
      for (const k of kinds) {
        const b = base?.nsPerIteration?.[k];
        out.push(`  ${pad(k, 24)}${ok.map((id) => {
          const v = w.cells[id].nsPerIteration?.[k];
          if (v === undefined) return lpad('—', col);
          return lpad(`${v.toFixed(0)}${id !== 'trapeze' && b ? ` (${fmtRatio(v / b)})` : ''}`, col);
        }).join('')}`);
      }
      out.push(`  ${pad('whole run, seconds', 24)}${ok.map((id) => lpad(w.cells[id].seconds!.toFixed(3), col)).join('')}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** The README's table: one row per engine, the startup, each guest's MIPS and ratio, and the vmexit guest's OUT, IN and CPUID. */
export function formatMarkdown(r: PeerResult): string {
  const w = (id: string) => r.workloads.find((x) => x.id === id);
  const compute = w('compute'), paging = w('pagestress'), exits = w('vmexit');
  const start = r.startup.trapeze?.seconds;
  const speed = (x: PeerResult['workloads'][number] | undefined, id: string) => {
    const c = x?.cells[id], b = x?.cells.trapeze;
    if (!c) return '—';
    if (c.refused) return 'refused';
    return `${c.mips!.toFixed(1)} (${b?.seconds ? fmtRatio(b.seconds / c.seconds!) : '—'})`;
  };
  const ns = (id: string, kind: string) => {
    const c = exits?.cells[id];
    return !c ? '—' : c.refused ? 'refused' : c.nsPerIteration?.[kind] !== undefined ? c.nsPerIteration[kind].toFixed(0) : '—';
  };
  const rows = [
    '| engine | `hello`, whole process, s (× Trapeze) | compute, MIPS (× Trapeze) | pagestress, MIPS (× Trapeze) | vmexit: OUT / IN / CPUID, ns per iteration |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const e of r.engines) {
    if (e.skipped) { rows.push(`| ${e.label} | skipped: ${e.skipped} | | | |`); continue; }
    const s = r.startup[e.id];
    const startup = s?.seconds !== undefined ? `${s.seconds.toFixed(3)} (${start ? fmtRatio(s.seconds / start) : '—'})` : s?.refused ? 'refused' : '—';
    rows.push(`| ${e.label} | ${startup} | ${speed(compute, e.id)} | ${speed(paging, e.id)} | ${ns(e.id, 'out')} / ${ns(e.id, 'in')} / ${ns(e.id, 'cpuid')} |`);
  }
  return rows.join('\n');
}

/** `npm run bench:peers [options]`. */
export async function main(argv: string[]): Promise<void> {
  try {
    const { values } = parseArgs({
      args: argv, strict: true,
      options: {
        quick: { type: 'boolean' }, repeat: { type: 'string' }, baseline: { type: 'string' }, 'baseline-wasm': { type: 'string' },
        'no-baseline': { type: 'boolean' }, engines: { type: 'string' }, guests: { type: 'string' }, json: { type: 'string' },
        markdown: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      process.stdout.write(`usage: npm run bench:peers -- [--quick] [--repeat N] [--baseline REV | --baseline-wasm FILE | --no-baseline]
                              [--engines ids] [--guests compute,pagestress,vmexit] [--json FILE] [--markdown]
Runs each guest on Trapeze, Trapeze before the speed work (the whole tree of ${DEFAULT_BASELINE} by default, built into .cache/),
v86 (JIT and interpreter) and QEMU TCG, each in its own process; prints times, MIPS and ratios to Trapeze.
`);
      return;
    }
    const repeat = values.repeat === undefined ? undefined : Number(values.repeat);
    if (repeat !== undefined && (!Number.isInteger(repeat) || repeat < 1)) throw new TrapezeError(`--repeat must be a whole number ≥ 1 (got "${values.repeat}")`);
    const result = await runPeers({
      quick: values.quick, repeat,
      baseline: values['no-baseline'] ? false : values.baseline, baselineWasm: values['baseline-wasm'],
      engines: values.engines?.split(','), guests: values.guests?.split(','),
      log: (line) => process.stderr.write(`bench:peers: ${line}\n`),
    });
    process.stdout.write(formatPeers(result) + '\n');
    if (values.markdown) process.stdout.write(`\n${formatMarkdown(result)}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
  } catch (e) {
    const message = e instanceof TrapezeError ? e.message : (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (e as Error).message : undefined;
    if (message === undefined) throw e;
    process.stderr.write(`bench:peers: ${message}\n`);
    process.exitCode = 2;
  }
}
