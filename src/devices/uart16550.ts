// 16550A UART: transmit to a host sink, receive from a host queue, divisor
// latch, scratch, loopback, FIFO control, and interrupts for received data,
// transmitter empty, line status and modem status. Transmission is instant,
// so the line-status register always says the transmitter is empty.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const COM1 = 0x3f8;

const IER_RDA = 1, IER_THRE = 2, IER_RLS = 4, IER_MSI = 8;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const MCR_LOOP = 0x10, MCR_OUT2 = 0x08;
const IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06;
const RX_CAPACITY = 4096;

/** What Uart16550 saves in a snapshot. */
export interface UartState {
  ier: number;
  lcr: number;
  mcr: number;
  lsrErrors: number;
  scratch: number;
  dll: number;
  dlm: number;
  fcr: number;
  msr: number;
  msrDelta: number;
  rx: number[];
  threPending: boolean;
  irqLevel: boolean;
  polled: boolean;
  irqNeedsOut2: boolean;
  transmitted: number;
}

export class Uart16550 implements PortDevice, SnapshotPart<UartState> {
  readonly name: string;
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private lsrErrors = 0;
  private scratch = 0;
  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private fcr = 0;
  private msr = 0xb0; // CTS DSR DCD
  private msrDelta = 0;
  private rx: number[] = [];
  private threPending = false;
  private irqLevel = false;
  /** The guest looked at the line status since it last reset the FIFOs (it polls for input). */
  private polled = false;
  /**
   * On a PC board MCR OUT2 enables the IRQ driver. Boards and emulators that
   * wire the interrupt directly (QEMU does; guests written for it, like xv6,
   * never set OUT2) clear this.
   */
  irqNeedsOut2 = true;
  /** Bytes transmitted, for statistics. */
  transmitted = 0;

  constructor(
    readonly base: number,
    private readonly output: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => {},
    name = 'uart',
  ) {
    this.name = name;
  }

  readonly snapshotVersion = 1;
  saveState(): UartState {
    return {
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      lsrErrors: this.lsrErrors,
      scratch: this.scratch,
      dll: this.dll,
      dlm: this.dlm,
      fcr: this.fcr,
      msr: this.msr,
      msrDelta: this.msrDelta,
      rx: structuredClone(this.rx),
      threPending: this.threPending,
      irqLevel: this.irqLevel,
      polled: this.polled,
      irqNeedsOut2: this.irqNeedsOut2,
      transmitted: this.transmitted,
    };
  }
  loadState(s: UartState): void {
    ({ ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, scratch: this.scratch, dll: this.dll, dlm: this.dlm, fcr: this.fcr, msr: this.msr, msrDelta: this.msrDelta, threPending: this.threPending, irqLevel: this.irqLevel, polled: this.polled, irqNeedsOut2: this.irqNeedsOut2, transmitted: this.transmitted } = s);
    this.rx = structuredClone(s.rx);
  }

  /** Bytes typed by the host user: they arrive in the receive buffer. */
  receive(bytes: Uint8Array | number[]): void {
    for (const b of bytes) {
      if (this.rx.length >= RX_CAPACITY) { this.lsrErrors |= LSR_OE; break; }
      this.rx.push(b & 0xff);
    }
    this.update();
  }

  get receiveQueued(): number { return this.rx.length; }

  /** The guest is set up to receive: the data-ready interrupt is on, or it polls the line status. Host input waits for this, so bytes typed early are not lost to the guest's FIFO reset. */
  get readyForInput(): boolean { return (this.ier & IER_RDA) !== 0 || this.polled; }

  private get dlab(): boolean { return (this.lcr & 0x80) !== 0; }

  private iir(): number {
    const fifo = this.fcr & 1 ? 0xc0 : 0;
    if (this.ier & IER_RLS && this.lsrErrors) return IIR_RLS | fifo;
    if (this.ier & IER_RDA && this.rx.length) return IIR_RDA | fifo;
    if (this.ier & IER_THRE && this.threPending) return IIR_THRE | fifo;
    if (this.ier & IER_MSI && this.msrDelta) return IIR_MSI | fifo;
    return IIR_NONE | fifo;
  }

  private update(): void {
    const level = (this.iir() & 1) === 0 && (!this.irqNeedsOut2 || (this.mcr & MCR_OUT2) !== 0);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq(level);
    }
  }

  read(port: number, _size: IoSize): number {
    let v = 0xff;
    switch (port - this.base) {
      case 0:
        if (this.dlab) { v = this.dll; break; }
        v = this.rx.length ? this.rx.shift()! : 0;
        break;
      case 1: v = this.dlab ? this.dlm : this.ier; break;
      case 2: {
        v = this.iir();
        if ((v & 0x0f) === IIR_THRE) this.threPending = false; // reading IIR clears THRE
        break;
      }
      case 3: v = this.lcr; break;
      case 4: v = this.mcr; break;
      case 5:
        v = LSR_THRE | LSR_TEMT | (this.rx.length ? LSR_DR : 0) | this.lsrErrors;
        this.polled = true;
        this.lsrErrors = 0;
        break;
      case 6:
        v = this.mcr & MCR_LOOP
          ? ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4) | this.msrDelta
          : this.msr | this.msrDelta;
        this.msrDelta = 0;
        break;
      case 7: v = this.scratch; break;
    }
    this.update();
    return v;
  }

  write(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    switch (port - this.base) {
      case 0:
        if (this.dlab) { this.dll = v; break; }
        this.transmitted++;
        if (this.mcr & MCR_LOOP) this.rx.push(v);
        else this.output(v);
        this.threPending = true; // sent at once: the holding register is empty again
        break;
      case 1:
        if (this.dlab) { this.dlm = v; break; }
        // enabling the THRE interrupt while the transmitter is empty raises it
        if (v & IER_THRE && !(this.ier & IER_THRE)) this.threPending = true;
        this.ier = v & 0x0f;
        break;
      case 2:
        this.fcr = v & 0xc9;
        if (v & 2) { this.rx.length = 0; this.polled = false; } // clear receive FIFO
        break;
      case 3: this.lcr = v; break;
      case 4: this.mcr = v & 0x1f; break;
      case 7: this.scratch = v; break;
    }
    this.update();
  }

  /** Divisor latch value (the baud rate is 115200 / divisor). */
  get divisor(): number { return (this.dlm << 8) | this.dll; }
}
