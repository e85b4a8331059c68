// `trapeze trace <image>`: stream one line per event while a guest runs.
import type { Command } from 'commander';
import { writeStdout } from './output.js';
import { describeStop, exitStatus } from './outcome.js';
import { InvalidArgumentError } from 'commander';
import { parseMemory, parseCount } from './options.js';
import { collect } from './run-mode.js';

function parseAddress(v: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n > 0xffffffff) throw new InvalidArgumentError(`expected a linear address such as 0x100000 (got "${v}")`);
  return n;
}

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description('run a guest as `trapeze run` would and print each instruction, exit, interrupt and MMU event')
    .argument('[image]', 'multiboot ELF32 kernel')
    .option('-m, --memory <MiB>', 'guest RAM in MiB', parseMemory, 32)
    .option('--cmdline <text>', 'kernel command line', '')
    .option('--module <file[,args]>', 'multiboot module (repeatable)', collect)
    .option('--disk <file>', 'PC: a raw disk image on the IDE channel (twice: master and slave); boots its sector 0', collect)
    .option('--snapshot', 'PC: disk writes go to a temporary overlay dropped at exit')
    .option('--bios <file>', 'PC: run this firmware ROM from F000:FFF0')
    .option('--boot <what>', 'PC: disk, or kernel (the multiboot image on the PC)')
    .option('--kernel <bzImage>', 'PC: a Linux bzImage by the Linux boot protocol')
    .option('--initrd <file>', 'initial ramdisk for --kernel; for a multiboot kernel, its first module')
    .option('--append <cmdline>', 'kernel command line for --kernel', '')
    .option('--exits', 'show exits (with the others chosen; all events when none is)')
    .option('--mmu', 'show shadow-paging events: fills, guest page faults, drops, flushes')
    .option('--irq', 'show interrupts and exceptions delivered to the guest')
    .option('--from <addr>', 'start at the first instruction at this linear address', parseAddress)
    .option('--count <n>', 'stop after this many lines', parseCount)
    .option('--max-instructions <n>', 'stop after this many guest instructions', parseCount)
    .action(async (image: string | undefined, opts) => {
      // the trace core and the disassembler (iced-x86) load only for this command
      const { traceImage } = await import('../trace/tracer.js');
      const pending: string[] = [];
      const flush = () => { if (pending.length) writeStdout(pending.join('\n') + '\n'); pending.length = 0; };
      const stop = traceImage(image, { ...opts, memoryMiB: opts.memory }, (line) => {
        pending.push(line);
        if (pending.length >= 512) flush();
      });
      flush();
      process.stderr.write(`trapeze: ${describeStop(stop)}\n`);
      process.exitCode = exitStatus(stop);
    });
}
