// Helpers for the hypervisor tests: VMs of the spin/sleeper guests, and the
// machine's bytes (RAM, vCPU state blocks, exit record) for comparisons.
import { Hypervisor, type HypervisorOptions } from '../../src/hypervisor/hypervisor.js';
import { RAM_BASE, State } from '../../src/core/layout.js';
import type { Vm } from '../../src/vm/vm.js';

export const SPIN = 'guest-images/spin.elf';
export const SLEEPER = 'guest-images/sleeper.elf';

export function spinVm(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, kernel: SPIN, cmdline: 'report=1000000', memoryMiB: 4, ...extra };
}

export function hypervisor(vms: Record<string, unknown>[], options: HypervisorOptions & { sliceInstructions?: number } = {}): Hypervisor {
  const hv = Hypervisor.fromConfig({ vms, sliceInstructions: options.sliceInstructions ?? 50_000 }, options);
  hv.start();
  return hv;
}

/**
 * Everything the guest can see: RAM and each vCPU's state block up to the
 * host's statistics counters (a restored core decodes its code afresh, so
 * blocksDecoded differs; the guest cannot see it).
 */
export function machineBytes(vm: Vm): Uint8Array {
  const parts = [vm.core.bytes.slice(RAM_BASE, RAM_BASE + vm.ramBytes)];
  for (const v of vm.vcpus) {
    const at = vm.core.exports.stateOffset(v.index);
    parts.push(vm.core.bytes.slice(at, at + State.counters));
  }
  return Buffer.concat(parts);
}

/** Run one VM's vCPU 0 until it has retired exactly `target` instructions. */
export function runTo(vm: Vm, target: number): void {
  const v = vm.vcpus[0];
  while (!vm.stopped && v.instructionsRetired < target) vm.runSlice(v, Math.min(50_000, target - v.instructionsRetired));
}
