// A copy-on-write overlay over a base disk: the guest's writes land in the
// overlay file, block by block, and the base is never written, so many VMs can
// share one base image. The overlay file is a header (magic, block size, block
// count, the base's path), a map (per block: 0 = still the base's, n = slot
// n-1 of the data area) and the data area, which grows one block per first
// write. Its capacity quota bounds the overlay file.
import { openSync, closeSync, fstatSync, readSync, writeSync, existsSync } from 'node:fs';
import { SECTOR_SIZE, type BlockDevice, type BlockStatus } from '../../storage/block-device.js';
import { TrapezeError } from '../../errors.js';
import { lockImage } from './image-lock.js';

const MAGIC = 'TRPZCOW1';
const HEADER = 512;
export const COW_BLOCK = 4096;
const PER_BLOCK = COW_BLOCK / SECTOR_SIZE;
const OK: BlockStatus = { ok: true };

export class CowOverlayDisk implements BlockDevice {
  readonly name: string;
  readonly sectors: number;
  readonly readOnly = false;
  private fd: number;
  private unlock: () => void = () => {};
  private readonly map: Uint32Array;
  private readonly dataStart: number;
  private slots = 0;
  private readonly block = new Uint8Array(COW_BLOCK);

  constructor(readonly base: BlockDevice, readonly path: string, readonly capacityBytes = Infinity, readonly basePath = base.name) {
    this.name = `${path} (over ${base.name})`;
    this.sectors = base.sectors;
    const blocks = Math.ceil(base.sectors / PER_BLOCK);
    this.map = new Uint32Array(blocks);
    this.dataStart = HEADER + Math.ceil((blocks * 4) / COW_BLOCK) * COW_BLOCK;
    if (this.dataStart > capacityBytes) throw new TrapezeError(`${path}: the overlay's map alone (${this.dataStart} bytes) is larger than its capacity quota (${capacityBytes} bytes)`);
    const fresh = !existsSync(path);
    try {
      this.fd = openSync(path, fresh ? 'w+' : 'r+');
    } catch (e) {
      throw new TrapezeError(`${path}: cannot open overlay (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    try {
      this.unlock = lockImage(path, this.fd, true);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    if (fresh) this.writeHeader();
    else this.readHeader(blocks);
  }

  /** Bytes the overlay file holds. */
  get hostBytes(): number { return fstatSync(this.fd).size; }
  /** Blocks written so far. */
  get blocksAllocated(): number { return this.slots; }

  read(lba: number, count: number, into: Uint8Array): BlockStatus {
    const bad = this.check(lba, count);
    if (bad) return bad;
    for (let s = 0; s < count; s++) {
      const sector = lba + s, b = Math.floor(sector / PER_BLOCK), off = (sector % PER_BLOCK) * SECTOR_SIZE;
      const out = into.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
      if (this.map[b]) readSync(this.fd, out, 0, SECTOR_SIZE, this.slotAt(this.map[b] - 1) + off);
      else { const st = this.base.read(sector, 1, out); if (!st.ok) return st; }
    }
    return OK;
  }

  write(lba: number, count: number, data: Uint8Array): BlockStatus {
    const bad = this.check(lba, count);
    if (bad) return bad;
    const first = Math.floor(lba / PER_BLOCK), last = Math.floor((lba + count - 1) / PER_BLOCK);
    let fresh = 0;
    for (let b = first; b <= last; b++) if (!this.map[b]) fresh++;
    const end = this.slotAt(this.slots + fresh);
    if (end > this.capacityBytes) {
      // all or nothing: no block of this request is written
      return { ok: false, reason: 'quota', message: `${this.path}: the overlay would grow to ${end} bytes, past its capacity quota of ${this.capacityBytes} bytes` };
    }
    for (let b = first; b <= last; b++) {
      const lo = Math.max(lba, b * PER_BLOCK), hi = Math.min(lba + count, (b + 1) * PER_BLOCK);
      if (!this.map[b]) {
        // first write to this block: copy it up from the base, then merge
        const st = this.base.read(b * PER_BLOCK, Math.min(PER_BLOCK, this.sectors - b * PER_BLOCK), this.block);
        if (!st.ok) return st;
        this.block.set(data.subarray((lo - lba) * SECTOR_SIZE, (hi - lba) * SECTOR_SIZE), (lo - b * PER_BLOCK) * SECTOR_SIZE);
        writeSync(this.fd, this.block, 0, COW_BLOCK, this.slotAt(this.slots));
        this.map[b] = ++this.slots;
        writeSync(this.fd, new Uint8Array(this.map.buffer, b * 4, 4), 0, 4, HEADER + b * 4);
      } else {
        writeSync(this.fd, data, (lo - lba) * SECTOR_SIZE, (hi - lo) * SECTOR_SIZE, this.slotAt(this.map[b] - 1) + (lo - b * PER_BLOCK) * SECTOR_SIZE);
      }
    }
    return OK;
  }

  delayFor(): number { return 0; }

  close(): void {
    if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; this.unlock(); }
    this.base.close();
  }

  private slotAt(slot: number): number { return this.dataStart + slot * COW_BLOCK; }

  private writeHeader(): void {
    const h = Buffer.alloc(HEADER);
    h.write(MAGIC, 0, 'latin1');
    h.writeUInt32LE(COW_BLOCK, 8);
    h.writeUInt32LE(this.map.length, 12);
    h.write(this.basePath.slice(0, HEADER - 17), 16, 'utf8');
    writeSync(this.fd, h, 0, HEADER, 0);
    writeSync(this.fd, Buffer.alloc(this.dataStart - HEADER), 0, this.dataStart - HEADER, HEADER);
  }

  private readHeader(blocks: number): void {
    const h = Buffer.alloc(HEADER);
    readSync(this.fd, h, 0, HEADER, 0);
    if (h.toString('latin1', 0, 8) !== MAGIC || h.readUInt32LE(8) !== COW_BLOCK || h.readUInt32LE(12) !== blocks) {
      this.close();
      throw new TrapezeError(`${this.path}: not a Trapeze overlay for a disk of ${this.sectors} sectors`);
    }
    readSync(this.fd, new Uint8Array(this.map.buffer), 0, blocks * 4, HEADER);
    for (const m of this.map) if (m > this.slots) this.slots = m;
  }

  private check(lba: number, count: number): BlockStatus | undefined {
    if (!Number.isInteger(lba) || !Number.isInteger(count) || lba < 0 || count < 0 || lba + count > this.sectors) {
      return { ok: false, reason: 'out-of-range', message: `${this.name}: sectors ${lba}+${count} are outside the disk (${this.sectors} sectors)` };
    }
    if (this.fd < 0) return { ok: false, reason: 'io-error', message: `${this.name} is closed` };
    return undefined;
  }
}
