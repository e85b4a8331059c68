// A PC under the hypervisor. Alone, a PC's time is its own: it advances as
// its vCPU retires instructions, and jumps ahead while the vCPU halts. Under
// the hypervisor every VM lives on the host's time instead: all clocks advance
// together by what the host ran (or by the host clock), so a VM that halts
// waits in host time, uses nothing meanwhile, and its timer wakes it when that
// time has passed. The hypervisor drives the clocks; this adapter takes the
// PC's hooks that would move time, or block the host, out of the VM's run loop.
import type { PlatformHooks } from '../vm/vm.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Pc } from '../platform/pc.js';
import { NS_PER_INSTRUCTION } from '../platform/clock.js';

export class HostedPlatform implements PlatformHooks {
  constructor(readonly pc: Pc) {}

  budgetLimit(vcpu: Vcpu): number { return this.pc.budgetLimit(vcpu); }
  /** Time moves for every VM at once (advance), not per VM. */
  retired(): void {}
  acknowledgeInterrupt(vcpu: Vcpu): number { return this.pc.acknowledgeInterrupt(vcpu); }
  interruptPending(vcpu: Vcpu): boolean { return this.pc.interruptPending(vcpu); }
  /** A halted vCPU just waits: the hypervisor runs others and wakes it when an interrupt comes. */
  idle(): boolean { return true; }
  ferr(vcpu: Vcpu): void { (this.pc as PlatformHooks).ferr?.(vcpu); }

  /** The host ran `instructions` (instruction clock) or time passed (wall clock): fire due timers. */
  advance(instructions: number): void {
    if (this.pc.clock.mode === 'virtual') this.pc.clock.retired(instructions);
    else this.pc.clock.fireDue();
    // a halted vCPU takes an interrupt its controllers now present, and so becomes runnable
    for (const v of this.pc.vm.vcpus) if (v.halted) this.pc.vm.offerInterrupt(v);
  }

  /** Host instructions until this VM's next timer (instruction clock); Infinity = none. */
  instructionsToNextEvent(): number {
    const c = this.pc.clock;
    if (c.mode !== 'virtual' || c.nextDeadline === Infinity) return Infinity;
    return Math.max(1, Math.ceil((c.nextDeadline - c.now()) / NS_PER_INSTRUCTION));
  }
}
