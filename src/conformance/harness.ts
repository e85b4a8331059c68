// Runs one conformance test on a reused VM: loads the initial real-mode state
// and RAM, runs until the HLT exit, then clears the bytes the test touched.
import { Vm } from '../vm/vm.js';
import type { Vcpu, SegName } from '../vm/vcpu.js';
import { ExitReason, EXIT_REASON_NAMES, Exit, ERROR_MESSAGES, RAM_BASE } from '../core/layout.js';
import type { ConformanceTest } from './suite.js';

/** Addresses reach 0x10FFEF (no wrap at 1 MiB); 17 MiB covers a 16 MiB machine with room. */
const RAM_MIB = 17;
/** Instructions before a test counts as runaway: one instruction, its handler's HLT, a REP of at most 127. */
const MAX_INSTRUCTIONS = 1000;
const GPRS = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
const SEGMENTS = ['es', 'cs', 'ss', 'ds'] as const;

export type RunOutcome = { halted: true } | { halted: false; why: string };

export class Harness {
  readonly vm = new Vm({ name: 'conformance', memoryMiB: RAM_MIB });
  readonly vcpu: Vcpu = this.vm.vcpus[0];
  private readonly bytes = this.vm.core.bytes;

  /** Run `t` from its initial state; afterwards the state is left for checking. */
  run(t: ConformanceTest): RunOutcome {
    const { vm, vcpu } = this;
    const r = t.initial.regs;
    for (const [addr, b] of t.initial.ram) this.bytes[RAM_BASE + addr] = b;
    for (const [addr] of t.initial.ram) vm.core.exports.invalidatePhys(addr, 1);
    GPRS.forEach((n, i) => vcpu.setGpr(i, r[n]));
    for (const s of SEGMENTS) setRealSegment(vcpu, s, r[s]);
    vcpu.eip = r.ip;
    vcpu.eflags = (r.flags & 0x0fd7) | 2;
    vcpu.halted = false;
    vcpu.set('shadow', 0);
    vcpu.set('irq', -1);
    const start = vcpu.instructionsRetired;
    for (;;) {
      const reason = vm.core.exports.enter(0, MAX_INSTRUCTIONS);
      if (reason === ExitReason.Hlt) return { halted: true };
      if (reason === ExitReason.Io) { vm.handleExit(vcpu, reason); continue; }
      if (reason === ExitReason.Budget && vcpu.instructionsRetired - start < MAX_INSTRUCTIONS) continue;
      return { halted: false, why: describeExit(vm, reason) };
    }
  }

  /** Zero every byte the test lists, so the next test starts from clean RAM. */
  clear(t: ConformanceTest): void {
    for (const list of [t.initial.ram, t.final.ram]) {
      for (const [addr] of list) {
        this.bytes[RAM_BASE + addr] = 0;
        this.vm.core.exports.invalidatePhys(addr, 1);
      }
    }
  }

  /** A byte of guest RAM. */
  byte(addr: number): number { return this.bytes[RAM_BASE + addr]; }
}

function setRealSegment(vcpu: Vcpu, s: SegName, selector: number): void {
  vcpu.setSegment(s, { selector, base: selector * 16, limit: 0xffff, attr: s === 'cs' ? 0x9b : 0x93 });
}

function describeExit(vm: Vm, reason: number): string {
  const v = vm.core.view;
  if (reason === ExitReason.Error) {
    const code = v.getUint32(Exit.detailError, true);
    return `core error: ${ERROR_MESSAGES[code] ?? `internal error ${code}`}`;
  }
  if (reason === ExitReason.Shutdown) return `triple fault after vector ${v.getUint32(Exit.detailVector, true)}`;
  if (reason === ExitReason.Budget) return `no HLT within ${MAX_INSTRUCTIONS} instructions`;
  return `unexpected ${EXIT_REASON_NAMES[reason] ?? reason} exit`;
}
