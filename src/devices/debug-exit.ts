// QEMU's isa-debug-exit: writing value v ends the run with status (v << 1) | 1,
// so guests written for QEMU's test setup work unchanged.
import type { PortDevice, IoSize } from '../vm/portbus.js';

export const DEBUG_EXIT_PORT = 0xf4;

export class DebugExit implements PortDevice {
  readonly name = 'debug-exit';
  constructor(private readonly onExit: (status: number, value: number) => void) {}
  read(_port: number, size: IoSize): number { return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff; }
  write(_port: number, _size: IoSize, value: number): void { this.onExit(((value << 1) | 1) >>> 0, value >>> 0); }
}
