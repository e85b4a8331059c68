// QEMU's firmware configuration device, traditional PIO interface (QEMU's
// docs/specs/fw_cfg): a 16-bit selector at 0x510 picks an item and rewinds it;
// each 8-bit read of 0x511 returns the item's next byte, 0 past its end. Items:
// the "QEMU" signature, the interface ID (no DMA), RAM size, CPU counts, and a
// directory of named files (big-endian) at key 0x19 whose entries select keys
// from 0x20 on. Data writes are ignored, as QEMU has done since 2.4.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import { TrapezeError } from '../errors.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const FW_CFG_PORT = 0x510;
export const FW_CFG_DATA = 0x511;

export const FwCfgKey = {
  signature: 0x00,
  id: 0x01,
  ramSize: 0x03,
  noGraphic: 0x04,
  nbCpus: 0x05,
  maxCpus: 0x0f,
  fileDir: 0x19,
  fileFirst: 0x20,
} as const;

/** Key bits that are not part of the item number: write (bit 14) is refused; arch-specific (bit 15) is an item of its own. */
const KEY_MASK = 0xbfff;
/** ID bit 0: the traditional interface (no DMA, bit 1). */
const ID_TRADITIONAL = 1;
const FILE_NAME_BYTES = 56;
const MAX_FILES = 0x3fff - FwCfgKey.fileFirst;

export interface FwCfgOptions {
  ramBytes: number;
  cpus: number;
}

/** What FwCfg saves in a snapshot. */
export interface FwCfgState {
  key: number;
  offset: number;
}

export class FwCfg implements PortDevice, SnapshotPart<FwCfgState> {
  readonly name = 'fw_cfg';
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; key: number }[] = [];
  private key = 0;
  private offset = 0;

  constructor(options: FwCfgOptions) {
    this.set(FwCfgKey.signature, new TextEncoder().encode('QEMU'));
    this.set(FwCfgKey.id, le(ID_TRADITIONAL, 4));
    this.set(FwCfgKey.ramSize, le(options.ramBytes, 8));
    this.set(FwCfgKey.noGraphic, le(1, 2));
    this.set(FwCfgKey.nbCpus, le(options.cpus, 2));
    this.set(FwCfgKey.maxCpus, le(options.cpus, 2));
    this.set(FwCfgKey.fileDir, this.directory());
  }

  readonly snapshotVersion = 1;
  saveState(): FwCfgState {
    return {
      key: this.key,
      offset: this.offset,
    };
  }
  loadState(s: FwCfgState): void {
    ({ key: this.key, offset: this.offset } = s);
  }

  /** Add a named file (e.g. "etc/e820", "opt/x"); its key is the next free one from 0x20. */
  addFile(name: string, data: Uint8Array): number {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length >= FILE_NAME_BYTES) throw new TrapezeError(`fw_cfg file name "${name}" must be 1 to ${FILE_NAME_BYTES - 1} bytes`);
    if (this.files.some((f) => f.name === name)) throw new TrapezeError(`fw_cfg file "${name}" is given twice`);
    if (this.files.length >= MAX_FILES) throw new TrapezeError(`fw_cfg holds at most ${MAX_FILES} files`);
    const key = FwCfgKey.fileFirst + this.files.length;
    this.files.push({ name, key });
    this.set(key, data);
    this.set(FwCfgKey.fileDir, this.directory());
    return key;
  }

  private set(key: number, data: Uint8Array): void { this.items.set(key, data); }

  /** u32 count, then per file: u32 size, u16 select, u16 reserved, name[56] (all big-endian). */
  private directory(): Uint8Array {
    const out = new Uint8Array(4 + this.files.length * 64);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.files.length);
    this.files.forEach((f, i) => {
      const o = 4 + i * 64;
      v.setUint32(o, this.items.get(f.key)!.length);
      v.setUint16(o + 4, f.key);
      out.set(new TextEncoder().encode(f.name), o + 8);
    });
    return out;
  }

  read(port: number, size: IoSize): number {
    if (port === FW_CFG_PORT) return 0; // the selector is write-only
    // a wider read takes that many bytes in turn (little-endian), as byte reads would
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.nextByte() << (i * 8);
    return v >>> 0;
  }

  private nextByte(): number {
    const item = this.items.get(this.key);
    if (!item || this.offset >= item.length) return 0;
    return item[this.offset++];
  }

  write(port: number, _size: IoSize, value: number): void {
    if (port !== FW_CFG_PORT) return; // data writes: ignored
    this.key = value & KEY_MASK;
    this.offset = 0;
  }
}

function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}
