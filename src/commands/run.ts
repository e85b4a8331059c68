// `trapeze run <image>`: boot a multiboot kernel and run it until it stops.
// Only the options are defined here; each mode's modules load when it runs.
import type { Command } from 'commander';
import { TrapezeError } from '../errors.js';
import { writeStdout } from './output.js';
import { describeStop, exitStatus } from './outcome.js';
import type { Vm } from '../vm/vm.js';
import { parseMemory, parseCount, parseSeconds, parseCpus, parseCpuModel, parseOnOff } from './options.js';
import { StatusLine } from './status-line.js';
import { configMode, pcMode, collect, multibootModules } from './run-mode.js';
import type { RunConfigOptions } from './run-config.js';
import type { RunPcOptions } from './run-pc.js';
import type { ExitTimer } from '../stats/exit-timer.js';
import type { CounterName } from '../core/layout.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('boot a multiboot kernel (or a Linux bzImage with --kernel) and run it until it stops')
    .argument('[image]', 'multiboot ELF32 kernel (or a.out-kludge image)')
    .option('--kernel <bzImage>', 'boot a Linux bzImage by the Linux boot protocol')
    .option('--initrd <file>', 'initial ramdisk for --kernel; for a multiboot kernel, its first module')
    .option('--module <file[,args]>', 'multiboot module (repeatable); the kernel sees the string "file args" beside it', collect)
    .option('--append <cmdline>', 'kernel command line for --kernel', '')
    .option('-m, --memory <MiB>', 'guest RAM in MiB', parseMemory, 32)
    .option('--cmdline <text>', 'kernel command line passed in the multiboot information', '')
    .option('--max-instructions <n>', 'stop after this many guest instructions', parseCount)
    .option('--timeout <seconds>', 'stop after this much wall-clock time', parseSeconds)
    .option('--stats', 'print exit counts and counters when the guest stops')
    .option('--config <file>', 'run every VM of a hypervisor config file together (docs/hypervisor.md)')
    .option('--restore <file>', 'continue a VM from a snapshot file (trapeze ctl ... snapshot), as --config does')
    .option('--seconds <n>', 'with --config: stop after this long', parseSeconds)
    .option('--stats-json <file>', 'with --config: write per-VM figures and the Jain index here')
    .option('--api <socket>', 'with --config: serve the control API on this Unix socket')
    .option('--top', 'with --config: a live table per VM on stderr')
    .option('--trace-mmu', 'log each shadow fill, guest #PF, invalidation and flush to stderr')
    .option('--disk <file>', 'PC: a raw disk image on the IDE channel (give twice for master and slave)', collect)
    .option('--fw-cfg <item>', 'PC: a file in QEMU\'s fw_cfg directory, name=<name>,file=<path> or name=<name>,string=<text> (repeatable)', collect)
    .option('--cpus <n>', 'PC: this many vCPUs (1-16); the others wait for INIT/SIPI as APs do', parseCpus)
    .option('--boot <what>', 'PC: boot from the first disk\'s sector 0 (disk) or load the multiboot image (kernel)')
    .option('--bios <file>', 'PC: run this firmware ROM from F000:FFF0 instead of the built-in BIOS')
    .option('--screen', 'PC: show the CGA text screen on stderr')
    .option('--debugcon <file>', 'PC: bytes written to port 0xE9 go to this file (default: stdout)')
    .option('--snapshot', 'PC: disk writes go to a temporary overlay dropped at exit')
    .option('--clock <mode>', 'PC: virtual (from retired instructions, deterministic) or wall time')
    .option('--testdev', 'PC: add QEMU\'s pc-testdev (ports 0xE0-0xE7, 0x2000-0x2017, memory at 0xFF000000), as kvm-unit-tests expect')
    .option('--cpu <model>', 'CPU model: p6 (default, no SSE) or sse (adds FXSR/SSE/SSE2 state and the XMM moves; docs/cpu.md)', parseCpuModel)
    .option('--jit <on|off>', 'compile hot guest code to WebAssembly (docs/jit.md)', parseOnOff)
    .action(async (image: string | undefined, opts, cmd: Command) => {
      if (opts.jit !== undefined) (await import('../core/jit.js')).setJitDefault(opts.jit);
      if (configMode(image, opts, cmd)) return (await import('./run-config.js')).runConfig(opts as RunConfigOptions);
      if (opts.kernel !== undefined && image !== undefined) throw new TrapezeError('give either a multiboot image or --kernel, not both');
      if (opts.kernel !== undefined && opts.module !== undefined) throw new TrapezeError('--module is for multiboot kernels; a bzImage takes --initrd');
      if (image === undefined && opts.kernel === undefined && (opts.initrd !== undefined || opts.module !== undefined)) {
        throw new TrapezeError(`${opts.initrd !== undefined ? '--initrd' : '--module'} needs a kernel (a multiboot image or --kernel)`);
      }
      // Linux needs a PC's timers and interrupt controllers (stdin is typed into COM1)
      if (pcMode(opts) || opts.kernel !== undefined) return (await import('./run-pc.js')).runPc(image, opts as RunPcOptions);
      if (image === undefined) throw new TrapezeError('nothing to run: give a multiboot image, --kernel <bzImage>, --disk <image> or --config <file> (trapeze run --help)');
      const { createMachine, bootMultiboot } = await import('../machine.js');
      // eslint-disable-next-line prefer-const -- assigned once the machine exists: its serial callback reads it
      let status: StatusLine | undefined;
      const machine = createMachine({ memoryMiB: opts.memory, serial: (b) => { status?.beforeOutput(b); writeStdout(Buffer.of(b)); } });
      if (opts.cpu) machine.vm.cpuid.features |= opts.cpu;
      bootMultiboot(machine, image, opts.cmdline, multibootModules(opts));
      if (opts.traceMmu) {
        const { traceMmu, formatMmuEvent } = await import('../mmu/trace.js');
        traceMmu(machine.vm, (ev) => process.stderr.write(formatMmuEvent(ev) + '\n'));
      }
      const timer = opts.stats ? new (await import('../stats/exit-timer.js')).ExitTimer(machine.vm) : undefined;
      status = StatusLine.forTerminal(machine.vm);
      const stop = machine.vm.run({ maxInstructions: opts.maxInstructions, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined, onTick: status?.tick });
      status?.clear();
      if (stop.kind !== 'debug-exit' && stop.kind !== 'halted') process.stderr.write(`trapeze: ${describeStop(stop)}\n`);
      if (timer) printStats(machine.vm, timer);
      process.exitCode = exitStatus(stop);
    });
}

