// A disk backed by a raw image file on the host. The guest sees `sectors`;
// the host file starts at whatever size it has and grows as the guest writes,
// never past `capacityBytes` (the disk quota): a write that would grow it
// further fails as a whole with a quota error and changes nothing.
import { openSync, closeSync, fstatSync, readSync, writeSync, ftruncateSync } from 'node:fs';
import { SECTOR_SIZE, type BlockDevice, type BlockStatus } from '../../storage/block-device.js';
import { TrapezeError } from '../../errors.js';
import { lockImage } from './image-lock.js';

export interface RawFileOptions {
  /** Size the guest sees, in bytes (a multiple of 512); default: capacity, else the file's size. */
  sizeBytes?: number;
  /** The most the host file may hold; default: unlimited. */
  capacityBytes?: number;
  readOnly?: boolean;
}

const OK: BlockStatus = { ok: true };

export class RawFileDisk implements BlockDevice {
  readonly name: string;
  readonly sectors: number;
  readonly readOnly: boolean;
  readonly capacityBytes: number;
  private fd: number;
  private fileBytes: number;
  private readonly unlock: () => void;

  constructor(readonly path: string, options: RawFileOptions = {}) {
    this.name = path;
    this.readOnly = options.readOnly ?? false;
    try {
      this.fd = openSync(path, this.readOnly ? 'r' : existsFlag(path));
    } catch (e) {
      throw new TrapezeError(`${path}: cannot open disk image (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    try {
      this.unlock = lockImage(path, this.fd, !this.readOnly);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.fileBytes = fstatSync(this.fd).size;
    this.capacityBytes = options.capacityBytes ?? Infinity;
    if (this.fileBytes > this.capacityBytes) {
      this.close();
      throw new TrapezeError(`${path}: the image (${this.fileBytes} bytes) is already larger than its capacity quota (${this.capacityBytes} bytes)`);
    }
    const size = options.sizeBytes ?? (Number.isFinite(this.capacityBytes) ? this.capacityBytes : this.fileBytes);
    if (size % SECTOR_SIZE !== 0 || size <= 0) {
      this.close();
      throw new TrapezeError(`${path}: disk size must be a positive multiple of ${SECTOR_SIZE} bytes (got ${size})`);
    }
    this.sectors = size / SECTOR_SIZE;
  }

  /** Bytes the host file holds now. */
  get hostBytes(): number { return this.fileBytes; }

  read(lba: number, count: number, into: Uint8Array): BlockStatus {
    const bad = this.check(lba, count);
    if (bad) return bad;
    const at = lba * SECTOR_SIZE, len = count * SECTOR_SIZE;
    into.fill(0, 0, len); // past the end of the file the disk reads as zeros
    const n = Math.max(0, Math.min(len, this.fileBytes - at));
    if (n > 0) readSync(this.fd, into, 0, n, at);
    return OK;
  }

  write(lba: number, count: number, data: Uint8Array): BlockStatus {
    const bad = this.check(lba, count);
    if (bad) return bad;
    if (this.readOnly) return { ok: false, reason: 'read-only', message: `${this.name} is read-only` };
    const at = lba * SECTOR_SIZE, end = at + count * SECTOR_SIZE;
    if (end > this.capacityBytes) {
      return { ok: false, reason: 'quota', message: `${this.name}: writing up to byte ${end} would pass the capacity quota of ${this.capacityBytes} bytes` };
    }
    writeSync(this.fd, data, 0, count * SECTOR_SIZE, at);
    this.fileBytes = Math.max(this.fileBytes, end);
    return OK;
  }

  /** Write raw bytes at a byte offset (an overlay's own metadata); same quota. */
  writeBytes(at: number, data: Uint8Array): BlockStatus {
    if (at + data.length > this.capacityBytes) {
      return { ok: false, reason: 'quota', message: `${this.name}: growing to ${at + data.length} bytes would pass the capacity quota of ${this.capacityBytes} bytes` };
    }
    writeSync(this.fd, data, 0, data.length, at);
    this.fileBytes = Math.max(this.fileBytes, at + data.length);
    return OK;
  }
  readBytes(at: number, into: Uint8Array): void {
    into.fill(0);
    const n = Math.max(0, Math.min(into.length, this.fileBytes - at));
    if (n > 0) readSync(this.fd, into, 0, n, at);
  }

  delayFor(): number { return 0; }

  close(): void {
    if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; this.unlock(); }
  }

  /** Shrink or grow the host file (tests and tools only). */
  truncate(bytes: number): void { ftruncateSync(this.fd, bytes); this.fileBytes = bytes; }

  private check(lba: number, count: number): BlockStatus | undefined {
    if (!Number.isInteger(lba) || !Number.isInteger(count) || lba < 0 || count < 0 || lba + count > this.sectors) {
      return { ok: false, reason: 'out-of-range', message: `${this.name}: sectors ${lba}+${count} are outside the disk (${this.sectors} sectors)` };
    }
    if (this.fd < 0) return { ok: false, reason: 'io-error', message: `${this.name} is closed` };
    return undefined;
  }
}

/** Open for reading and writing, creating the file when it does not exist. */
function existsFlag(path: string): string {
  try { closeSync(openSync(path, 'r')); return 'r+'; } catch { return 'w+'; }
}
