// The PC boots: from sector 0 of a disk image through the built-in BIOS, from
// a firmware ROM at the reset vector, a multiboot kernel on the PC; reset
// through the 8042; --snapshot; and the bad inputs the CLI must refuse.
import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { copyFileSync, readFileSync, writeFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pc } from '../src/platform/pc.js';
import { createMachine } from '../src/machine.js';
import { openDiskImages } from '../src/host/node/disks.js';
import { BufferedInput } from '../src/platform/host-input.js';
import { IMAGES, expected, significantLines } from './support/guest.js';
import { exitStatus } from '../src/commands/outcome.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
function trapeze(args: string[], input = '') {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'latin1', input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const dir = mkdtempSync(join(tmpdir(), 'trapeze-pc-'));

// The shipped disk images are booted here only through --snapshot or a copy: they end as they began.
const SHIPPED = ['pcboot', 'pcshell'].map((n) => `${IMAGES}${n}.img`);
const digest = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
let shippedBefore: string[] = [];
beforeAll(() => { shippedBefore = SHIPPED.map(digest); });
afterAll(() => {
  expect(SHIPPED.map(digest)).toEqual(shippedBefore);
  rmSync(dir, { recursive: true, force: true });
});
function diskCopy(name: string): string {
  const path = join(dir, `${name}-${Math.random().toString(36).slice(2)}.img`);
  copyFileSync(`${IMAGES}${name}.img`, path);
  return path;
}

function bootPcboot(snapshot = false) {
  const path = diskCopy('pcboot');
  let serial = '';
  const pc = new Pc({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); }, disks: openDiskImages([path], snapshot) });
  pc.bootDisk();
  const stop = pc.vm.run({ maxInstructions: 50_000_000 });
  pc.close();
  return { pc, serial, stop, path };
}

describe('booting from a disk image', () => {
  it('pcboot: sector 0 at 7C00 with DL=80h, INT 10h/13h, MP tables, ATA with IRQ 14, APIC timer, PIT via the I/O APIC — as on QEMU', () => {
    const { pc, serial, stop, path } = bootPcboot();
    const want = expected('pcboot');
    expect(significantLines(serial)).toEqual(want.lines);
    expect(exitStatus(stop)).toBe(want.status);
    expect(pc.cga.lines()[0]).toBe('pcboot: sector 0 running'); // INT 10h teletype, on the CGA screen
    expect(pc.bios.calls.get(0x13)).toBe(1);
    // the guest's write reached the image file: sector 100 holds its pattern
    const sector = readFileSync(path).subarray(100 * 512, 101 * 512);
    expect(sector[1]).toBe((1 + 7) ^ 13);
  });

  it('is deterministic on the virtual clock: same output, same instruction count', () => {
    const a = bootPcboot(), b = bootPcboot();
    expect(a.serial).toBe(b.serial);
    expect(a.pc.vm.vcpus[0].instructionsRetired).toBe(b.pc.vm.vcpus[0].instructionsRetired);
    expect(a.pc.clock.now()).toBe(b.pc.clock.now());
  });

  it('--snapshot leaves the disk file byte-identical', () => {
    const path = diskCopy('pcboot');
    const before = readFileSync(path);
    const r = trapeze(['run', '--disk', path, '--snapshot']);
    expect(r.stdout).toContain('ata: sector 100 written and read back');
    expect(r.status).toBe(1);
    expect(Buffer.compare(readFileSync(path), before)).toBe(0);
  });

  it('--snapshot\'s overlay has no name from the start, so even kill -9 leaves nothing behind', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'trapeze-tmpdir-'));
    const path = diskCopy('pcshell');
    const run = spawn(process.execPath, [BIN, 'run', '--disk', path, '--snapshot'], { env: { ...process.env, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise((r) => run.on('exit', (_, signal) => r(signal)));
    let out = '';
    await new Promise<void>((r) => run.stdout.on('data', (d) => { out += d; if (out.includes('$ ')) r(); }));
    run.stdin.write('echo written\n'); // the shell's writes would go to the overlay
    expect(readdirSync(tmp)).toEqual([]); // running, with its overlay open: nothing in TMPDIR
    run.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true });
  });
});

