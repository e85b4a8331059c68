// The trap benchmark in quick mode: every exit kind is measured with a
// positive cost, the exiting kinds exit exactly once per loop iteration, and
// the JSON/HTML views carry the figures.
import { describe, it, expect } from 'vitest';
import { runBench } from '../src/bench/suite.js';
import { EXIT_KINDS } from '../src/bench/exit-kinds.js';
import { toJson, toHtml, formatTable } from '../src/bench/report.js';

describe('trapeze bench (quick)', () => {
  const result = runBench({ quick: true, computeIterations: 100, vmexitIterations: 500 });
  const json = JSON.parse(toJson(result));

  it('has every exit kind with a positive cost and its ratio to a register instruction', () => {
    expect(json.exits.map((e: { kind: string }) => e.kind)).toEqual(EXIT_KINDS.map((k) => k.kind));
    expect(json.nsPerInstruction).toBeGreaterThan(0);
    for (const e of json.exits) {
      expect(e.nsPerExit, e.kind).toBeGreaterThan(0);
      expect(e.ratioToInstruction, e.kind).toBeCloseTo(e.nsPerExit / json.nsPerInstruction, 6);
    }
  });

  it('counts exactly one exit per iteration for the kinds that leave the core', () => {
    for (const kind of ['port-write', 'port-read', 'rep-outsb', 'mmio-read', 'mmio-write', 'hlt-wakeup', 'cpuid-exit']) {
      expect(json.exits.find((e: { kind: string }) => e.kind === kind).countedPerIteration, kind).toBe(1);
    }
    expect(json.exits.find((e: { kind: string }) => e.kind === 'vcpu-switch').countedPerIteration).toBe(2);
    // 100,000 instructions in 100-instruction slices against one slice: 999 more dispatches
    expect(json.exits.find((e: { kind: string }) => e.kind === 'scheduler-switch').countedPerIteration).toBe(999);
    // the core's own counters see the in-core events the loops were built to cause
    expect(json.exits.find((e: { kind: string }) => e.kind === 'shadow-miss').countedPerIteration).toBe(15);
    expect(json.exits.find((e: { kind: string }) => e.kind === 'pt-write').countedPerIteration).toBe(1);
    // CPUID answered in the core: one more instruction per iteration than the loop without it, no exit
    expect(json.exits.find((e: { kind: string }) => e.kind === 'cpuid').countedPerIteration).toBe(1);
  });

  it('reports instructions per second from the compute guest, with the checksum QEMU printed', () => {
    expect(json.instructionsPerSecond).toBeGreaterThan(1e6);
    expect(json.compute.checksum).toBe('A0D932E6');
    expect(json.compute.expectedChecksum).toBe('A0D932E6');
    expect(json.compute.instructions).toBeGreaterThan(28_000_000);
  });

  it('runs the vmexit guest with its TSC following the host clock', () => {
    const c = json.vmexitGuest.cyclesPerIteration;
    expect(Object.keys(c)).toEqual(expect.arrayContaining(['empty', 'out', 'in', 'rep-outsb-64', 'cpuid', 'mmio-read', 'mmio-write']));
    // an exit costs real time; the empty loop runs two instructions in the core
    expect(c.out).toBeGreaterThan(c.empty);
  });

  it('renders a table and a self-contained HTML page with one bar per measured kind', () => {
    expect(formatTable(result)).toMatch(/OUT to a host device\s+\d/);
    const html = toHtml(result);
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(html.match(/<rect /g)?.length).toBe(1 + result.exits.filter((e) => e.nsPerExit > 0).length);
  });
});
