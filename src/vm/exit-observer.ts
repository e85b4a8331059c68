// Observers of a VM's exits (tracing, timing, statistics): told before and
// after the VM handles each exit, in the order they subscribed. They watch;
// they do not handle. A VM without observers pays one length check per exit.
import type { Vcpu } from './vcpu.js';

export interface ExitObserver {
  /** Before the exit is handled (the record as the core left it). */
  beforeExit?(vcpu: Vcpu, reason: number): void;
  /** After it was handled (an IN shows the value it got). */
  afterExit?(vcpu: Vcpu, reason: number): void;
}
