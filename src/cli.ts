// The trapeze command line: each subcommand lives in src/commands/.
import './host/node/index.js'; // the CLI runs on the Node host
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TrapezeError, OutputClosed, OUTPUT_CLOSED_STATUS } from './errors.js';
import { ExitStatus } from './commands/outcome.js';

// Each subcommand's module, in the order --help lists them. Only the module of
// the command being run is loaded (all of them for the help or an unknown
// command): a short run's start is mostly loading modules.
const COMMANDS: [string, () => Promise<(program: Command) => void>][] = [
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['ctl', async () => (await import('./commands/ctl.js')).registerCtl],
  ['bench', async () => (await import('./commands/bench.js')).registerBench],
  ['trace', async () => (await import('./commands/trace.js')).registerTrace],
  ['conformance', async () => (await import('./commands/conformance.js')).registerConformance],
  ['serve', async () => (await import('./commands/serve.js')).registerServe],
];

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The command line; given `argv`, only the subcommand it names (when it names one). */
export async function buildCli(argv: string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('trapeze')
    .description('An x86 hardware-virtualization emulator: a WebAssembly CPU core and a TypeScript VMM.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`trapeze: ${str.replace(/^error: /, '')}`) });
  const named = COMMANDS.filter(([name]) => name === argv[2]);
  for (const [, load] of named.length ? named : COMMANDS) (await load())(program);
  return program;
}

/** A closed stdout or stderr (a pipe's reader left) ends the run quietly, never with a stack trace. */
function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
      process.exitCode = OUTPUT_CLOSED_STATUS;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedOutput();
  const program = await buildCli(argv);
  if (argv.length <= 2) { // no arguments: the help, as --help prints it
    process.stdout.write(program.helpInformation());
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof OutputClosed || (e as NodeJS.ErrnoException).code === 'EPIPE') { // (a direct write to fd 1: --debugcon)
      process.exitCode = OUTPUT_CLOSED_STATUS;
      return;
    }
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
