// Disk backends: the capacity quota (an I/O error, and the host file never
// grows past it), the copy-on-write overlay (the base never written), and
// Firecracker-style token buckets (throttled requests complete later, none lost).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawFileDisk } from '../src/host/node/raw-file.js';
import { CowOverlayDisk, COW_BLOCK } from '../src/host/node/cow-overlay.js';
import { RateLimitedDisk } from '../src/storage/rate-limited.js';
import { TokenBucket } from '../src/storage/token-bucket.js';
import { openDisk } from '../src/host/node/open-disk.js';
import { SECTOR_SIZE, type BlockDevice } from '../src/storage/block-device.js';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { SPIN, hypervisor, spinVm } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);
const sectors = (count: number, fill: number) => new Uint8Array(count * SECTOR_SIZE).fill(fill);
const pattern = (bytes: number, seed: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff);

describe('raw image file with a capacity quota', () => {
  it('accepts writes inside the quota and refuses, whole, a write past it; the file never grows past it', () => {
    const file = fresh('raw.img');
    const original = pattern(8 * 1024, 7);
    writeFileSync(file, original);
    // the guest sees 64 KiB, the host file may hold 16 KiB
    const disk = new RawFileDisk(file, { sizeBytes: 64 * 1024, capacityBytes: 16 * 1024 });
    expect(disk.sectors).toBe(128);
    expect(disk.write(2, 2, sectors(2, 0xaa))).toEqual({ ok: true });
    expect(disk.write(20, 4, sectors(4, 0xbb))).toEqual({ ok: true }); // grows the file to 12 KiB
    const refused = disk.write(30, 4, sectors(4, 0xcc)); // would end at 17 KiB
    expect(refused).toMatchObject({ ok: false, reason: 'quota' });
    expect(disk.write(128, 1, sectors(1, 0xdd))).toMatchObject({ ok: false, reason: 'out-of-range' });
    disk.close();

    const now = readFileSync(file);
    expect(now.length).toBe(12 * 1024);
    const expected = Buffer.alloc(12 * 1024);
    expected.set(original);
    expected.fill(0xaa, 1024, 2048);
    expected.fill(0xbb, 10 * 1024, 12 * 1024);
    expect(Buffer.compare(now, expected)).toBe(0); // no byte changed but the accepted writes
  });

  it('reads past the end of the file as zeros, and refuses writes to a read-only disk', () => {
    const file = fresh('ro.img');
    writeFileSync(file, pattern(1024, 1));
    const disk = new RawFileDisk(file, { readOnly: true, sizeBytes: 4096 });
    const buf = new Uint8Array(4 * SECTOR_SIZE);
    expect(disk.read(0, 4, buf)).toEqual({ ok: true });
    expect(Buffer.compare(Buffer.from(buf.subarray(0, 1024)), Buffer.from(pattern(1024, 1)))).toBe(0);
    expect(buf.subarray(1024).every((b) => b === 0)).toBe(true);
    expect(disk.write(0, 1, sectors(1, 1))).toMatchObject({ ok: false, reason: 'read-only' });
    disk.close();
    expect(Buffer.compare(readFileSync(file), Buffer.from(pattern(1024, 1)))).toBe(0);
  });

  it('refuses to open an image already larger than its quota', () => {
    const file = fresh('big.img');
    writeFileSync(file, new Uint8Array(8192));
    expect(() => new RawFileDisk(file, { capacityBytes: 4096 })).toThrow('already larger than its capacity quota');
  });
});

