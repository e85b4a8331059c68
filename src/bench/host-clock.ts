// Runs a VM with its time-stamp counter following the host clock (1 cycle =
// 1 ns), so a guest that times itself with RDTSC — the vmexit image — reports
// wall-clock costs. Between exits the TSC advances by one per instruction;
// at every exit (and at least every SLICE instructions) the host moves it to
// the wall clock, never backwards. The clock is read every CLOCK_EVERY exits
// (and on every budget exit), so reading it adds little to what is measured.
import type { Vm } from '../vm/vm.js';
import { State, Exit, ExitReason } from '../core/layout.js';

const SLICE = 2000;
const CLOCK_EVERY = 64;
const TWO32 = 2 ** 32;

export function runWithHostClock(vm: Vm, maxInstructions: number): void {
  const cpu = vm.vcpus[0];
  const view = vm.core.view;
  const at = vm.core.exports.stateOffset(0);
  const start = performance.now();
  let instret = cpu.instructionsRetired;
  let done = 0;
  let exits = 0;
  while (!vm.stopped && done < maxInstructions) {
    const reason = vm.core.exports.enter(0, SLICE);
    const retired = view.getUint32(Exit.retired, true);
    instret += retired;
    done += retired;
    vm.exitCounts[reason]++;
    vm.handleExit(cpu, reason);
    if (++exits % CLOCK_EVERY !== 0 && reason !== ExitReason.Budget) continue;
    // TSC = instret + offset: keep the sum at max(now, what the guest has seen)
    const offset = view.getUint32(at + State.tsc, true) + view.getUint32(at + State.tsc + 4, true) * TWO32;
    const now = Math.round((performance.now() - start) * 1e6);
    const tsc = Math.max(now, instret + offset);
    const next = tsc - instret;
    view.setUint32(at + State.tsc, next % TWO32, true);
    view.setUint32(at + State.tsc + 4, Math.floor(next / TWO32), true);
  }
}
