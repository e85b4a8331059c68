// The exit kinds the trap benchmark measures. Each is a hand-assembled guest
// loop (machine code with its assembly alongside) that causes exactly the
// event per iteration, driven from the host the way a VMM drives KVM_RUN:
// enter the core, handle the exit with a device, enter again. Events that do
// not leave the core (a shadow miss, a PT-write trap, a vCPU switch) are
// measured as the difference between two loops with the same instructions,
// one with the event and one without.
import { Vm } from '../vm/vm.js';
import { ExitReason, COUNTER_NAMES } from '../core/layout.js';
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { MmioDevice } from '../vm/mmiobus.js';
import { flatGuest, DATA, TOUCH, IRQ_VECTOR, pteAddress } from './flat-guest.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { fileURLToPath } from 'node:url';

export const BENCH_PORT = 0x520;
export const BENCH_MMIO = 0xfebf0000;

/** A device that keeps what it is given, so the host really handles each access. */
class Sink implements PortDevice, MmioDevice {
  readonly name = 'bench-sink';
  last = 0;
  read(_at: number, _size: IoSize): number { return ++this.last; }
  write(_at: number, _size: IoSize, value: number): void { this.last = value; }
}

/** A guest loop and the host code that runs `iterations` of it per call. */
export interface Workload {
  vm: Vm;
  iterations: number;
  run(): void;
  /** The events this workload counts (exits of one reason, or a core counter) so far. */
  events(): number;
  /** Release what the workload holds (timers, instances). */
  close?(): void;
}

export interface ExitKind {
  kind: string;
  label: string;
  /** How the figure is obtained, for the table and the docs. */
  method: string;
  /** Events per loop iteration by construction (checked against the core's counters). */
  eventsPerIteration: number;
  make(): Workload;
  /** The same loop without the event; its cost per iteration is subtracted. */
  baseline?: () => Workload;
}

const exitCount = (vm: Vm, r: ExitReason) => () => vm.exitCounts[r];
const counter = (vm: Vm, name: (typeof COUNTER_NAMES)[number], v = 0) => () => vm.vcpus[v].counter(name);

/** One host round trip per call: enter, then let the VMM handle the exit. */
function exitLoop(code: number[], reason: ExitReason, setup: (vm: Vm) => void = () => {}): Workload {
  const vm = flatGuest(code);
  const sink = new Sink();
  vm.ports.register(sink, BENCH_PORT);
  vm.mmio.register(sink, BENCH_MMIO, 0x1000);
  const cpu = vm.vcpus[0];
  cpu.setReg('edx', BENCH_PORT);
  setup(vm);
  const enter = vm.core.exports.enter;
  return {
    vm, iterations: 1, events: exitCount(vm, reason),
    run() {
      const r = enter(0, 1_000_000);
      vm.exitCounts[r]++;
      if (r === ExitReason.Hlt) cpu.injectInterrupt(IRQ_VECTOR);
      vm.handleExit(cpu, r);
    },
  };
}