describe('copy-on-write overlay', () => {
  it('reads the base until a block is written, never writes the base, and keeps its data when reopened', () => {
    const baseFile = fresh('base.img');
    const base = pattern(64 * 1024, 3);
    writeFileSync(baseFile, base);
    const overlayFile = fresh('overlay.cow');
    let disk: BlockDevice = new CowOverlayDisk(new RawFileDisk(baseFile, { readOnly: true }), overlayFile);
    expect(disk.write(9, 2, sectors(2, 0xee))).toEqual({ ok: true }); // inside block 1
    const buf = new Uint8Array(16 * SECTOR_SIZE);
    disk.read(0, 16, buf);
    const want = Buffer.from(base.subarray(0, 8192));
    want.fill(0xee, 9 * 512, 11 * 512);
    expect(Buffer.compare(Buffer.from(buf), want)).toBe(0);
    disk.close();
    expect(Buffer.compare(readFileSync(baseFile), Buffer.from(base))).toBe(0);

    disk = new CowOverlayDisk(new RawFileDisk(baseFile, { readOnly: true }), overlayFile);
    disk.read(0, 16, buf);
    expect(Buffer.compare(Buffer.from(buf), want)).toBe(0);
    expect((disk as CowOverlayDisk).blocksAllocated).toBe(1);
    disk.close();
  });

  it('a write that needs more blocks than the overlay quota allows is refused as a whole', () => {
    const baseFile = fresh('base2.img');
    writeFileSync(baseFile, pattern(64 * 1024, 5));
    const overlayFile = fresh('small.cow');
    // header 512 + map padded to 4096 = data from 4608; room for 2 blocks
    const quota = 512 + 4096 + 2 * COW_BLOCK;
    const disk = new CowOverlayDisk(new RawFileDisk(baseFile, { readOnly: true }), overlayFile, quota);
    expect(disk.write(0, 8, sectors(8, 1))).toEqual({ ok: true });
    const sizeAfterOne = statSync(overlayFile).size;
    // blocks 1, 2 and 3: two new blocks needed beyond the one left
    expect(disk.write(8, 24, sectors(24, 2))).toMatchObject({ ok: false, reason: 'quota' });
    expect(statSync(overlayFile).size).toBe(sizeAfterOne);
    const buf = new Uint8Array(8 * SECTOR_SIZE);
    disk.read(8, 8, buf);
    expect(Buffer.compare(Buffer.from(buf), Buffer.from(pattern(64 * 1024, 5).subarray(4096, 8192)))).toBe(0);
    // rewriting a block it already has costs nothing
    expect(disk.write(0, 8, sectors(8, 9))).toEqual({ ok: true });
    expect(disk.write(8, 8, sectors(8, 3))).toEqual({ ok: true });
    expect(statSync(overlayFile).size).toBeLessThanOrEqual(quota);
    disk.close();
  });
});

describe('token buckets (Firecracker semantics)', () => {
  it('starts full plus the one-time burst, refills at size per refill time, and the burst never comes back', () => {
    const b = new TokenBucket({ size: 1000, oneTimeBurst: 500, refillTimeMs: 1000 }, 0);
    expect(b.available(0)).toBe(1500);
    expect(b.wait(1500, 0)).toBe(0);
    b.take(1500, 0);
    expect(b.wait(100, 0)).toBe(100); // 100 tokens at 1 per ms
    expect(b.available(500)).toBe(500);
    expect(b.available(5000)).toBe(1000); // full again, no burst
  });

  it('lets a request larger than the bucket through from a full bucket, then makes later ones wait out the debt', () => {
    const b = new TokenBucket({ size: 1000, refillTimeMs: 1000 }, 0);
    expect(b.wait(3000, 0)).toBe(0);
    b.take(3000, 0);
    expect(b.wait(1, 0)).toBe(2001);
    expect(b.wait(1, 2001)).toBe(0);
  });

  it('throttles requests so each completes later and none is lost', () => {
    const file = fresh('limited.img');
    writeFileSync(file, new Uint8Array(0));
    const disk = openDisk({ file, capacityMiB: 1, bandwidth: { size: 4096, refillTimeMs: 1000 }, opsPerSec: 4 }) as RateLimitedDisk;
    expect(disk).toBeInstanceOf(RateLimitedDisk);
    // 10 writes of 2 KiB, all issued at t=0; a device model completes each when it is told
    const done: number[] = [];
    for (let i = 0; i < 10; i++) {
      done.push(disk.delayFor(2048, 0));
      expect(disk.write(i * 4, 4, sectors(4, i + 1))).toEqual({ ok: true });
    }
    // 4 KiB/s lets 2 requests through per second (the ops bucket, 4/s, is not the limit)
    expect(done).toEqual([0, 0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]);
    expect(disk.throttled).toBeGreaterThanOrEqual(8);
    disk.close();
    const bytes = readFileSync(file);
    for (let i = 0; i < 10; i++) expect(bytes[i * 2048]).toBe(i + 1);
  });
});

describe('disks from the config', () => {
  it('opens each configured disk with its quota and limits, and closes them when the VM stops', () => {
    const file = fresh('vm-disk.img');
    const hv = Hypervisor.fromConfig({ vms: [{ name: 'd', kernel: SPIN, memoryMiB: 4, disks: [{ file, capacityMiB: 1, sizeMiB: 8, bandwidthBytesPerSec: 1048576, opsPerSec: 200 }] }] });
    const disk = hv.get('d').disks[0];
    expect(disk.sectors).toBe(8 * 2048);
    expect(disk.write(4096, 1, sectors(1, 1))).toMatchObject({ ok: false, reason: 'quota' }); // at 2 MiB, past the 1 MiB quota
    expect(disk.write(0, 1, sectors(1, 1))).toEqual({ ok: true });
    hv.start();
    hv.stop('d');
    expect(disk.write(0, 1, sectors(1, 2))).toMatchObject({ ok: false, reason: 'io-error' });
    expect(statSync(file).size).toBe(512);
    hv.close();
  });
});

