// The PC's disk images: raw files checked before use (present, whole sectors),
// opened read-write, or with `snapshot` behind a copy-on-write overlay in a
// temporary file, so the image stays byte-identical. The overlay is unlinked
// as soon as it is open: it lives only as long as the process holds it, so no
// way out (exit, signal, timeout, a crash, kill -9) leaves it behind.
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECTOR_SIZE, type BlockDevice } from '../../storage/block-device.js';
import { RawFileDisk } from './raw-file.js';
import { CowOverlayDisk } from './cow-overlay.js';
import { TrapezeError } from '../../errors.js';

/** Check a disk image file before opening it: it exists and holds whole sectors. */
export function checkDiskImage(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new TrapezeError(`${path}: not a regular file, so not a disk image`);
    size = st.size;
  } catch (e) {
    if (e instanceof TrapezeError) throw e;
    throw new TrapezeError(`${path}: no such disk image`);
  }
  if (size === 0 || size % SECTOR_SIZE !== 0) {
    throw new TrapezeError(`${path}: a disk image must be a whole number of ${SECTOR_SIZE}-byte sectors (it has ${size} bytes)`);
  }
}

/** A snapshot disk: writes go to an overlay file with no name, gone with the process. */
function snapshotDisk(base: BlockDevice): BlockDevice {
  const dir = mkdtempSync(join(tmpdir(), 'trapeze-snapshot-'));
  try {
    return new CowOverlayDisk(base, join(dir, 'overlay.cow'));
  } finally {
    rmSync(dir, { recursive: true, force: true }); // the open overlay stays usable through its descriptor
  }
}

export function openDiskImages(paths: string[], snapshot: boolean): BlockDevice[] {
  if (paths.length > 2) throw new TrapezeError(`at most two disks fit on the primary IDE channel (got ${paths.length})`);
  paths.forEach(checkDiskImage);
  return paths.map((path) => {
    if (!snapshot) return new RawFileDisk(path);
    return snapshotDisk(new RawFileDisk(path, { readOnly: true }));
  });
}