/** The figures of every vCPU together (the JIT's share is of all of them). */
export function printStats(vm: Vm, timer: ExitTimer): void {
  const insns = vm.instructionsRetired;
  const counters = vm.vcpus[0].counters();
  for (const v of vm.vcpus.slice(1)) {
    const c = v.counters();
    for (const k of Object.keys(counters) as CounterName[]) counters[k] += c[k];
  }
  const lines = [
    ...timer.format(insns),
    ...(vm.vcpus.length > 1 ? [`vcpus:       ${vm.vcpus.map((v) => `${v.index}: ${v.instructionsRetired.toLocaleString('en-US')}`).join(', ')} instructions`] : []),
    ...counterLines(counters),
    jitLine(vm, insns),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

// The vCPU's counters, grouped by what they teach.
const COUNTER_GROUPS: [string, [CounterName, string][]][] = [
  ['shadow MMU', [['shadowFills', 'fills'], ['guestWalks', 'guest walks'], ['guestPageFaults', 'guest #PF'],
    ['ptWriteTraps', 'PT-write traps'], ['ptWriteDrops', 'entries dropped by PT writes']]],
  ['flushes', [['flushCr3', 'CR3'], ['flushInvlpg', 'INVLPG'], ['flushCr0Cr4', 'CR0/CR4'], ['flushFull', 'full'],
    ['globalsKept', 'global entries kept']]],
  ['code', [['blocksDecoded', 'blocks decoded'], ['pairsFused', 'flag setter + Jcc pairs fused'], ['jumpsOver', 'Jccs over one instruction, run branch-free'], ['codeInvalidations', 'pages invalidated by writes']]],
  ['delivered', [['exceptions', 'exceptions'], ['interrupts', 'interrupts']]],
];

/** The JIT's figures: regions compiled, compile time, invalidations, share of instructions run compiled. */
export function jitLine(vm: Vm, instructions: number): string {
  if (!vm.jitOn) return `${'jit:'.padEnd(12)} off`;
  const j = vm.core.jit.stats();
  const share = instructions > 0 ? (100 * j.instructions / instructions).toFixed(1) : '0.0';
  return `${'jit:'.padEnd(12)} regions=${j.regions} (batches=${j.batches}, ${j.compileMs.toFixed(1)} ms` +
    (j.offThread ? `, ${j.offThread} on the compile thread in ${j.offThreadMs.toFixed(1)} ms` : '') + `, blocks taken in=${j.members}), invalidated=${j.invalidated}, restored=${j.restored}, ` +
    `not compiled=${j.rejected}, exit-bound=${j.exitBound}, demoted=${j.demoted}, instructions compiled=${j.instructions} (${share}%)` +
    (j.errors ? `, modules refused=${j.errors} (${j.firstError})` : '');
}

function counterLines(counters: Record<CounterName, number>): string[] {
  return COUNTER_GROUPS.map(([group, items]) => `${`${group}:`.padEnd(12)} ${items.map(([name, label]) => `${label}=${counters[name]}`).join(', ')}`);
}

