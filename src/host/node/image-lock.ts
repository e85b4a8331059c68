// Image locking, as QEMU's: a disk file opened for writing is this VM's
// alone. Within the process, a writer excludes every other opener of the same
// file (by device and inode, so links and other spellings count) and a reader
// excludes writers; many readers share. Between processes, a writer holds
// `<file>.lock` (its pid inside), and a writer or reader elsewhere refuses the
// file while that process lives; a lock left by a process that died is stale
// and replaced. Node has no fcntl locks, hence the file.
import { closeSync, fstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { TrapezeError } from '../../errors.js';

interface Holders { writers: number; readers: number }
const open = new Map<string, Holders>();

/** Take the lock for an open image; returns its release. */
export function lockImage(path: string, fd: number, write: boolean): () => void {
  const st = fstatSync(fd);
  const key = `${st.dev}:${st.ino}`;
  const h = open.get(key) ?? { writers: 0, readers: 0 };
  if (h.writers || (write && h.readers)) {
    throw new TrapezeError(`${path}: already open${h.writers ? ' for writing' : ''} by another disk of this run; a disk written by one VM cannot be shared (open both read-only, or give each an overlay)`);
  }
  const lockFile = `${path}.lock`;
  const other = liveHolder(lockFile);
  if (other !== undefined) throw new TrapezeError(`${path}: in use for writing by process ${other} (${lockFile}); refusing to share it`);
  if (write) takeLockFile(path, lockFile);
  if (write) h.writers++; else h.readers++;
  open.set(key, h);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (write) { h.writers--; rmSync(lockFile, { force: true }); } else h.readers--;
    if (!h.writers && !h.readers) open.delete(key);
  };
}

/** The pid of another live process holding this lock file, if any. */
function liveHolder(lockFile: string): number | undefined {
  let pid: number;
  try { pid = Number(readFileSync(lockFile, 'utf8').trim()); } catch { return undefined; }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try { process.kill(pid, 0); return pid; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined; }
}

function takeLockFile(path: string, lockFile: string): void {
  rmSync(lockFile, { force: true }); // stale (its process is gone) or ours from an earlier open
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new TrapezeError(`${path}: another process took its lock (${lockFile}) just now; refusing to share it`);
    throw new TrapezeError(`${path}: cannot create its lock file ${lockFile} (${code ?? String(e)}); open the image read-only or with an overlay`);
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
}
