// The hypervisor benchmark: what scheduling costs. Per dispatch (one vCPU
// switch: a scheduling decision, an entry into the core, an exit), measured
// against the same machine run in long slices, for a switch between VMs
// (separate core instances) and between the vCPUs of one VM (the core swaps
// state blocks and flushes the soft TLB). Then the throughput of N identical
// VMs against one, as ratios. Each figure is the best of several samples (the
// host is shared: the fastest sample has the least interference), and each
// sample checks that the VMs really ran the instructions counted.
import { Hypervisor, type Guest } from '../hypervisor/hypervisor.js';
import { TrapezeError } from '../errors.js';

const SPIN = new URL('../../guest-images/spin.elf', import.meta.url).pathname;
// real mode at 0x30000: inc eax; jmp $-2 (what the second vCPU runs)
const AP_LOOP = Uint8Array.of(0x66, 0x40, 0xeb, 0xfc);

export interface HypervisorBenchResult {
  instructionsPerSample: number;
  /** ns per instruction with long slices (the baseline). */
  baselineNsPerInsn: number;
  /** Measured with 100-instruction slices, against the same machine in long slices. */
  nsPerSwitchBetweenVms: number;
  nsPerSwitchBetweenVcpus: number;
  /** What that cost is, as a share of the time, for common slice lengths. */
  overheadAtSlice: { slice: number; betweenVms: number; betweenVcpus: number }[];
  throughput: { vms: number; mips: number; ratio: number }[];
}

function machine(vms: number, vcpus: number, slice: number): Hypervisor {
  const hv = Hypervisor.fromConfig({
    sliceInstructions: slice,
    vms: Array.from({ length: vms }, (_, i) => ({ name: `v${i}`, kernel: SPIN, cmdline: 'report=100000000', memoryMiB: 4, vcpus })),
  });
  hv.start();
  for (const g of hv.guests.values()) {
    if (vcpus < 2) continue;
    g.vm.writePhys(0x30000, AP_LOOP);
    g.vm.startupVcpu(1, 0x30);
  }
  hv.runFor(2_000_000); // warm: kernel set up, blocks decoded
  return hv;
}

/** ns and dispatches for `instructions` guest instructions; checks they ran. */
function sample(hv: Hypervisor, instructions: number): { ns: number; dispatches: number } {
  const sum = (f: (g: Guest) => number) => [...hv.guests.values()].reduce((a, g) => a + f(g), 0);
  const d0 = sum((g) => g.entity.dispatches), i0 = sum((g) => g.vm.instructionsRetired);
  const t0 = process.hrtime.bigint();
  const ran = hv.runFor(instructions);
  const ns = Number(process.hrtime.bigint() - t0);
  if (sum((g) => g.vm.instructionsRetired) - i0 !== ran || ran < instructions) throw new TrapezeError(`benchmark: expected ${instructions} instructions to run`);
  return { ns: (ns * instructions) / ran, dispatches: ((sum((g) => g.entity.dispatches) - d0) * instructions) / ran };
}

/**
 * Sample several machines in turns, `rounds` times, keeping each one's best:
 * taking turns spreads the host's background load evenly over all of them.
 */
function bestOf(machines: Hypervisor[], instructions: number, rounds: number): { ns: number; dispatches: number }[] {
  const best = machines.map(() => ({ ns: Infinity, dispatches: 0 }));
  for (let r = 0; r < rounds; r++) {
    machines.forEach((hv, i) => {
      const s = sample(hv, instructions);
      if (s.ns < best[i].ns) best[i] = s;
    });
  }
  for (const hv of machines) hv.close();
  return best;
}

export function runHypervisorBench(options: { quick?: boolean } = {}): HypervisorBenchResult {
  const insns = options.quick ? 2_000_000 : 10_000_000;
  const rounds = options.quick ? 3 : 7;
  const long = 1_000_000, short = 100;

  const [vmsLong, vmsShort, cpusLong, cpusShort] = bestOf(
    [machine(2, 1, long), machine(2, 1, short), machine(1, 2, long), machine(1, 2, short)], insns, rounds);
  const perSwitch = (a: { ns: number; dispatches: number }, b: { ns: number; dispatches: number }) => (b.ns - a.ns) / (b.dispatches - a.dispatches);
  const betweenVms = perSwitch(vmsLong, vmsShort), betweenVcpus = perSwitch(cpusLong, cpusShort);
  const baseline = vmsLong.ns / insns;
  const share = (cost: number, slice: number) => cost / (cost + slice * baseline);

  const counts = options.quick ? [1, 2, 4] : [1, 2, 4, 8];
  const runs = bestOf(counts.map((n) => machine(n, 1, 100_000)), insns, rounds);
  const mips = runs.map((r) => (insns / r.ns) * 1000);
  return {
    instructionsPerSample: insns,
    baselineNsPerInsn: baseline,
    nsPerSwitchBetweenVms: betweenVms,
    nsPerSwitchBetweenVcpus: betweenVcpus,
    overheadAtSlice: [1_000, 10_000, 100_000].map((slice) => ({ slice, betweenVms: share(betweenVms, slice), betweenVcpus: share(betweenVcpus, slice) })),
    throughput: counts.map((vms, i) => ({ vms, mips: mips[i], ratio: mips[i] / mips[0] })),
  };
}

export function formatHypervisorBench(r: HypervisorBenchResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const lines = [
    `hypervisor benchmark (spin guest, ${r.instructionsPerSample.toLocaleString('en-US')} instructions per sample, best of several rounds taken in turns)`,
    `baseline: ${r.baselineNsPerInsn.toFixed(2)} ns per instruction with slices of up to 1,000,000 instructions (${(1000 / r.baselineNsPerInsn).toFixed(1)} MIPS)`,
    '',
    'one vCPU switch (a scheduling decision, an entry and an exit), from 100-instruction slices:',
    `  between 2 VMs:               ${r.nsPerSwitchBetweenVms.toFixed(0)} ns`,
    `  between 2 vCPUs of one VM:   ${r.nsPerSwitchBetweenVcpus.toFixed(0)} ns (state blocks swapped, soft TLB flushed)`,
    '  share of the host time it takes:',
    '    slice (insns)   between VMs   between vCPUs',
    ...r.overheadAtSlice.map((o) => `    ${o.slice.toLocaleString('en-US').padStart(13)}   ${pct(o.betweenVms).padStart(11)}   ${pct(o.betweenVcpus).padStart(13)}`),
    '',
    'throughput of N identical CPU-bound VMs (100,000-instruction slices) against one:',
    '  VMs    MIPS   ratio to 1 VM',
    ...r.throughput.map((t) => `  ${String(t.vms).padStart(3)}  ${t.mips.toFixed(1).padStart(6)}   ${t.ratio.toFixed(3)}`),
  ];
  return lines.join('\n') + '\n';
}