/** A 2 KiB ROM: code at F000:F800, the reset vector jumping there. */
function rom(code: number[]): Uint8Array {
  const r = new Uint8Array(2048).fill(0xff);
  r.set(code, 0);
  r.set([0xea, 0x00, 0xf8, 0x00, 0xf0], 2048 - 16); // JMP F000:F800
  return r;
}

describe('--bios: a firmware image from the reset vector', () => {
  it('runs from F000:FFF0 (the top of 4 GiB), and the 8042 reset (FEh) starts it again', () => {
    // count boots in CMOS byte 40h, print the count on port E9h; reset until it is 2
    const path = join(dir, 'reset.rom');
    writeFileSync(path, rom([
      0xb0, 0x40, 0xe6, 0x70, 0xe4, 0x71, 0xfe, 0xc0, 0xe6, 0x71, // CMOS[40h]++
      0x04, 0x30, 0xe6, 0xe9, 0x3c, 0x32, 0x74, 0x05,             // print; if '2' done
      0xb0, 0xfe, 0xe6, 0x64, 0xf4,                               // reset through the 8042
      0xb0, 0x00, 0xe6, 0xf4, 0xf4,                               // debug exit 0
    ]));
    const con = join(dir, 'debugcon.txt');
    const r = trapeze(['run', '--bios', path, '--debugcon', con]);
    expect(readFileSync(con, 'latin1')).toBe('12');
    expect(r.status).toBe(1);
  });

  it('A20 off through the 8042 makes FFFF:0010 wrap to 0000:0000; port 92h turns it on again', () => {
    const path = join(dir, 'a20.rom');
    writeFileSync(path, rom([
      0xb0, 0xd1, 0xe6, 0x64, 0xb0, 0x01, 0xe6, 0x60, // 8042 output port: A20 off
      0x31, 0xc0,                               // xor ax,ax
      0x8e, 0xd8, 0xc6, 0x06, 0x00, 0x00, 0x11, // mov ds,ax; mov byte [0],11h
      0xb8, 0xff, 0xff, 0x8e, 0xd8,             // mov ax,FFFFh; mov ds,ax
      0xa0, 0x10, 0x00, 0xe6, 0xe9,             // mov al,[10h]; out E9h,al (11h if wrapped)
      0xb0, 0x02, 0xe6, 0x92,                   // A20 on
      0xc6, 0x06, 0x10, 0x00, 0x22,             // mov byte [10h],22h (now at 100000h)
      0xa0, 0x10, 0x00, 0xe6, 0xe9,             // 22h
      0x31, 0xc0, 0x8e, 0xd8, 0xa0, 0x00, 0x00, 0xe6, 0xe9, // 0000:0000 still 11h
      0xb0, 0x00, 0xe6, 0xf4, 0xf4,
    ]));
    const con = join(dir, 'a20.txt');
    const r = trapeze(['run', '--bios', path, '--debugcon', con]);
    expect([...readFileSync(con)]).toEqual([0x11, 0x22, 0x11]);
    expect(r.status).toBe(1);
  });
});

describe('a shell on COM1: typed input on IRQ 4 through the I/O APIC, the local APIC timer ticking', () => {
  const typed = readFileSync(`${IMAGES}expected/pcshell.input`);

  it('runs the commands typed on its input, as on QEMU', () => {
    let serial = '';
    const pc = new Pc({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); }, disks: openDiskImages([`${IMAGES}pcshell.img`], true), input: new BufferedInput(typed) });
    pc.bootDisk();
    const stop = pc.vm.run({ maxInstructions: 50_000_000 });
    pc.close();
    const want = expected('pcshell');
    expect(significantLines(serial)).toEqual(want.lines);
    expect(exitStatus(stop)).toBe(want.status);
  });

  it('takes the commands from the stdin of trapeze run', () => {
    const r = trapeze(['run', '--disk', `${IMAGES}pcshell.img`, '--snapshot'], typed.toString('latin1'));
    expect(significantLines(r.stdout)).toEqual(expected('pcshell').lines);
    expect(r.status).toBe(1);
  });
});

