// ATA/IDE controller channel in PIO mode (primary: command block 0x1F0-0x1F7,
// control block 0x3F6, IRQ 14) with a master and a slave drive. Per ATA-6:
// IDENTIFY DEVICE, READ/WRITE SECTORS and READ/WRITE MULTIPLE with 28-bit
// LBA or CHS addresses, status and alternate status, device control (nIEN,
// SRST), 16- and 32-bit data transfers, an interrupt per data block.
// Drives read and write through the BlockDevice interface (src/storage/).
import type { PortDevice, IoSize } from '../vm/portbus.js';
import { SECTOR_SIZE, type BlockDevice } from '../storage/block-device.js';
import type { Clock, Timer } from '../platform/clock.js';
import { saveBytes, loadBytes, type SnapshotPart, type SavedBytes } from '../vm/snapshot-part.js';
import { TrapezeError } from '../errors.js';

export const ATA_PRIMARY = { command: 0x1f0, control: 0x3f6, irq: 14 } as const;

const BSY = 0x80, DRDY = 0x40, DSC = 0x10, DRQ = 0x08, ERR = 0x01;
const ABRT = 0x04, IDNF = 0x10, UNC = 0x40;
const NIEN = 0x02, SRST = 0x04;
const HEADS = 16, SECTORS_PER_TRACK = 63;
const MAX_MULTIPLE = 16;

/** What Drive saves in a snapshot. */
export interface AtaDriveState {
  status: number;
  error: number;
  buffer: SavedBytes;
  pos: number;
  end: number;
  op: Drive['op'];
  lba: number;
  remaining: number;
  block: number;
  multiple: number;
}

class Drive {
  status = DRDY | DSC;
  error = 0x01; // diagnostic passed
  readonly buffer = new Uint8Array(SECTOR_SIZE * MAX_MULTIPLE);
  /** Bytes of the current block: data port position and end. */
  pos = 0;
  end = 0;
  /** The PIO command under way: what happens when a block is done. */
  op: 'none' | 'read' | 'write' | 'identify' = 'none';
  lba = 0;
  remaining = 0;
  /** Sectors per DRQ block (1 for READ/WRITE SECTORS, SET MULTIPLE for the MULTIPLE commands). */
  block = 1;
  multiple = 0;
  constructor(readonly disk: BlockDevice) {}

  saveState(): AtaDriveState {
    return {
      status: this.status,
      error: this.error,
      buffer: saveBytes(this.buffer),
      pos: this.pos,
      end: this.end,
      op: this.op,
      lba: this.lba,
      remaining: this.remaining,
      block: this.block,
      multiple: this.multiple,
    };
  }
  loadState(s: AtaDriveState): void {
    ({ status: this.status, error: this.error, pos: this.pos, end: this.end, op: this.op, lba: this.lba, remaining: this.remaining, block: this.block, multiple: this.multiple } = s);
    loadBytes(this.buffer, s.buffer);
  }
}

/** What AtaChannel saves in a snapshot. */
export interface AtaState {
  drives: (AtaDriveState | null)[];
  features: number;
  count: number;
  lbaLow: number;
  lbaMid: number;
  lbaHigh: number;
  select: number;
  control: number;
  irqPending: boolean;
  sectorsRead: number;
  sectorsWritten: number;
}

export class AtaChannel implements PortDevice, SnapshotPart<AtaState> {
  readonly name = 'ata0';
  readonly drives: (Drive | undefined)[];
  // the task file: written to both drives, as on the cable
  /** The Features register: written by the guest and saved, though no command this channel runs reads it. */
  features = 0;
  private count = 0;
  private lbaLow = 0;
  private lbaMid = 0;
  private lbaHigh = 0;
  private select = 0xa0;
  private control = 0;
  private irqPending = false;
  private readonly timer: Timer;
  private afterDelay: (() => void) | undefined;
  /** Sectors moved, for statistics. */
  sectorsRead = 0;
  sectorsWritten = 0;

