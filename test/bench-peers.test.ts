// `npm run bench:peers` on a short guest: Trapeze's figure with its
// instruction count and MIPS, an engine whose output is wrong refused with the
// reason, a missing engine skipped, never given a figure.
import { describe, it, expect } from 'vitest';
import { runPeers, formatPeers, formatMarkdown } from '../src/bench/peers/peers.js';
import { trapeze, type Engine } from '../src/bench/peers/engines.js';

// an "engine" that prints the compute guest's lines with a wrong checksum
const liar: Engine = {
  id: 'liar', label: 'Liar', missing: () => undefined,
  command: () => [process.execPath, '-e', 'console.log("iterations=100"); console.log("checksum=DEADBEEF")'],
};
const absent: Engine = { id: 'absent', label: 'Absent', missing: () => 'not installed here', command: () => ['false'] };

describe('bench:peers (quick)', async () => {
  const result = await runPeers({ quick: true, guests: ['compute'], engineList: [trapeze('trapeze', 'Trapeze'), liar, absent] });
  const cells = result.workloads[0].cells;

  it('times Trapeze on the compute guest, with the instructions it counted and its MIPS', () => {
    expect(cells.trapeze.refused).toBeUndefined();
    expect(cells.trapeze.instructions).toBeGreaterThan(28_000_000);
    expect(cells.trapeze.seconds).toBeGreaterThan(0);
    expect(cells.trapeze.mips).toBeCloseTo(cells.trapeze.instructions! / cells.trapeze.seconds! / 1e6, 6);
  });

  it('refuses the figure of an engine whose checksum differs from QEMU\'s', () => {
    expect(cells.liar.seconds).toBeUndefined();
    expect(cells.liar.refused).toMatch(/checksum=DEADBEEF, QEMU's recorded checksum is A0D932E6/);
    expect(formatPeers(result)).toMatch(/Liar +REFUSED: output differs/);
  });

  it('reports a missing engine as skipped and runs nothing for it', () => {
    expect(result.engines.find((e) => e.id === 'absent')?.skipped).toBe('not installed here');
    expect(cells.absent).toBeUndefined();
    expect(formatPeers(result)).toMatch(/SKIPPED Absent: not installed here/);
  });

  it('gives the README\'s table row by row: Trapeze\'s MIPS, the refusal, the skip', () => {
    const md = formatMarkdown(result).split('\n');
    expect(md.find((l) => l.startsWith('| Trapeze |'))).toContain(`${cells.trapeze.mips!.toFixed(1)} (1.0×)`);
    expect(md.find((l) => l.startsWith('| Liar |'))).toContain('refused');
    expect(md.find((l) => l.startsWith('| Absent |'))).toContain('skipped: not installed here');
  });
});
