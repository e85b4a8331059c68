// Guest-physical addresses outside RAM: device windows (APIC, I/O APIC, ...).
// An address no device claims reads as all ones and ignores writes.
import { TrapezeError } from '../errors.js';
import type { IoSize } from './portbus.js';

export interface MmioDevice {
  readonly name: string;
  /** `offset` is relative to the start of the device's window. */
  read(offset: number, size: IoSize): number;
  write(offset: number, size: IoSize, value: number): void;
}

interface Window { start: number; end: number; device: MmioDevice }

export class MmioBus {
  private windows: Window[] = [];
  unclaimed = 0;

  register(device: MmioDevice, start: number, length: number): void {
    const end = start + length;
    for (const w of this.windows) {
      if (start < w.end && w.start < end) throw new TrapezeError(`MMIO window of ${device.name} overlaps ${w.device.name}`);
    }
    this.windows.push({ start, end, device });
  }

  /** Every registered device. */
  devices(): MmioDevice[] { return this.windows.map((w) => w.device); }

  private find(addr: number): Window | undefined {
    for (const w of this.windows) if (addr >= w.start && addr < w.end) return w;
    return undefined;
  }

  read(addr: number, size: IoSize): number {
    const w = this.find(addr);
    if (w) return w.device.read(addr - w.start, size) >>> 0;
    this.unclaimed++;
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }

  write(addr: number, size: IoSize, value: number): void {
    const w = this.find(addr);
    if (w) w.device.write(addr - w.start, size, value);
    else this.unclaimed++;
  }
}
