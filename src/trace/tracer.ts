// `trapeze trace`: one line per event while a guest runs — each instruction
// (linear address and disassembly), each exit (reason and payload), each
// interrupt or exception delivered, each shadow-paging event (the MMU's own
// event channel, src/mmu/trace.ts). It runs the trace build of the core,
// whose hooks the normal build does not contain.
import { createMachine, bootMultiboot } from '../machine.js';
import { Pc } from '../platform/pc.js';
import { host } from '../host/platform.js';
import { choosePcBoot, bootPc, type PcBootOptions } from '../commands/pc-boot.js';
import { multibootModules } from '../commands/run-mode.js';
import type { Vm, StopInfo } from '../vm/vm.js';
import type { Vcpu } from '../vm/vcpu.js';
import { Exit, ExitReason, EXIT_REASON_NAMES, IO_BUFFER, TraceKind } from '../core/layout.js';
import { readLinear } from './linear.js';
import { disassemble } from './disassembler.js';
import { EXCEPTION_NAMES, describeStop } from '../commands/outcome.js';
import { traceMmu, formatMmuEvent } from '../mmu/trace.js';
import { TrapezeError } from '../errors.js';

export interface TraceOptions extends PcBootOptions {
  memoryMiB?: number;
  /** Event classes to show; all of them when none is chosen. */
  exits?: boolean;
  mmu?: boolean;
  irq?: boolean;
  /** Start showing at the first instruction at this linear address. */
  from?: number;
  /** Stop after this many lines. */
  count?: number;
  maxInstructions?: number;
}


const hex = (v: number, width = 0) => '0x' + (v >>> 0).toString(16).padStart(width, '0');
const addr = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

/** Options that boot a PC rather than the plain multiboot machine (as `trapeze run`). */
export function tracesPc(options: TraceOptions): boolean {
  return [options.disk, options.bios, options.boot, options.kernel].some((o) => o !== undefined);
}

/**
 * Run `image` (a multiboot kernel), or the PC the options describe (--disk,
 * --bios, --kernel, --boot), and pass each trace line to `emit`; returns how
 * the run ended.
 */
export function traceImage(image: string | undefined, options: TraceOptions, emit: (line: string) => void): StopInfo {
  const all = !options.exits && !options.mmu && !options.irq;
  const show = { insn: all, exit: all || !!options.exits, irq: all || !!options.irq, mmu: all || !!options.mmu };
  let started = options.from === undefined;
  let lines = 0;
  const limit = options.count ?? Infinity;
  let vm: Vm | undefined;
  const out = (line: string) => {
    if (!started || lines >= limit) return;
    emit(line);
    if (++lines >= limit) vm?.requestStop({ kind: 'stopped', reason: `trace stopped after ${limit} lines` });
  };

  const traceEvent = (kind: number, a: number, b: number, c: number) => {
    const cpu = vm!.vcpus[0];
    if (kind === TraceKind.Insn) {
      if (!started && a >>> 0 === options.from) started = true;
      if (!show.insn || !started) return;
      const eip = (a - cpu.segment('cs').base) >>> 0;
      const bytes = readLinear(vm!, a, b);
      out(`insn  ${addr(a)}  ${disassemble(bytes, eip, c ? 32 : 16)}`);
    } else if (kind === TraceKind.Interrupt) {
      if (show.irq) out(`irq   vector=${hex(a, 2)} taken, returns to eip=${hex(b, 8)}`);
    } else if (kind === TraceKind.Exception) {
      if (!show.irq) return;
      const name = EXCEPTION_NAMES[a] ?? `vector ${a}`;
      const extra = a === 14 ? ` cr2=${hex(cpu.get('cr2'), 8)}` : '';
      out(`fault ${name}${c ? ` error=${hex(b)}` : ''}${extra}`);
    }
  };

  let close = () => {};
  if (tracesPc(options)) {
    const boot = choosePcBoot(image, options);
    const pc = new Pc({ memoryMiB: options.memoryMiB ?? 32, trace: { traceEvent }, disks: host().openDiskImages(options.disk ?? [], options.snapshot ?? false) });
    close = () => pc.close();
    vm = pc.vm;
    try { bootPc(pc, boot, image, options); } catch (e) { close(); throw e; }
  } else {
    if (image === undefined) throw new TrapezeError('nothing to trace: give a multiboot image, --disk, --bios or --kernel');
    const machine = createMachine({ memoryMiB: options.memoryMiB ?? 32, trace: { traceEvent } });
    vm = machine.vm;
    bootMultiboot(machine, image, options.cmdline ?? '', multibootModules(options));
  }
  if (show.mmu) traceMmu(vm, (ev) => out(formatMmuEvent(ev)));
  // the core answers CPUID from its table; to show each one, CPUID leaves it
  if (show.exit) vm.cpuidExits = true;
  const traced = vm;
  if (show.exit) {
    vm.observeExits({ afterExit: (cpu, reason) => { if (reason !== ExitReason.None) out(`exit  ${describeExit(traced, cpu, reason)}`); } });
  }
  try {
    return vm.run({ maxInstructions: options.maxInstructions });
  } finally {
    close();
  }
}

/** An exit's reason and payload, after the host handled it (so an IN shows the value it got). */
export function describeExit(vm: Vm, cpu: Vcpu, reason: number): string {
  const v = vm.core.view;
  const u32 = (o: number) => v.getUint32(o, true);
  const name = EXIT_REASON_NAMES[reason] ?? `reason ${reason}`;
  switch (reason) {
    case ExitReason.Io: {
      const input = u32(Exit.ioDir) === 1, size = u32(Exit.ioSize), count = u32(Exit.ioCount);
      const head = `io ${input ? 'in' : 'out'} port=${hex(u32(Exit.ioPort), 4)} size=${size}`;
      if (count > 1) {
        const data = vm.core.bytes.subarray(IO_BUFFER, IO_BUFFER + Math.min(count * size, 16));
        return `${head} count=${count} data=${[...data].map((b) => b.toString(16).padStart(2, '0')).join(' ')}${count * size > 16 ? ' ...' : ''}`;
      }
      const data = u32(Exit.ioData) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
      const ch = size === 1 && data >= 0x20 && data < 0x7f ? ` '${String.fromCharCode(data)}'` : '';
      return `${head} data=${hex(data)}${ch}`;
    }
    case ExitReason.Mmio:
      return `mmio ${u32(Exit.mmioDir) === 1 ? 'read' : 'write'} addr=${hex(u32(Exit.mmioAddr), 8)} size=${u32(Exit.mmioSize)} data=${hex(u32(Exit.mmioData))}`;
    case ExitReason.Cpuid:
      return `cpuid leaf=${hex(u32(Exit.cpuidLeaf))} subleaf=${hex(u32(Exit.cpuidSubleaf))} -> eax=${hex(cpu.gpr(0))} ebx=${hex(cpu.gpr(3))} ecx=${hex(cpu.gpr(1))} edx=${hex(cpu.gpr(2))}`;
    case ExitReason.Msr:
      return `msr ${u32(Exit.msrDir) & 1 ? 'rdmsr' : 'wrmsr'} index=${hex(u32(Exit.msrIndex))}`;
    case ExitReason.Hlt:
      return `hlt at eip=${hex(cpu.eip, 8)}`;
    case ExitReason.Budget:
      return `budget (slice of ${u32(Exit.retired)} instructions spent)`;
    default:
      return `${name}${vm.stopped ? ` — ${describeStop(vm.stopped)}` : ''}`;
  }
}
