// A PC booting an unmodified OS from sector 0 of an IDE disk (issue 5's "done
// when"): scripts/make-linux-disk puts Debian's GRUB in the MBR and the gap
// after it, and Debian's i386 kernel, an initramfs and busybox on an ext2
// partition. The built-in BIOS loads sector 0; GRUB reads the partition through
// INT 13h and boots Linux on the serial console; Linux loads libata and
// pata_legacy, reads the file system over the ATA model on 0x1F0/IRQ 14 and
// switches its root to it. Commands typed on COM1 check the LAPIC timer, the MP
// table, the mount and a write then read back on the disk; with --snapshot the
// image stays byte-identical. A heavy run: `npm run test:linux`. Without the
// image it is skipped, loudly.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pc } from '../../src/platform/pc.js';
import { openDiskImages } from '../../src/host/node/disks.js';
import { describeStop } from '../../src/commands/outcome.js';

const DISK = fileURLToPath(new URL('../../.cache/linux/disk.img', import.meta.url));
const present = existsSync(DISK);
if (!present) {
  process.stderr.write(`\n*** SKIPPED: the disk boot test needs ${DISK}: run scripts/fetch-linux, then scripts/make-linux-disk ***\n\n`);
}

const PROMPT = /\/ # $/;
const COMMANDS = [
  'cat /proc/interrupts',
  'ls /',
  'cat /proc/mounts',
  'echo written-through-ata > /root/note.txt',
  'sync; echo 3 > /proc/sys/vm/drop_caches',
  'cat /root/note.txt',
  'dmesg | grep -i -E "mp-table|apic"',
  'cat /proc/interrupts',
  'poweroff -f',
];
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** What the `nth` run of `command` printed: the console between its echo and the next prompt. */
function outputOf(console: string, command: string, nth = 0): string {
  const text = console.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''); // busybox asks the terminal for its cursor position
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(`/ # ${command}`, at + 1);
  if (at < 0) return '';
  const start = at + command.length + 4;
  const end = text.indexOf('/ # ', start);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The LOC (local APIC timer) count on CPU0 from a /proc/interrupts listing. */
const localTimerCount = (listing: string): number => Number(/LOC:\s+(\d+)/.exec(listing)?.[1] ?? NaN);

describe.skipIf(!present)('booting Debian from sector 0 of an IDE disk (GRUB, ext2 root)', () => {
  it('GRUB boots Linux, which mounts the ext2 partition over ATA and runs a shell on COM1 with the LAPIC timer ticking', () => {
    const before = sha256(DISK);
    let console = '';
    let sent = 0;
    let promptAt = 0;
    const started = performance.now();
    const pc: Pc = new Pc({
      memoryMiB: 256,
      disks: openDiskImages([DISK], true),
      serial: (b) => {
        console += String.fromCharCode(b);
        if (sent < COMMANDS.length && PROMPT.test(console)) {
          if (sent === 0) promptAt = performance.now();
          pc.uart.receive(Buffer.from(`${COMMANDS[sent++]}\n`));
        }
      },
    });
    pc.bootDisk();
    const stop = pc.vm.run({ maxInstructions: 40_000_000_000, timeoutMs: 15 * 60_000 });
    pc.close();
    process.stderr.write(`disk boot: shell prompt after ${((promptAt - started) / 1000).toFixed(1)} s, ${stop.kind}\n`);
    const tail = console.slice(-3000);

    expect(console, `the boot stopped (${describeStop(stop)}); last console output:\n${tail}`).toContain('Booting `Debian i386 kernel, root on IDE\'');
    expect(console, tail).toMatch(/ata1\.00: ATA-\d+: Trapeze ATA disk/);
    expect(console, tail).toContain('trapeze: mounted /dev/sda1 from IDE');
    expect(console, tail).toContain('trapeze: root file system on /dev/sda1 (ext2 over IDE)');
    expect(sent, tail).toBe(COMMANDS.length);

    // the marker file and the layout the script put on the ext2 partition
    expect(outputOf(console, 'ls /')).toMatch(/TRAPEZE-DISK[\s\S]*boot|boot[\s\S]*TRAPEZE-DISK/);
    expect(outputOf(console, 'cat /proc/mounts')).toMatch(/^\/dev\/sda1 \/ ext[24] rw/m);
    // written to the disk, dropped from the page cache, read back through the ATA model
    expect(outputOf(console, COMMANDS[5])).toContain('written-through-ata');
    // the kernel found the MP table and the I/O APIC, and routes through them
    const apic = outputOf(console, COMMANDS[6]);
    expect(apic).toMatch(/found SMP MP-table/);
    expect(apic).toMatch(/IOAPIC\[0\]: apic_id 0, version 17, address 0xfec00000/);
    expect(apic).toMatch(/Enabling APIC mode/);
    // the LAPIC timer ticks: LOC rose between the two listings, and the disk has its IRQ 14
    const first = outputOf(console, 'cat /proc/interrupts', 0);
    const second = outputOf(console, 'cat /proc/interrupts', 1);
    expect(first).toMatch(/14:\s+\d+\s+IO-APIC\s+14-edge\s+platform\[pata_legacy/);
    expect(localTimerCount(first)).toBeGreaterThan(0);
    expect(localTimerCount(second)).toBeGreaterThan(localTimerCount(first));

    expect(console).toMatch(/reboot: (Power down|System halted)/);
    expect(stop.kind).toBe('halted');
    // --snapshot: the guest's writes went to the overlay, the image is untouched
    expect(sha256(DISK)).toBe(before);
  });
});
