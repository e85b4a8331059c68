// A disk from its config: the raw file, a copy-on-write overlay when one is
// given (the quota then bounds the overlay), and rate limits in front.
import { SECTOR_SIZE, type BlockDevice } from '../../storage/block-device.js';
import { RawFileDisk } from './raw-file.js';
import { CowOverlayDisk } from './cow-overlay.js';
import { RateLimitedDisk } from '../../storage/rate-limited.js';
import { perSecond } from '../../storage/token-bucket.js';
import type { DiskConfig } from '../../hypervisor/config.js';

const MiB = 1024 * 1024;
const sectorBytes = (mib: number) => Math.ceil((mib * MiB) / SECTOR_SIZE) * SECTOR_SIZE;

export function openDisk(d: DiskConfig): BlockDevice {
  const capacity = d.capacityMiB !== undefined ? sectorBytes(d.capacityMiB) : undefined;
  const size = d.sizeMiB !== undefined ? sectorBytes(d.sizeMiB) : undefined;
  let disk: BlockDevice = d.overlay
    ? new CowOverlayDisk(new RawFileDisk(d.file, { readOnly: true, sizeBytes: size }), d.overlay, capacity, d.file)
    : new RawFileDisk(d.file, { capacityBytes: capacity, sizeBytes: size, readOnly: d.readOnly });
  const bandwidth = d.bandwidth ?? (d.bandwidthBytesPerSec !== undefined ? perSecond(d.bandwidthBytesPerSec) : undefined);
  const ops = d.ops ?? (d.opsPerSec !== undefined ? perSecond(d.opsPerSec) : undefined);
  if (bandwidth || ops) disk = new RateLimitedDisk(disk, { bandwidth, ops });
  return disk;
}
