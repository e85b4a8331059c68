// The MMU benchmark in quick mode: each loop did what its name says (the
// benchmark checks its loops against the core's counters and refuses to print
// otherwise), and the table carries every figure with its ratio to a TLB hit.
import { describe, it, expect } from 'vitest';
import { runMmuBench, formatMmuBench, medianWithSpread } from '../src/bench/mmu.js';

describe('MMU benchmark (quick)', () => {
  const r = runMmuBench({ quick: true });

  it('measures each event against a TLB-hit load of the same run', () => {
    expect(r.figures.map((f) => f.name)).toEqual([
      'TLB-hit load', 'shadow miss (walk + fill)', 'page touch after a CR3 flush',
      'CR3 switch (flush + refill code, data)', 'PT-write trap, no entry to drop', 'PT-write trap + drop + refill',
    ]);
    expect(r.hitNs).toBeGreaterThan(0);
    for (const f of r.figures) expect(f.ratioToHit, f.name).toBeCloseTo(f.ns / r.hitNs, 6);
  });

  it('gives each figure a median and its 95% interval, and flags one whose interval is wider than itself', () => {
    expect(medianWithSpread([1, 2, 3, 4, 100])).toEqual({ ns: 3, spreadNs: (1.57 * (4 - 2)) / Math.sqrt(5) });
    for (const f of r.figures) expect(f.reliable, f.name).toBe(f.spreadNs < Math.abs(f.ns));
    const shaky = { ...r, figures: r.figures.map((f, i) => (i === 3 ? { ...f, ns: 25.5, spreadNs: 376.6, reliable: false } : f)) };
    expect(formatMmuBench(shaky)).toMatch(/^CR3 switch \(flush \+ refill code, data\) +25\.5 +376\.6 +[-\d.,]+ +UNRELIABLE$/m);
    expect(formatMmuBench(shaky)).toContain('UNRELIABLE: the 95% interval is wider than the figure');
  });

  it('runs pagestress to the end and reports its counters', () => {
    expect(r.pagestress.touches).toBe(100_000);
    expect(r.pagestress.counters.flushCr3).toBe(1568);
    expect(r.pagestress.counters.ptWriteTraps).toBe(780);
    const table = formatMmuBench(r);
    expect(table).toMatch(/^page touch after a CR3 flush +\d/m);
    expect(table).toMatch(/^pagestress: 100,000 touches/m);
  });
});
