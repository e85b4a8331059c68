// The PC's x87 error wiring: FERR# from the CPU (an unmasked x87 exception with
// CR0.NE = 0) latches IRQ 13; a write to port 0xF0 clears the latch (and, on
// an AT, the FPU's busy signal) so the handler can dismiss it.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const FPU_ERROR_PORT = 0xf0;
export const FPU_ERROR_IRQ = 13;

/** What FpuErrorLatch saves in a snapshot. */
export interface FpuErrorState {
  latched: boolean;
}

export class FpuErrorLatch implements PortDevice, SnapshotPart<FpuErrorState> {
  readonly name = 'fpu-error';
  /** FERR# has been latched and not yet cleared. */
  latched = false;

  constructor(private readonly irq13: (level: boolean) => void) {}

  readonly snapshotVersion = 1;
  saveState(): FpuErrorState {
    return {
      latched: this.latched,
    };
  }
  loadState(s: FpuErrorState): void {
    ({ latched: this.latched } = s);
  }

  /** The CPU signalled FERR#. */
  raise(): void {
    this.latched = true;
    this.irq13(true);
  }

  read(_port: number, _size: IoSize): number { return 0xff; }

  write(_port: number, _size: IoSize, _value: number): void {
    this.latched = false;
    this.irq13(false);
  }
}
