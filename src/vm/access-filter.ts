// The filter in front of the port and MMIO buses and the MSRs: it decides
// whether the guest may make an access, and what a refused access does.
// The VM applies the decision; the hypervisor's isolation policy is one
// filter (src/hypervisor/policy.ts).
import type { Vcpu } from './vcpu.js';

export type AccessKind = 'io' | 'mmio' | 'msr';

/**
 * What a refused access does: "stop" ends the run, "inject-gp" faults the
 * instruction with #GP(0), "exit-and-log" lets the guest go on as if nothing
 * answered (a read sees all ones, an RDMSR zero).
 */
export type RefusalAction = 'inject-gp' | 'exit-and-log' | 'stop';

export interface AccessFilter {
  allowsPort(port: number, size: number): boolean;
  allowsMmio(addr: number, size: number): boolean;
  allowsMsr(index: number): boolean;
  /** An access was refused: record it, and say what happens to the guest. */
  refused(kind: AccessKind, detail: string): RefusalAction;
  /** What the core must know per vCPU (whether MSR accesses ask first); called again after INIT. */
  applyToVcpu(vcpu: Vcpu): void;
}
