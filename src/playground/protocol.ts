// Messages between the playground page and its VM worker.
import type { GuestSpec, ShareVm, ExitRecord, ShadowRow, CpuView, ShareView } from './session.js';
import type { MmuEvent } from '../mmu/trace.js';

export type ToWorker =
  | { t: 'init' }
  | { t: 'file'; name: string; bytes: Uint8Array }
  | { t: 'load'; spec: GuestSpec }
  | { t: 'run' } | { t: 'pause' } | { t: 'reset' }
  | { t: 'step'; count: number }
  | { t: 'speed'; ips: number }
  | { t: 'type'; text: string }
  | { t: 'shares'; vms: ShareVm[] }
  | { t: 'disasm'; seq: number; eip: number }
  | { t: 'bench'; spec: GuestSpec };

export interface StateMessage {
  t: 'state';
  /** A new guest: the page clears what it shows. */
  full: boolean;
  running: boolean;
  /** Serial output since the last message. */
  serial: string;
  /** Exits since the last message. */
  log: ExitRecord[];
  cpu: CpuView;
  exits: Record<string, { count: number; hostNs: number }>;
  counters: Record<string, number>;
  shadow: (ShadowRow & { guestNow: number })[];
  shadowSize: number;
  pd: [number, number][];
  mmu: (MmuEvent & { seq: number })[];
  mmuSeq: number;
  screen: string[] | undefined;
  stop: string | undefined;
  ips: number;
}

export type FromWorker =
  | { t: 'ready' }
  | StateMessage
  | { t: 'shares'; view: ShareView; jain: number[]; serial: Record<string, string> }
  | { t: 'disasm'; seq: number; eip: number; lin: number; text: string; bytes: number[] }
  | { t: 'bench'; instructions: number; ms: number; serial: string }
  | { t: 'error'; message: string };