describe('a PC guest that waits for nothing', () => {
  it('halted with interrupts on and every timer interrupting nobody: the run ends after a minute of virtual time', () => {
    const path = join(dir, 'halt.rom');
    writeFileSync(path, rom([0xfb, 0xf4, 0xeb, 0xfd])); // sti; hlt; jmp back
    const pc = new Pc({ memoryMiB: 4 });
    pc.bootBios(path);
    const stop = pc.vm.run({ timeoutMs: 20_000 });
    expect(stop.kind).toBe('halted');
    expect(pc.clock.now()).toBeGreaterThanOrEqual(60e9);
    expect(pc.clock.now()).toBeLessThan(62e9);
  });
});

describe('the PC with a multiboot kernel and typed input', () => {
  it('loads the kernel after the firmware set-up (BDA, MP tables in the EBDA) and passes stdin to COM1', () => {
    let serial = '';
    const pc = new Pc({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); }, input: new BufferedInput(new TextEncoder().encode('xyz')) });
    pc.bootMultiboot(`${IMAGES}hello.elf`);
    expect(pc.vm.readPhys(0x413, 2)).toEqual(Uint8Array.of(639 & 0xff, 639 >> 8));
    expect(String.fromCharCode(...pc.vm.readPhys(0x9fe00, 4))).toBe('_MP_');
    const stop = pc.vm.run({ maxInstructions: 10_000_000 });
    expect(serial).toBe('Hello from a Trapeze guest!\n');
    expect(exitStatus(stop)).toBe(1);
    expect(pc.uart.receiveQueued).toBe(3); // typed bytes waiting in the receive FIFO
  });
});

