// The trapeze command line: each subcommand lives in src/commands/.
import { Command } from 'commander';
import { TrapezeError } from './errors.js';
import { ExitStatus } from './vm/vm.js';
import { registerRun } from './commands/run.js';
import { registerCtl } from './commands/ctl.js';
import { registerBench } from './commands/bench.js';
import { registerTrace } from './commands/trace.js';
import { registerConformance } from './commands/conformance.js';

export function buildCli(): Command {
  const program = new Command();
  program
    .name('trapeze')
    .description('An x86 hardware-virtualization emulator: a WebAssembly CPU core and a TypeScript VMM.')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`trapeze: ${str.replace(/^error: /, '')}`) });
  registerRun(program);
  registerCtl(program);
  registerBench(program);
  registerTrace(program);
  registerConformance(program);
  return program;
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