  constructor(disks: (BlockDevice | undefined)[], private readonly clock: Clock, private readonly irq: (level: boolean) => void) {
    this.drives = [0, 1].map((i) => (disks[i] ? new Drive(disks[i]!) : undefined));
    this.timer = clock.timer(() => { const f = this.afterDelay; this.afterDelay = undefined; f?.(); });
  }

  readonly snapshotVersion = 1;
  saveState(): AtaState {
    // the transfer that waits out a disk rate limit is a closure, not data: refuse rather than lose it
    if (this.afterDelay) throw new TrapezeError('the ATA channel is waiting out a disk rate limit: snapshot again once the transfer is done');
    return {
      drives: this.drives.map((x) => x?.saveState() ?? null),
      features: this.features,
      count: this.count,
      lbaLow: this.lbaLow,
      lbaMid: this.lbaMid,
      lbaHigh: this.lbaHigh,
      select: this.select,
      control: this.control,
      irqPending: this.irqPending,
      sectorsRead: this.sectorsRead,
      sectorsWritten: this.sectorsWritten,
    };
  }
  loadState(s: AtaState): void {
    ({ features: this.features, count: this.count, lbaLow: this.lbaLow, lbaMid: this.lbaMid, lbaHigh: this.lbaHigh, select: this.select, control: this.control, irqPending: this.irqPending, sectorsRead: this.sectorsRead, sectorsWritten: this.sectorsWritten } = s);
    this.drives.forEach((drive, i) => {
      const saved = s.drives[i];
      if ((saved === null) !== (drive === undefined)) throw new TrapezeError(`drive ${i} is ${drive ? 'attached' : 'absent'} here but was ${saved ? 'attached' : 'absent'} when saved`);
      if (drive && saved) drive.loadState(saved);
    });
  }

  private get current(): Drive | undefined { return this.drives[(this.select >> 4) & 1]; }

  private setIrq(on: boolean): void {
    this.irqPending = on;
    this.irq(on && !(this.control & NIEN));
  }

  read(port: number, size: IoSize): number {
    if (port === ATA_PRIMARY.control) return this.statusOf(this.current); // alternate status: no side effect
    if (!this.drives[0] && !this.drives[1]) return size === 1 ? 0xff : 0xffff; // nothing on the cable
    const d = this.current;
    switch (port - ATA_PRIMARY.command) {
      case 0: return d ? this.readData(d, size) : 0;
      case 1: return d ? d.error : 0;
      case 2: return this.count;
      case 3: return this.lbaLow;
      case 4: return this.lbaMid;
      case 5: return this.lbaHigh;
      case 6: return this.select;
      default:
        if (d) this.setIrq(false); // reading status acknowledges the interrupt
        return this.statusOf(d);
    }
  }

  private statusOf(d: Drive | undefined): number { return d ? d.status : 0; }

  write(port: number, size: IoSize, value: number): void {
    if (port === ATA_PRIMARY.control) { this.writeControl(value & 0xff); return; }
    const d = this.current;
    const v = value & 0xff;
    switch (port - ATA_PRIMARY.command) {
      case 0: if (d) this.writeData(d, size, value); return;
      case 1: this.features = v; return;
      case 2: this.count = v; return;
      case 3: this.lbaLow = v; return;
      case 4: this.lbaMid = v; return;
      case 5: this.lbaHigh = v; return;
      case 6: this.select = v | 0xa0; return;
      default: if (d && !(d.status & BSY)) this.command(d, v);
    }
  }

  private writeControl(v: number): void {
    const was = this.control;
    this.control = v;
    if (v & SRST && !(was & SRST)) {
      for (const d of this.drives) if (d) { d.status = BSY; d.op = 'none'; }
      this.setIrq(false);
    } else if (!(v & SRST) && was & SRST) {
      // reset done: the ATA signature and diagnostic code, drive 0 selected
      for (const d of this.drives) if (d) { d.status = DRDY | DSC; d.error = 0x01; d.multiple = 0; }
      this.count = 1; this.lbaLow = 1; this.lbaMid = 0; this.lbaHigh = 0; this.select = 0xa0;
    }
    this.irq(this.irqPending && !(v & NIEN));
  }

