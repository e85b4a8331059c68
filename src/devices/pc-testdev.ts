// QEMU's pc-testdev (`-device pc-testdev`), which kvm-unit-tests' x86 run
// script always adds: a 32-bit latch at ports 0xE0-0xE3 (accessed at any
// width, byte-addressed), a page-flush port at 0xE4 (a hint to KVM; nothing to
// do here, since the host never maps guest pages behind the core's back), ISA
// interrupt lines at 0x2000 + n (a write sets line n to the value), and 64 KiB
// of device memory at 0xFF000000 that reads back what was written.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { MmioDevice } from '../vm/mmiobus.js';

export const TESTDEV_PORT = 0xe0;
export const TESTDEV_FLUSH_PORT = 0xe4;
export const TESTDEV_IRQ_PORT = 0x2000;
export const TESTDEV_IRQ_LINES = 24;
export const TESTDEV_IOMEM = 0xff000000;
export const TESTDEV_IOMEM_SIZE = 0x10000;

export class PcTestdev implements PortDevice {
  readonly name = 'pc-testdev';
  private latch = 0;
  /** The device memory window: register it on the MMIO bus at TESTDEV_IOMEM. */
  readonly iomem: MmioDevice;

  constructor(private readonly setIrq: (line: number, level: boolean) => void) {
    const buf = new Uint8Array(TESTDEV_IOMEM_SIZE);
    this.iomem = {
      name: 'pc-testdev-iomem',
      read(offset: number, size: IoSize): number {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | (buf[(offset + i) & 0xffff]);
        return v >>> 0;
      },
      write(offset: number, size: IoSize, value: number): void {
        for (let i = 0; i < size; i++) buf[(offset + i) & 0xffff] = (value >>> (8 * i)) & 0xff;
      },
    };
  }

  read(port: number, size: IoSize): number {
    if (port >= TESTDEV_PORT && port < TESTDEV_PORT + 4) {
      const shift = 8 * (port & 3);
      return size === 4 ? this.latch >>> 0 : (this.latch >>> shift) & (size === 2 ? 0xffff : 0xff);
    }
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  write(port: number, size: IoSize, value: number): void {
    if (port >= TESTDEV_PORT && port < TESTDEV_PORT + 4) {
      const shift = 8 * (port & 3);
      const mask = (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) << shift;
      this.latch = ((this.latch & ~mask) | ((value << shift) & mask)) >>> 0;
      return;
    }
    if (port >= TESTDEV_IRQ_PORT && port < TESTDEV_IRQ_PORT + TESTDEV_IRQ_LINES) this.setIrq(port - TESTDEV_IRQ_PORT, (value & 0xff) !== 0);
    // TESTDEV_FLUSH_PORT: nothing is cached behind the guest's page tables
  }
}
