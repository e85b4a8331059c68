// Debian's i386 kernel (686 flavour) and busybox, fetched by scripts/fetch-linux
// into .cache/linux/, on the PC platform (8259, 8254, CMOS, UART interrupts):
// boot to the initramfs shell, run `uname -a` and
// `cat /proc/cpuinfo` typed on the console, power off. A heavy run (billions
// of instructions): `npm run test:linux`. Without the cached kernel it is skipped, loudly.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootLinux } from '../../src/machine.js';
import { Pc } from '../../src/platform/pc.js';
import { describeStop } from '../../src/commands/outcome.js';

const CACHE = fileURLToPath(new URL('../../.cache/linux/', import.meta.url));
const KERNEL = `${CACHE}bzImage`;
const INITRD = `${CACHE}initramfs.cpio`;
const cached = existsSync(KERNEL) && existsSync(INITRD);
if (!cached) {
  process.stderr.write(`\n*** SKIPPED: the Linux boot test needs ${KERNEL} and ${INITRD}: run scripts/fetch-linux ***\n\n`);
}

const PROMPT = /[/~] # $/;
const COMMANDS = ['uname -a', 'cat /proc/cpuinfo', 'poweroff -f'];

describe.skipIf(!cached)('Linux boot (Debian 686 kernel, busybox initramfs)', () => {
  it('boots to the shell, runs uname -a and cat /proc/cpuinfo, and powers off', () => {
    let console = '';
    let sent = 0;
    const pc: Pc = new Pc({
      memoryMiB: 128,
      serial: (b) => {
        console += String.fromCharCode(b);
        // type the next command each time the shell prompts
        if (sent < COMMANDS.length && PROMPT.test(console)) {
          pc.uart.receive(Buffer.from(`${COMMANDS[sent++]}\n`));
        }
      },
    });
    // cryptomgr.notests: the crypto self-tests alone cost ~3 billion instructions
    bootLinux(pc, KERNEL, INITRD, 'console=ttyS0 panic=-1 cryptomgr.notests');
    const stop = pc.vm.run({ maxInstructions: 40_000_000_000, timeoutMs: 15 * 60_000 });
    const tail = console.slice(-3000);
    expect(console, `the boot stopped (${describeStop(stop)}); last console output:\n${tail}`).toContain('trapeze: initramfs ready');
    expect(console).toMatch(/Linux \(none\) 6\.\d+\.\d+-\d+-686 #1 SMP .* i686 GNU\/Linux/);
    expect(console).toMatch(/vendor_id\s*: GenuineIntel/);
    expect(console).toMatch(/flags\s*: fpu .*cmov/);
    expect(console).toMatch(/fpu_exception\s*: yes/); // #MF works: the kernel checked CR0.NE
    // without an ACPI/APM power-off device the kernel halts the CPU
    expect(console).toMatch(/reboot: (Power down|System halted)/);
    expect(stop.kind).toBe('halted');
    expect(sent).toBe(COMMANDS.length);
  });
});