  // ---- commands ----
  private command(d: Drive, cmd: number): void {
    this.setIrq(false);
    d.error = 0;
    switch (cmd) {
      case 0xec: this.identify(d); return;
      case 0x20: case 0x21: this.startTransfer(d, 'read', 1); return;
      case 0x30: case 0x31: this.startTransfer(d, 'write', 1); return;
      case 0xc4: case 0xc5:
        if (!d.multiple) { this.abort(d); return; }
        this.startTransfer(d, cmd === 0xc4 ? 'read' : 'write', d.multiple);
        return;
      case 0xc6: { // SET MULTIPLE MODE: a power of two up to MAX_MULTIPLE, 0 disables
        const n = this.count;
        if (n > MAX_MULTIPLE || (n & (n - 1))) { this.abort(d); return; }
        d.multiple = n;
        this.complete(d);
        return;
      }
      case 0x40: case 0x41: { // READ VERIFY SECTORS: check the range only
        const lba = this.address();
        if (lba + this.sectorCount() > d.disk.sectors) { this.fail(d, IDNF); return; }
        this.complete(d);
        return;
      }
      case 0x90: d.error = 0x01; this.complete(d); return; // EXECUTE DEVICE DIAGNOSTIC: passed
      case 0x91: case 0x10: case 0xe7: case 0xea: case 0xef: // parameters, recalibrate, flush, set features
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe5: // power management: always active
        if (cmd === 0xe5) this.count = 0xff;
        this.complete(d);
        return;
      default: this.abort(d); // not ATAPI, no DMA, no LBA48
    }
  }

  private complete(d: Drive): void {
    d.status = DRDY | DSC;
    this.setIrq(true);
  }

  private abort(d: Drive): void { this.fail(d, ABRT); }

  private fail(d: Drive, error: number): void {
    d.op = 'none';
    d.error = error;
    d.status = DRDY | DSC | ERR;
    this.setIrq(true);
  }

  /** Sectors named by the count register (0 means 256). */
  private sectorCount(): number { return this.count || 256; }

