// How a run's end reads to the user: the words for each way a VM stops
// (src/vm reports it as data) and the process exit status the CLI gives it.
import type { StopInfo } from '../vm/vm.js';
import { ERROR_MESSAGES } from '../core/layout.js';

/** Exit statuses for the ways a run can end other than the debug-exit port (README, "Exit status"). */
export const ExitStatus = {
  halted: 0,
  badInput: 2,
  crash: 4,
  instructionLimit: 6,
  timeout: 8,
  policyViolation: 10,
} as const;

/** The process exit status for a VM that stopped this way. */
export function exitStatus(stop: StopInfo): number {
  switch (stop.kind) {
    case 'debug-exit': return stop.code;
    case 'halted': return ExitStatus.halted;
    case 'shutdown': return ExitStatus.crash;
    case 'error': return stop.reason !== undefined && stop.input ? ExitStatus.badInput : ExitStatus.crash;
    case 'instruction-limit': return ExitStatus.instructionLimit;
    case 'timeout': return ExitStatus.timeout;
    case 'policy': return ExitStatus.policyViolation;
    case 'stopped': return 0;
  }
}

export const EXCEPTION_NAMES: Record<number, string> = {
  0: '#DE (divide error)', 1: '#DB (debug)', 2: 'NMI', 3: '#BP (breakpoint)', 4: '#OF (overflow)',
  5: '#BR (bound range)', 6: '#UD (invalid opcode)', 7: '#NM (device not available)', 8: '#DF (double fault)',
  10: '#TS (invalid TSS)', 11: '#NP (segment not present)', 12: '#SS (stack fault)',
  13: '#GP (general protection)', 14: '#PF (page fault)', 16: '#MF (x87 error)', 17: '#AC (alignment check)',
};

/** One line saying how the VM stopped. */
export function describeStop(stop: StopInfo): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (stop.kind) {
    case 'debug-exit': return `guest wrote ${hex(stop.value)} to the debug-exit port`;
    case 'halted':
      if (stop.allVcpus) return `every vCPU halted (vCPU 0 at ${hex(stop.eip)}) and no interrupt can wake one`;
      return stop.interruptsEnabled
        ? `guest halted at ${hex(stop.eip)} with interrupts enabled, and no device can raise one`
        : `guest halted at ${hex(stop.eip)} with interrupts disabled`;
    case 'shutdown': {
      let m = `guest crashed: triple fault (shutdown) after ${EXCEPTION_NAMES[stop.vector] ?? `vector ${stop.vector}`}`;
      if (stop.errorCode !== undefined) m += ` (error code ${hex(stop.errorCode)})`;
      m += ` at 0x${stop.eip.toString(16).padStart(8, '0')}`;
      if (stop.opcode !== undefined) m += `, opcode ${formatOpcode(stop.opcode)}`;
      if (stop.unimplemented) m += ' — this instruction is not implemented by Trapeze yet';
      return m;
    }
    case 'error':
      if (stop.reason !== undefined) return stop.reason;
      return `the core stopped the VM at ${hex(stop.eip)}: ${ERROR_MESSAGES[stop.code] ?? `internal error ${stop.code}`}`;
    case 'instruction-limit':
      return stop.vm !== undefined
        ? `VM ${stop.vm} reached its maximum of ${stop.limit} instructions`
        : `instruction limit reached (${stop.limit} instructions)`;
    case 'timeout': return `timeout after ${stop.ms} ms`;
    case 'policy': return `VM ${stop.vm} stopped: policy forbids ${stop.detail}`;
    case 'stopped': return stop.reason;
  }
}

/** The opcode bytes the core recorded (first byte lowest), e.g. "0F 0B". */
function formatOpcode(v: number): string {
  const bytes: string[] = [];
  const n = Math.min(3, v >>> 24);
  for (let i = 0; i < n; i++) bytes.push(((v >>> (8 * i)) & 0xff).toString(16).toUpperCase().padStart(2, '0'));
  return bytes.join(' ');
}

/** A stop as reports show it (--stats-json, the API): the data, its exit status and its line. */
export type StopReport = StopInfo & { status: number; message: string };
export function stopReport(stop: StopInfo): StopReport {
  return { ...stop, status: exitStatus(stop), message: describeStop(stop) };
}
