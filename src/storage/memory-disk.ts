// A disk image held in memory: the bytes a page loaded from a file. Writes
// change only this copy (the file the user picked is never written).
import { SECTOR_SIZE, type BlockDevice, type BlockStatus } from './block-device.js';
import { TrapezeError } from '../errors.js';

export class MemoryDisk implements BlockDevice {
  readonly sectors: number;
  private readonly bytes: Uint8Array;

  constructor(readonly name: string, image: Uint8Array, readonly readOnly = false) {
    if (image.length === 0 || image.length % SECTOR_SIZE !== 0) {
      throw new TrapezeError(`${name}: a disk image must be a whole number of ${SECTOR_SIZE}-byte sectors (it has ${image.length} bytes)`);
    }
    this.bytes = image.slice();
    this.sectors = image.length / SECTOR_SIZE;
  }

  private check(lba: number, count: number): BlockStatus {
    if (lba < 0 || count < 0 || lba + count > this.sectors) {
      return { ok: false, reason: 'out-of-range', message: `${this.name}: sectors ${lba}+${count} are past the end (${this.sectors} sectors)` };
    }
    return { ok: true };
  }

  read(lba: number, count: number, into: Uint8Array): BlockStatus {
    const st = this.check(lba, count);
    if (st.ok) into.set(this.bytes.subarray(lba * SECTOR_SIZE, (lba + count) * SECTOR_SIZE));
    return st;
  }

  write(lba: number, count: number, data: Uint8Array): BlockStatus {
    if (this.readOnly) return { ok: false, reason: 'read-only', message: `${this.name}: read-only` };
    const st = this.check(lba, count);
    if (st.ok) this.bytes.set(data.subarray(0, count * SECTOR_SIZE), lba * SECTOR_SIZE);
    return st;
  }

  delayFor(): number { return 0; }
  close(): void {}
}