/** A loop that never exits: one call runs `iterations` passes of `insns` instructions each. */
function coreLoop(vm: Vm, insns: number, iterations: number, events: () => number): Workload {
  const enter = vm.core.exports.enter;
  const budget = insns * iterations;
  return { vm, iterations, events, run() { enter(0, budget); } };
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

// ---- the plain register instruction every cost is compared with ----
export const PLAIN_INSNS = 33; // 32 x add + jmp
export function plainLoop(): Workload {
  const code = [...Array(32).fill([0x01, 0xc8]).flat(), 0xeb, 0x100 - 66]; // L: add eax, ecx (x32); jmp L
  const vm = flatGuest(code);
  return coreLoop(vm, PLAIN_INSNS, 300, () => vm.vcpus[0].instructionsRetired);
}

// ---- CPUID answered in the core: the loop with it, and without ----
function cpuidLoop(withCpuid: boolean): Workload {
  const code = withCpuid ? [0x31, 0xc0, 0x0f, 0xa2, 0xeb, 0x100 - 6] : [0x31, 0xc0, 0xeb, 0x100 - 4];
  const vm = flatGuest(code);
  return coreLoop(vm, withCpuid ? 3 : 2, 300, () => vm.vcpus[0].instructionsRetired);
}

// ---- shadow paging: 16 loads after a CR3 reload, to 16 pages or to one ----
function touchLoop(distinctPages: boolean): Workload {
  const loads: number[] = [];
  for (let i = 0; i < 16; i++) loads.push(0x8b, 0x86, ...le32(distinctPages ? i * 0x1000 : 0)); // mov eax, [esi+disp32]
  const code = [0x0f, 0x22, 0xdb, ...loads, 0xeb, 0x100 - 101]; // L: mov cr3, ebx; 16 loads; jmp L
  const vm = flatGuest(code, { paging: true });
  vm.vcpus[0].setReg('ebx', vm.vcpus[0].get('cr3'));
  vm.vcpus[0].setReg('esi', TOUCH);
  return coreLoop(vm, 18, 64, counter(vm, 'shadowFills'));
}

// ---- PT write: store to a live PTE (and touch the page it maps), or to a plain page ----
function pteWriteLoop(toPageTable: boolean): Workload {
  // L: mov [edi], eax; mov ecx, [TOUCH]; jmp L
  const code = [0x89, 0x07, 0x8b, 0x0d, ...le32(TOUCH), 0xeb, 0x100 - 10];
  const vm = flatGuest(code, { paging: true });
  const cpu = vm.vcpus[0];
  cpu.setReg('edi', toPageTable ? pteAddress(TOUCH) : DATA);
  cpu.setReg('eax', TOUCH | 3); // the value the PTE already holds
  return coreLoop(vm, 3, 256, counter(vm, 'ptWriteTraps'));
}

// ---- vCPU switch: two vCPUs entered in turn, or one entered twice ----
function switchLoop(alternate: boolean): Workload {
  const code = [0x01, 0xc8, 0xeb, 0x100 - 4]; // L: add eax, ecx; jmp L
  const vm = flatGuest(code, { vcpus: 2 });
  let switches = 0;
  const enter = vm.core.exports.enter;
  const order = alternate ? [0, 1] : [0, 0];
  return {
    vm, iterations: 1, events: () => switches,
    run() {
      for (const v of order) enter(v, 4);
      if (alternate) switches += 2;
    },
  };
}

// ---- scheduler: two VMs sharing the CPU in short slices, or in one long slice ----
const SPIN = fileURLToPath(new URL('../../guest-images/spin.elf', import.meta.url));
export const SCHED_RUN = 100_000; // instructions per call: 1,000 dispatches in 100-instruction slices, 1 in a 100,000 slice
function schedulerLoop(slice: number): Workload {
  const hv = Hypervisor.fromConfig({
    sliceInstructions: slice,
    vms: [0, 1].map((i) => ({ name: `v${i}`, kernel: SPIN, cmdline: 'report=100000000', memoryMiB: 4 })),
  });
  hv.start();
  hv.runFor(1_000_000); // the kernels set up, their loops decoded
  const guests = [...hv.guests.values()];
  return {
    vm: guests[0].vm, iterations: 1,
    events: () => guests.reduce((n, g) => n + g.entity.dispatches, 0),
    run() { hv.runFor(SCHED_RUN); },
    close() { hv.close(); },
  };
}

export const EXIT_KINDS: ExitKind[] = [
  {
    kind: 'port-write', label: 'OUT to a host device', eventsPerIteration: 1,
    method: 'L: out dx, al; jmp L — each OUT exits and the VMM calls the device',
    make: () => exitLoop([0xee, 0xeb, 0xfd], ExitReason.Io),
  },
  {
    kind: 'port-read', label: 'IN from a host device', eventsPerIteration: 1,
    method: 'L: in al, dx; jmp L — the device answers, the core completes the IN on re-entry',
    make: () => exitLoop([0xec, 0xeb, 0xfd], ExitReason.Io),
  },
  {
    kind: 'rep-outsb', label: 'REP OUTSB x64 (one exit)', eventsPerIteration: 1,
    method: 'L: mov esi, buf; mov ecx, 64; rep outsb; jmp L — 64 bytes in one exit',
    make: () => exitLoop([0xbe, ...le32(DATA), 0xb9, ...le32(64), 0xf3, 0x6e, 0xeb, 0x100 - 14], ExitReason.Io),
  },
  {
    kind: 'mmio-read', label: 'MMIO read', eventsPerIteration: 1,
    method: 'L: mov eax, [0xFEBF0000]; jmp L — exit, device read, the load is replayed with the value',
    make: () => exitLoop([0xa1, ...le32(BENCH_MMIO), 0xeb, 0x100 - 7], ExitReason.Mmio),
  },
  {
    kind: 'mmio-write', label: 'MMIO write', eventsPerIteration: 1,
    method: 'L: mov [0xFEBF0000], eax; jmp L — exit with the data, device write',
    make: () => exitLoop([0xa3, ...le32(BENCH_MMIO), 0xeb, 0x100 - 7], ExitReason.Mmio),
  },
  {
    kind: 'hlt-wakeup', label: 'HLT + injected IRQ', eventsPerIteration: 1,
    method: 'L: sti; hlt; jmp L — HLT exits, the host injects vector 0x20, the guest takes it (IRET) and halts again',
    make: () => exitLoop([0xfb, 0xf4, 0xeb, 0xfc], ExitReason.Hlt),
  },
  {
    kind: 'cpuid', label: 'CPUID (in the core)', eventsPerIteration: 1,
    method: 'L: xor eax, eax; cpuid; jmp L minus L: xor eax, eax; jmp L — the core answers leaf 0 from the table the host set',
    make: () => cpuidLoop(true),
    baseline: () => cpuidLoop(false),
  },
  {
    kind: 'cpuid-exit', label: 'CPUID (exiting)', eventsPerIteration: 1,
    method: 'L: xor eax, eax; cpuid; jmp L with every CPUID sent to the host (as a tracer asks) — the host policy answers leaf 0',
    make: () => exitLoop([0x31, 0xc0, 0x0f, 0xa2, 0xeb, 0x100 - 6], ExitReason.Cpuid, (vm) => { vm.cpuidExits = true; }),
  },
  {
    kind: 'shadow-miss', label: 'shadow-page miss', eventsPerIteration: 15,
    method: 'mov cr3 then 16 loads from 16 pages, minus the same with 16 loads from one page: 15 misses (walk + fill) over hits',
    make: () => touchLoop(true),
    baseline: () => touchLoop(false),
  },
  {
    kind: 'pt-write', label: 'guest PT write trap', eventsPerIteration: 1,
    method: 'store to a live PTE and touch the page it maps, minus the same store to a plain page',
    make: () => pteWriteLoop(true),
    baseline: () => pteWriteLoop(false),
  },
  {
    kind: 'scheduler-switch', label: 'vCPU switch by the scheduler', eventsPerIteration: SCHED_RUN / 100 - 1,
    method: '2 spin VMs under the hypervisor\'s scheduler in 100-instruction slices minus one 100,000-instruction slice: a scheduling decision, an entry into the other VM\'s core, an exit',
    make: () => schedulerLoop(100),
    baseline: () => schedulerLoop(SCHED_RUN),
  },
  {
    kind: 'vcpu-switch', label: 'vCPU switch in the core', eventsPerIteration: 2,
    method: 'enter(0, 4); enter(1, 4) minus enter(0, 4) twice — the core-level switch (state swap, TLB flush)',
    make: () => switchLoop(true),
    baseline: () => switchLoop(false),
  },
];
