// One guest on Trapeze, in a process of its own, for `npm run bench:peers`:
// the guest's serial output goes to stdout as it comes (the parent stamps each
// line's arrival), and at the end one line on stderr gives the instructions
// retired when each line was written, so the parent knows how many
// instructions ran between two lines.
//   node trapeze-child.js <image> <cmdline> [--core <file.wasm>] [--host-clock] [--warmup <cmdline>] [--jit on|off]
// --core runs an earlier build of the core; --host-clock makes the TSC follow
// the host clock (the vmexit guest times itself with RDTSC); --warmup runs the
// image once with that command line first (output discarded), so V8 has
// optimized the core before the timed run.
import '../../host/node/index.js';
import { createMachine, bootMultiboot, type Machine } from '../../machine.js';
import { coreModuleFrom } from '../../core/core.js';
import { runWithHostClock } from '../host-clock.js';
import { CHILD_REPORT } from './engines.js';
import { exitStatus } from '../../commands/outcome.js';

const [image, cmdline, ...flags] = process.argv.slice(2);
const option = (name: string) => flags.includes(name) ? flags[flags.indexOf(name) + 1] : undefined;
const corePath = option('--core');
const hostClock = flags.includes('--host-clock');
const warmup = option('--warmup');
const jit = option('--jit') === undefined ? undefined : { on: option('--jit') === 'on' };
const coreModule = corePath ? coreModuleFrom(corePath) : undefined;

/** Run the image with `args`; `serial` gets each byte. Returns the exit status. */
function run(args: string, serial: (machine: Machine, b: number) => void): { machine: Machine; status: number } {
  const machine: Machine = createMachine({ memoryMiB: 32, coreModule, jit, serial: (b) => serial(machine, b) });
  bootMultiboot(machine, image, args);
  if (!hostClock) return { machine, status: exitStatus(machine.vm.run()) };
  runWithHostClock(machine.vm, Number.MAX_SAFE_INTEGER);
  return { machine, status: machine.vm.stopped ? exitStatus(machine.vm.stopped) : 0 };
}

if (warmup !== undefined) run(warmup, () => {});
const lineInstructions: number[] = [];
let line: number[] = [];
const { machine, status } = run(cmdline, (m, b) => {
  line.push(b);
  if (b !== 0x0a) return;
  // the byte left the core in an OUT exit: the count includes every instruction before it
  lineInstructions.push(m.vm.vcpus[0].instructionsRetired);
  process.stdout.write(Buffer.from(line));
  line = [];
});
if (line.length) process.stdout.write(Buffer.from(line));
process.stderr.write(`${CHILD_REPORT} ${JSON.stringify({ lineInstructions, instructions: machine.vm.vcpus[0].instructionsRetired })}\n`);
process.exitCode = status;
