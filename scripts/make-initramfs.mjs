// Build a tiny initramfs (cpio "newc") around a static busybox:
//   node scripts/make-initramfs.mjs <busybox> <out.cpio>
// /init mounts /proc and /sys, installs the applet links and runs a shell on
// the console.
import { readFileSync, writeFileSync } from 'node:fs';

const INIT = `#!/bin/sh
/bin/busybox mkdir -p /proc /sys /sbin /usr/bin /usr/sbin /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox --install -s
echo "trapeze: initramfs ready"
exec /bin/sh
`;

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

/** One newc record: header, name, data, each padded to 4 bytes. */
function record(ino, name, mode, data = Buffer.alloc(0), rdev = [0, 0]) {
  const hex = (n) => n.toString(16).padStart(8, '0');
  const nameBytes = Buffer.from(name + '\0');
  const fields = [ino, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const header = Buffer.from('070701' + fields.map(hex).join(''));
  const pad = (len) => Buffer.alloc((4 - (len % 4)) % 4);
  return Buffer.concat([header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length)]);
}

const [busyboxPath, outPath] = process.argv.slice(2);
if (!busyboxPath || !outPath) {
  console.error('usage: make-initramfs.mjs <busybox> <out.cpio>');
  process.exit(2);
}
const entries = [
  ['.', S_IFDIR | 0o755],
  ['bin', S_IFDIR | 0o755],
  ['dev', S_IFDIR | 0o755],
  ['proc', S_IFDIR | 0o755],
  ['sys', S_IFDIR | 0o755],
  ['bin/busybox', S_IFREG | 0o755, readFileSync(busyboxPath)],
  ['bin/sh', S_IFLNK | 0o777, Buffer.from('busybox')],
  ['dev/console', S_IFCHR | 0o600, undefined, [5, 1]],
  ['init', S_IFREG | 0o755, Buffer.from(INIT)],
];
const parts = entries.map(([name, mode, data, rdev], i) => record(i + 1, name, mode, data, rdev));
parts.push(record(0, 'TRAILER!!!', 0));
writeFileSync(outPath, Buffer.concat(parts));
console.log(`make-initramfs: ${outPath} (${entries.length} entries)`);
