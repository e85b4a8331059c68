// One guest on Trapeze, in a process of its own, for `npm run bench:peers`:
// the guest's serial output goes to stdout as it comes (the parent stamps each
// line's arrival), and at the end one line on stderr gives the instructions
// retired when each line was written, so the parent knows how many
// instructions ran between two lines.
//   node trapeze-child.js <image> <cmdline> [--core <file.wasm>] [--host-clock]
// --core runs an earlier build of the core; --host-clock makes the TSC follow
// the host clock (the vmexit guest times itself with RDTSC).
import { createMachine, bootMultiboot } from '../../machine.js';
import { coreModuleFrom } from '../../core/core.js';
import { runWithHostClock } from '../host-clock.js';
import { CHILD_REPORT } from './engines.js';

const [image, cmdline, ...flags] = process.argv.slice(2);
const corePath = flags.includes('--core') ? flags[flags.indexOf('--core') + 1] : undefined;
const hostClock = flags.includes('--host-clock');

const lineInstructions: number[] = [];
let line: number[] = [];
const machine = createMachine({
  memoryMiB: 32,
  coreModule: corePath ? coreModuleFrom(corePath) : undefined,
  serial: (b) => {
    line.push(b);
    if (b !== 0x0a) return;
    // the byte left the core in an OUT exit: the count includes every instruction before it
    lineInstructions.push(machine.vm.vcpus[0].instructionsRetired);
    process.stdout.write(Buffer.from(line));
    line = [];
  },
});
bootMultiboot(machine, image, cmdline);
let status: number;
if (hostClock) {
  runWithHostClock(machine.vm, Number.MAX_SAFE_INTEGER);
  status = machine.vm.stopped?.status ?? 0;
} else {
  status = machine.vm.run().status;
}
if (line.length) process.stdout.write(Buffer.from(line));
process.stderr.write(`${CHILD_REPORT} ${JSON.stringify({ lineInstructions, instructions: machine.vm.vcpus[0].instructionsRetired })}\n`);
process.exitCode = status;