  /** The 28-bit LBA, or the CHS address converted with the drive's geometry. */
  private address(): number {
    if (this.select & 0x40) return ((this.select & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
    const cyl = (this.lbaHigh << 8) | this.lbaMid, head = this.select & 0x0f, sector = this.lbaLow;
    return (cyl * HEADS + head) * SECTORS_PER_TRACK + sector - 1;
  }

  private startTransfer(d: Drive, op: 'read' | 'write', block: number): void {
    const lba = this.address(), n = this.sectorCount();
    if (lba < 0 || lba + n > d.disk.sectors) { this.fail(d, IDNF); return; }
    d.op = op; d.lba = lba; d.remaining = n; d.block = block;
    if (op === 'read') this.readBlock(d);
    else { this.openBlock(d); d.status = DRDY | DSC | DRQ; } // the first block needs no interrupt
  }

  private blockSectors(d: Drive): number { return Math.min(d.block, d.remaining); }

  private openBlock(d: Drive): void {
    d.pos = 0;
    d.end = this.blockSectors(d) * SECTOR_SIZE;
  }

  /** Read the next block from the disk (after its rate-limit delay), then DRQ and an interrupt. */
  private readBlock(d: Drive): void {
    this.openBlock(d);
    d.status = BSY;
    this.whenAllowed(d.disk, d.end, () => {
      const status = d.disk.read(d.lba, d.end / SECTOR_SIZE, d.buffer);
      if (!status.ok) { this.fail(d, UNC); return; }
      this.sectorsRead += d.end / SECTOR_SIZE;
      this.updateAddress(d, d.end / SECTOR_SIZE);
      d.status = DRDY | DSC | DRQ;
      this.setIrq(true);
    });
  }

  /** A whole block arrived from the guest: write it, then DRQ for the next or done. */
  private writeBlock(d: Drive): void {
    d.status = BSY;
    this.whenAllowed(d.disk, d.end, () => {
      const status = d.disk.write(d.lba, d.end / SECTOR_SIZE, d.buffer);
      if (!status.ok) { this.fail(d, status.reason === 'read-only' ? ABRT : UNC); return; }
      this.sectorsWritten += d.end / SECTOR_SIZE;
      this.updateAddress(d, d.end / SECTOR_SIZE);
      if (d.remaining > 0) { this.openBlock(d); d.status = DRDY | DSC | DRQ; }
      else { d.op = 'none'; d.status = DRDY | DSC; }
      this.setIrq(true);
    });
  }

  /** The task file follows the transfer, as the standard requires after each block. */
  private updateAddress(d: Drive, sectors: number): void {
    d.lba += sectors;
    d.remaining -= sectors;
    this.count = d.remaining & 0xff;
    if (this.select & 0x40) {
      this.lbaLow = d.lba & 0xff; this.lbaMid = (d.lba >> 8) & 0xff; this.lbaHigh = (d.lba >> 16) & 0xff;
      this.select = (this.select & 0xf0) | ((d.lba >> 24) & 0x0f);
    }
  }

  private whenAllowed(disk: BlockDevice, bytes: number, then: () => void): void {
    const delayMs = disk.delayFor(bytes, this.clock.now() / 1e6);
    if (delayMs <= 0) { then(); return; }
    this.afterDelay = then;
    this.timer.arm(this.clock.now() + delayMs * 1e6);
  }

  private identify(d: Drive): void {
    const w = new Uint16Array(256);
    const total = Math.min(d.disk.sectors, 0x0fffffff);
    const cyls = Math.min(16383, Math.floor(total / (HEADS * SECTORS_PER_TRACK)));
    w[0] = 0x0040; // fixed device
    w[1] = cyls; w[3] = HEADS; w[6] = SECTORS_PER_TRACK;
    putString(w, 10, 20, 'TRAPEZE0000000000001');
    putString(w, 23, 8, '1.0');
    putString(w, 27, 40, 'Trapeze ATA disk');
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[49] = 0x0200; // LBA supported
    w[53] = 0x0001; // words 54-58 valid
    w[54] = cyls; w[55] = HEADS; w[56] = SECTORS_PER_TRACK;
    const chs = cyls * HEADS * SECTORS_PER_TRACK;
    w[57] = chs & 0xffff; w[58] = chs >>> 16;
    w[59] = d.multiple ? 0x100 | d.multiple : 0;
    w[60] = total & 0xffff; w[61] = total >>> 16;
    w[80] = 0x007e; // ATA-1 to ATA-6
    w[82] = 0x4000; w[83] = 0x4000; w[84] = 0x4000; // command sets: none beyond the basics
    w[85] = 0x4000; w[86] = 0x4000; w[87] = 0x4000;
    d.buffer.set(new Uint8Array(w.buffer));
    d.op = 'identify';
    d.pos = 0; d.end = SECTOR_SIZE;
    d.status = DRDY | DSC | DRQ;
    this.setIrq(true);
  }

  // ---- data port ----
  private readData(d: Drive, size: IoSize): number {
    if (!(d.status & DRQ) || d.op === 'write') return 0;
    let v = 0;
    for (let i = 0; i < size && d.pos < d.end; i++) v |= d.buffer[d.pos++] << (8 * i);
    if (d.pos >= d.end) this.blockRead(d);
    return v >>> 0;
  }

  private blockRead(d: Drive): void {
    if (d.op === 'read' && d.remaining > 0) { this.readBlock(d); return; }
    d.op = 'none';
    d.status = DRDY | DSC;
  }

  private writeData(d: Drive, size: IoSize, value: number): void {
    if (!(d.status & DRQ) || d.op !== 'write') return;
    for (let i = 0; i < size && d.pos < d.end; i++) d.buffer[d.pos++] = (value >>> (8 * i)) & 0xff;
    if (d.pos >= d.end) this.writeBlock(d);
  }
}

/** ATA strings: two characters per word, the first in the high byte, space-padded. */
function putString(w: Uint16Array, word: number, length: number, s: string): void {
  const padded = s.padEnd(length, ' ');
  for (let i = 0; i < length / 2; i++) w[word + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
}
