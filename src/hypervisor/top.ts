// `--top`: a table per VM, redrawn every second: state, the CPU share it is
// entitled to against what it received, and its instruction and exit rates.
import type { HypervisorStats } from './hypervisor.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function rate(perSecond: number): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)}G`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

const total = (exits: Record<string, number>) => Object.values(exits).reduce((a, b) => a + b, 0);

/** The table for `now`, with rates over the `seconds` since `before`. */
export function formatTop(before: HypervisorStats | undefined, now: HypervisorStats, seconds: number): string {
  const rows = [['VM', 'STATE', 'SHARES', 'CAP', 'ENTITLED', 'RECEIVED', 'FAIRNESS', 'INSNS/S', 'EXITS/S', 'VIOLATIONS']];
  for (const v of now.vms) {
    const prev = before?.vms.find((p) => p.name === v.name);
    const dInsns = v.instructions - (prev?.instructions ?? 0);
    const dExits = total(v.exits) - total(prev?.exits ?? {});
    rows.push([
      v.name, v.state, String(v.shares), v.capPercent === null ? '-' : `${v.capPercent}%`,
      pct(v.shareEntitled), pct(v.shareReceived), v.fairness.toFixed(3),
      rate(dInsns / seconds), rate(dExits / seconds),
      String(Object.values(v.violations).reduce((a, b) => a + b, 0)),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  lines.push(`Jain's index ${now.jainIndex.toFixed(4)}   clock: ${now.clock}`);
  return lines.join('\n');
}
