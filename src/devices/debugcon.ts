// The Bochs/QEMU debug console: every byte written to port 0xE9 goes to the
// host (stdout or a file). Reading the port returns 0xE9, which guests use to
// detect it.
import type { PortDevice, IoSize } from '../vm/portbus.js';

export const DEBUGCON_PORT = 0xe9;

export class DebugCon implements PortDevice {
  readonly name = 'debugcon';
  readonly inline = true; // bytes to the host: no time, interrupts or stop
  constructor(private readonly output: (byte: number) => void) {}

  read(_port: number, _size: IoSize): number { return DEBUGCON_PORT; }

  write(_port: number, size: IoSize, value: number): void {
    for (let i = 0; i < size; i++) this.output((value >>> (8 * i)) & 0xff);
  }
}