// A guest driving the ATA disk: for each LBA in its table (0, 2047, 2048, 3) it
// writes one sector filled with the LBA's low byte (WRITE SECTORS, PIO), waits
// for BSY to clear, and stores the status and error registers. Assembled from:
//   for lba in table: out 1F6 = E0|lba>>24; 1F2 = 1; 1F3..1F5 = lba; 1F7 = 30h
//     wait !BSY; if DRQ: 256 x out 1F0, ax; wait !BSY
//     [results + 2i] = status, [results + 2i + 1] = error (in 1F1)
//   hlt
const ATA_WRITER = Buffer.from(
  'be80003000bf940030008b1e83fbff746c66baf60189d8c1e818240f0ce0ee66baf201b001ee66baf30188d8ee66baf40188f8ee66baf501' +
  '89d8c1e810ee66baf701b030eeeca88075fba808741d56b90001000066baf0016689d888dc66efe2fc5e66baf701eca88075fb880766baf101ec' +
  '88470183c70283c604eb8df4909000000000ff0700000008000003000000ffffffffcccccccccccccccccccccccccccccccc', 'hex');
const CODE = 0x300000, RESULTS = 0x300094;
const ERR = 0x01, DRDY = 0x40, UNC = 0x40;

function runAtaWriter(hv: Hypervisor, name: string): number[] {
  const g = hv.get(name);
  hv.runFor(200_000); // the spin kernel sets itself up
  g.vm.writePhys(CODE, ATA_WRITER);
  g.vm.vcpus[0].eip = CODE;
  hv.runFor(50_000_000, () => !!g.vm.stopped);
  expect(g.vm.stopped?.kind).toBe('halted'); // its HLT with interrupts off: done
  return Array.from(g.vm.readPhys(RESULTS, 8));
}

describe('disks seen by a guest through the ATA controller', () => {
  it('a write past the capacity quota is an I/O error for the guest; the file keeps every other byte', () => {
    const file = fresh('guest.img');
    const original = pattern(512 * 1024, 11);
    writeFileSync(file, original);
    const hv = hypervisor([spinVm('d', { disks: [{ file, capacityMiB: 1, sizeMiB: 4 }] })]);
    const [s0, , s1, , s2, e2, s3] = runAtaWriter(hv, 'd');
    expect(s0 & (DRDY | ERR)).toBe(DRDY);
    expect(s1 & (DRDY | ERR)).toBe(DRDY); // the last sector inside the quota
    expect(s2 & ERR).toBe(ERR);            // LBA 2048 would grow the file past 1 MiB
    expect(e2 & UNC).toBe(UNC);
    expect(s3 & (DRDY | ERR)).toBe(DRDY); // and the disk still works
    hv.close();
    const expected = Buffer.alloc(1024 * 1024);
    expected.set(original);
    expected.fill(0x00, 0, 512);
    expected.fill(0x03, 3 * 512, 4 * 512);
    expected.fill(0xff, 2047 * 512, 2048 * 512);
    const now = readFileSync(file);
    expect(now.length).toBe(1024 * 1024);
    expect(Buffer.compare(now, expected)).toBe(0);
  });

  it('throttled writes complete later, in the VM\'s time, and none is lost', () => {
    const file = fresh('throttled.img');
    // 1 KiB per 10 ms: two sectors at once, then one every 5 ms
    const hv = hypervisor([spinVm('t', { disks: [{ file, capacityMiB: 4, bandwidth: { size: 1024, refillTimeMs: 10 } }] })]);
    const g = hv.get('t');
    const t0 = g.pc.clock.now();
    const results = runAtaWriter(hv, 't');
    for (let i = 0; i < 4; i++) expect(results[2 * i] & (DRDY | ERR)).toBe(DRDY);
    expect(g.pc.clock.now() - t0).toBeGreaterThanOrEqual(10e6); // two waits of 5 ms
    expect((g.disks[0] as RateLimitedDisk).throttled).toBeGreaterThanOrEqual(2);
    hv.close();
    const bytes = readFileSync(file);
    expect([bytes[0], bytes[3 * 512], bytes[2047 * 512], bytes[2048 * 512]]).toEqual([0x00, 0x03, 0xff, 0x00]);
  });
});
