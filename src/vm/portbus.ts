// The I/O port space: 65,536 ports, each owned by at most one device. A port
// no device owns reads as all ones (open bus) and ignores writes.
//
// Inline ports: the open bus and the ports of a device that says `inline` can be
// answered from inside the core's run (assembly/cpu/io.ts), without an exit's
// round trip; so can the reads of a device that says `timedReads` (a timer's
// count: the machine's time then counts the run's instructions so far). The
// VM turns that on while nothing watches exits (Vm.syncInlinePorts).
// The open bus is answered by the core alone, which counts the accesses for
// `unclaimed` (Vm.takeOpenBusCount).
import { TrapezeError } from '../errors.js';

export type IoSize = 1 | 2 | 4;

export interface PortDevice {
  readonly name: string;
  read(port: number, size: IoSize): number;
  write(port: number, size: IoSize, value: number): void;
  /**
   * The device may be called from inside the core's run: its read and write
   * neither read the vCPU's state or the virtual clock, nor raise interrupts,
   * nor stop the VM (a log, a diagnostic port).
   */
  readonly inline?: boolean;
  /**
   * Its reads may be called from inside the core's run: they read the
   * machine's time (exact: the VM has the clock count the run's instructions
   * retired so far) and the device's state, and raise no interrupt (a timer's
   * count and status). Its writes still leave the run.
   */
  readonly timedReads?: boolean;
}

const OPEN_BUS = [0, 0xff, 0xffff, 0, 0xffffffff];

export class PortBus {
  private readonly owners: (PortDevice | undefined)[] = new Array(65536).fill(undefined);
  /** Accesses to ports nobody owns, for --stats. */
  unclaimed = 0;
  /** One bit per port that can be answered inline (see above); `onChange` hears of each change. */
  readonly inline = new Uint8Array(8192).fill(0xff);
  /** One bit per port whose reads can be answered inline: `inline`'s, and the `timedReads` devices'. */
  readonly inlineReads = new Uint8Array(8192).fill(0xff);
  /** One bit per port no device owns: the core answers these itself while they are inline (assembly/cpu/io.ts). */
  readonly open = new Uint8Array(8192).fill(0xff);
  onChange: (() => void) | undefined;

  register(device: PortDevice, first: number, last = first): void {
    for (let p = first; p <= last; p++) {
      const cur = this.owners[p];
      if (cur) throw new TrapezeError(`port 0x${p.toString(16)} is claimed by both ${cur.name} and ${device.name}`);
    }
    for (let p = first; p <= last; p++) {
      this.owners[p] = device;
      this.open[p >> 3] &= ~(1 << (p & 7));
      if (device.inline !== true) this.inline[p >> 3] &= ~(1 << (p & 7));
      if (device.inline !== true && device.timedReads !== true) this.inlineReads[p >> 3] &= ~(1 << (p & 7));
    }
    this.onChange?.();
  }

  owner(port: number): PortDevice | undefined { return this.owners[port & 0xffff]; }

  /** Every registered device, once each. */
  devices(): PortDevice[] { return [...new Set(this.owners.filter((d): d is PortDevice => d !== undefined))]; }

  read(port: number, size: IoSize): number {
    const d = this.owners[port];
    if (d) return d.read(port, size);
    this.unclaimed++;
    return OPEN_BUS[size];
  }

  write(port: number, size: IoSize, value: number): void {
    const d = this.owners[port];
    if (d) d.write(port, size, value);
    else this.unclaimed++;
  }
}