describe('bad input', () => {
  /** `trapeze run --disk` of an image with these bytes: status 2 and this message. */
  function refusedDisk(bytes: number, message: string) {
    const path = join(dir, `bad-${bytes}.img`);
    writeFileSync(path, new Uint8Array(bytes));
    const r = trapeze(['run', '--disk', path]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  }

  it('a disk image whose size is not a multiple of 512', () => refusedDisk(1000, 'whole number of 512-byte sectors'));
  it('a disk without the boot signature', () => refusedDisk(4096, 'not bootable'));

  it('a missing disk image', () => {
    const r = trapeze(['run', '--disk', join(dir, 'nope.img')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no such disk image');
  });

  it('a ROM larger than its window, and a missing ROM', () => {
    const path = join(dir, 'big.rom');
    writeFileSync(path, new Uint8Array(512 * 1024));
    const r = trapeze(['run', '--bios', path]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('256 KiB');
    const m = trapeze(['run', '--bios', join(dir, 'none.rom')]);
    expect(m.status).toBe(2);
    expect(m.stderr).toContain('no such file');
  });

  it('--boot with something other than disk or kernel', () => {
    const r = trapeze(['run', '--disk', `${IMAGES}pcboot.img`, '--boot', 'floppy', '--snapshot']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--boot must be disk or kernel');
  });
});

describe('BIOS services (the ROM stub traps to the host as INT n runs it)', () => {
  const opened: Pc[] = [];
  afterEach(() => { opened.splice(0).forEach((pc) => pc.close()); });
  /** A PC after POST, with vCPU 0 in the INT `vector` stub, as if the guest executed INT vector. */
  function callBios(vector: number, regs: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'edi' | 'esi', number>>) {
    const pc = new Pc({ memoryMiB: 16, disks: openDiskImages([`${IMAGES}pcboot.img`], true), input: new BufferedInput(Uint8Array.of(0x61)) });
    opened.push(pc);
    const cpu = pc.vm.vcpus[0];
    pc.bios.setup();
    cpu.setSegment('cs', { selector: 0xf000, base: 0xf0000, limit: 0xffff, attr: 0x9b });
    for (const s of ['es', 'ss', 'ds'] as const) cpu.setSegment(s, { selector: 0, base: 0, limit: 0xffff, attr: 0x93 });
    cpu.setReg('esp', 0x7000);
    pc.vm.writePhys(0x7004, Uint8Array.of(0x02, 0x02)); // the FLAGS the INT pushed: IF set
    for (const [r, v] of Object.entries(regs)) cpu.setReg(r as 'eax', v!);
    cpu.eip = 0xe100 + vector * 8 + 2; // just after the stub's OUT
    pc.bios.write(0xef, 1, 0);
    return { pc, cpu, carry: (cpu.eflags & 1) === 1 };
  }

  it('INT 15h E820 walks the memory map', () => {
    const entries: number[][] = [];
    let next = 0;
    do {
      const { pc, cpu, carry } = callBios(0x15, { eax: 0xe820, edx: 0x534d4150, ebx: next, ecx: 20, edi: 0x8000 });
      expect(carry).toBe(false);
      expect(cpu.reg('eax')).toBe(0x534d4150);
      const e = new DataView(pc.vm.readPhys(0x8000, 20).buffer);
      entries.push([e.getUint32(0, true), e.getUint32(8, true), e.getUint32(16, true)]);
      next = cpu.reg('ebx');
    } while (next !== 0);
    expect(entries[0]).toEqual([0, 0x9fc00, 1]);
    expect(entries[3]).toEqual([0x100000, 15 << 20, 1]);
    expect(entries).toHaveLength(7);
  });

  it('INT 13h AH=08h gives the disk geometry; INT 12h the base memory; INT 16h a typed key', () => {
    const g = callBios(0x13, { eax: 0x0800, edx: 0x80 });
    expect(g.carry).toBe(false);
    expect(g.cpu.reg('edx')).toBe((15 << 8) | 1); // 16 heads, one disk
    expect(g.cpu.reg('ecx') & 0x3f).toBe(63);
    expect(callBios(0x12, {}).cpu.reg('eax') & 0xffff).toBe(639);
    const k = callBios(0x16, { eax: 0 });
    expect(k.cpu.reg('eax') & 0xffff).toBe(0x1e61); // scancode of A, 'a'
    const none = callBios(0x13, { eax: 0x0200, edx: 0x81 });
    expect(none.carry).toBe(true); // no second disk
  });

  it('INT 10h AH=0Eh writes at the cursor on the CGA screen and moves it', () => {
    const { pc } = callBios(0x10, { eax: 0x0e41 });
    expect(pc.cga.lines()[0]).toBe('A');
    expect(pc.cga.cursor).toBe(1);
  });
});

describe('more than one vCPU, and the wall clock', () => {
  it('CPUID.1:EDX reports the on-chip local APIC on the PC (Linux keeps to the 8259s without it), not on the bare machine', () => {
    const apic = 1 << 9;
    expect(new Pc({ memoryMiB: 16 }).vm.cpuid.leaf(1, 0)[3] & apic).toBe(apic);
    expect(createMachine({ memoryMiB: 16 }).vm.cpuid.leaf(1, 0)[3] & apic).toBe(0);
  });
  it('the MP table lists every vCPU; INIT and SIPI through the local APIC start an AP at vector·4K', () => {
    const pc = new Pc({ memoryMiB: 16, vcpus: 2 });
    pc.bootMultiboot(`${IMAGES}hello.elf`);
    const table = pc.vm.readPhys(0x9fe10, 44 + 2 * 20);
    expect([table[44], table[45], table[64], table[65]]).toEqual([0, 0, 0, 1]); // processor entries, APIC IDs 0 and 1
    const ap = pc.vm.vcpus[1];
    expect(ap.waitingForSipi).toBe(true);
    pc.vm.mmio.write(0xfee00310, 4, 1 << 24);
    pc.vm.mmio.write(0xfee00300, 4, 0x4500); // INIT
    pc.vm.mmio.write(0xfee00300, 4, 0x4608); // startup at 0x8000
    expect(ap.waitingForSipi).toBe(false);
    expect(ap.segment('cs').base).toBe(0x8000);
    expect(ap.eip).toBe(0);
  });

  it('--clock wall boots pcboot with its timers on the host clock', () => {
    const r = trapeze(['run', '--disk', `${IMAGES}pcboot.img`, '--snapshot', '--clock', 'wall']);
    expect(significantLines(r.stdout)).toEqual(expected('pcboot').lines);
    expect(r.status).toBe(1);
  });
});
