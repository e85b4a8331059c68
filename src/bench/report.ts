// The trap benchmark's three views: a terminal table, JSON for machines, and
// a self-contained HTML page with a bar chart of the cost per exit kind.
import type { BenchResult, ExitResult } from './suite.js';

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatTable(r: BenchResult): string {
  const rows = [['exit kind', 'ns/exit', '± (95%)', 'x insn', 'events/iter'], ...r.exits.map((e) => [
    e.label, fmt(e.nsPerExit), `${fmt(e.spreadNs)} (${fmt(e.spreadPercent, 0)}%)`, fmt(e.ratioToInstruction),
    e.countedPerIteration === null ? `${e.eventsPerIteration} (not counted)` : `${e.eventsPerIteration} (counted ${fmt(e.countedPerIteration, 2)})`,
  ])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const c = r.compute;
  const out = [
    `plain register instruction (add r32, r32): ${fmt(r.nsPerInstruction, 2)} ns (${fmt(1000 / r.nsPerInstruction, 0)} MIPS)`,
    '',
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `compute guest: ${fmt(r.instructionsPerSecond / 1e6)} MIPS — ${c.instructions.toLocaleString('en-US')} instructions in ${fmt(c.seconds * 1000)} ms, ` +
      `iterations=${c.iterations}, checksum=${c.checksum}${c.expectedChecksum ? (c.expectedChecksum === c.checksum ? ' (matches QEMU)' : ` (QEMU: ${c.expectedChecksum} — MISMATCH)`) : ''}`,
    '',
    `vmexit guest (iterations=${r.vmexitGuest.iterations}; TSC follows the host clock, 1 cycle = 1 ns):`,
    ...Object.entries(r.vmexitGuest.cyclesPerIteration).map(([k, v]) => `  ${k.padEnd(24)} ${String(v).padStart(6)} cycles/iter`),
  ];
  return out.join('\n') + '\n';
}

/** The JSON document `--json` writes. */
export function toJson(r: BenchResult): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A page with no outside resources: inline SVG bars, log scale so cheap and dear exits both show. */
export function toHtml(r: BenchResult): string {
  const bars = r.exits.filter((e) => e.nsPerExit > 0);
  const max = Math.max(...bars.map((e) => e.nsPerExit), r.nsPerInstruction);
  const labelW = 230, chartW = 520, rowH = 28, top = 10;
  const x = (ns: number) => (chartW * Math.log10(1 + ns)) / Math.log10(1 + max);
  const row = (e: Pick<ExitResult, 'label' | 'nsPerExit' | 'spreadNs' | 'ratioToInstruction'>, i: number, colour: string) => {
    const y = top + i * rowH;
    const w = Math.max(1, x(e.nsPerExit));
    const lo = x(Math.max(0, e.nsPerExit - e.spreadNs)), hi = x(e.nsPerExit + e.spreadNs);
    return `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(e.label)}</text>` +
      `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${colour}"><title>${fmt(e.nsPerExit)} ns ± ${fmt(e.spreadNs)}</title></rect>` +
      `<line x1="${(labelW + lo).toFixed(1)}" x2="${(labelW + hi).toFixed(1)}" y1="${y + 13}" y2="${y + 13}" stroke="#222"/>` +
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}">${fmt(e.nsPerExit)} ns (${fmt(e.ratioToInstruction)}x)</text>`;
  };
  const plain = { label: 'plain instruction', nsPerExit: r.nsPerInstruction, spreadNs: 0, ratioToInstruction: 1 };
  const rows = [row(plain, 0, '#9aa5b1'), ...bars.map((e, i) => row(e, i + 1, '#d9480f'))];
  const height = top + (bars.length + 1) * rowH + 10;
  const tableRows = r.exits.map((e) => `<tr><td>${esc(e.label)}</td><td>${fmt(e.nsPerExit)}</td><td>±${fmt(e.spreadNs)}</td><td>${fmt(e.ratioToInstruction)}</td><td>${esc(e.method)}</td></tr>`).join('\n');
  const guest = Object.entries(r.vmexitGuest.cyclesPerIteration).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trapeze trap overhead</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}svg text{font:12px system-ui,sans-serif}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}td:nth-child(n+2):not(:last-child){text-align:right}</style></head>
<body><h1>Trapeze: what each exit costs</h1>
<p>${esc(r.date)}, Node ${esc(r.node)}${r.quick ? ', quick mode (short samples)' : ''}. A plain register instruction costs ${fmt(r.nsPerInstruction, 2)} ns;
the compute guest runs at <b>${fmt(r.instructionsPerSecond / 1e6)} MIPS</b> (${r.compute.instructions.toLocaleString('en-US')} instructions, checksum ${r.compute.checksum}).</p>
<h2>ns per exit (log scale; whiskers: 95% margin of error)</h2>
<svg width="${labelW + chartW + 180}" height="${height}" role="img" aria-label="bar chart of ns per exit kind">${rows.join('')}</svg>
<h2>Figures</h2>
<table><tr><th>exit kind</th><th>ns/exit</th><th>spread</th><th>× instruction</th><th>how</th></tr>
${tableRows}</table>
<h2>vmexit guest (RDTSC inside the guest, TSC following the host clock: 1 cycle = 1 ns)</h2>
<table><tr><th>kind</th><th>cycles/iter</th></tr>
${guest}</table>
</body></html>
`;
}
