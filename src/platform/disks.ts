// The PC's disk images: raw files checked before use (present, whole sectors),
// opened read-write, or with `snapshot` behind a copy-on-write overlay in a
// temporary file that is deleted at close, so the image stays byte-identical.
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECTOR_SIZE, type BlockDevice } from '../storage/block-device.js';
import { RawFileDisk } from '../storage/raw-file.js';
import { CowOverlayDisk } from '../storage/cow-overlay.js';
import { TrapezeError } from '../errors.js';

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

/** A snapshot disk: writes go to an overlay that disappears when the disk closes. */
class SnapshotDisk extends CowOverlayDisk {
  constructor(base: BlockDevice, private readonly dir: string) { super(base, join(dir, 'overlay.cow')); }
  override close(): void {
    super.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function openDiskImages(paths: string[], snapshot: boolean): BlockDevice[] {
  if (paths.length > 2) throw new TrapezeError(`at most two disks fit on the primary IDE channel (got ${paths.length})`);
  paths.forEach(checkDiskImage);
  return paths.map((path) => {
    if (!snapshot) return new RawFileDisk(path);
    return new SnapshotDisk(new RawFileDisk(path, { readOnly: true }), mkdtempSync(join(tmpdir(), 'trapeze-snapshot-')));
  });
}
