// The trapeze command line.
import { Command, InvalidArgumentError } from 'commander';
import { createMachine, bootMultiboot } from './machine.js';
import { TrapezeError } from './errors.js';
import { ExitStatus } from './vm/vm.js';

function parseMemory(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`memory size must be a whole number of MiB (got "${v}")`);
  const n = Number(v);
  if (n < 2) throw new InvalidArgumentError(`memory size must be at least 2 MiB (got ${n})`);
  if (n > 2048) throw new InvalidArgumentError(`memory size must be at most 2048 MiB (got ${n})`);
  return n;
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`expected a positive whole number (got "${v}")`);
  return Number(v);
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds (got "${v}")`);
  return n;
}

export function buildCli(): Command {
  const program = new Command();
  program
    .name('trapeze')
    .description('An x86 hardware-virtualization emulator: a WebAssembly CPU core and a TypeScript VMM.')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`trapeze: ${str.replace(/^error: /, '')}`) });

  program
    .command('run')
    .description('boot a multiboot kernel and run it until it stops')
    .argument('<image>', 'multiboot ELF32 kernel (or a.out-kludge image)')
    .option('-m, --memory <MiB>', 'guest RAM in MiB', parseMemory, 32)
    .option('--cmdline <text>', 'kernel command line passed in the multiboot information', '')
    .option('--max-instructions <n>', 'stop after this many guest instructions', parseCount)
    .option('--timeout <seconds>', 'stop after this much wall-clock time', parseSeconds)
    .option('--stats', 'print exit counts and counters when the guest stops')
    .action((image: string, opts) => {
      const out = process.stdout;
      const machine = createMachine({
        memoryMiB: opts.memory,
        serial: (b) => out.write(Buffer.of(b)),
      });
      bootMultiboot(machine, image, opts.cmdline);
      const started = process.hrtime.bigint();
      const stop = machine.vm.run({ maxInstructions: opts.maxInstructions, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (stop.kind !== 'debug-exit' && stop.kind !== 'halted') process.stderr.write(`trapeze: ${stop.message}\n`);
      if (opts.stats) printStats(machine.vm, seconds);
      process.exitCode = stop.status;
    });

  return program;
}

function printStats(vm: import('./vm/vm.js').Vm, seconds: number): void {
  const cpu = vm.vcpus[0];
  const insns = cpu.instructionsRetired;
  const lines = [
    `instructions retired: ${insns}`,
    `run time: ${(seconds * 1000).toFixed(1)} ms (${(insns / seconds / 1e6).toFixed(1)} MIPS)`,
    `exits: ${Object.entries(vm.exitStats()).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`,
    `counters: ${Object.entries(cpu.counters()).map(([k, v]) => `${k}=${v}`).join(' ')}`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<void> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof TrapezeError) {
      process.stderr.write(`trapeze: ${e.message}\n`);
      process.exitCode = ExitStatus.badInput;
      return;
    }
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      // help and version exit 0; usage errors were already printed by commander
      process.exitCode = ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version' || ce.code === 'commander.help' ? 0 : ExitStatus.badInput;
      return;
    }
    throw e;
  }
}
