// The Linux boot protocol loader, with crafted bzImage-format files: the
// errors it reports and the boot_params it writes, and the 32-bit entry state.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMachine } from '../src/machine.js';
import { loadLinux, parseBzImage, Hdr, Params, BOOT_PARAMS_ADDR, CMDLINE_ADDR, E820_RAM, E820_RESERVED } from '../src/loader/linux.js';
import { TrapezeError } from '../src/errors.js';
import { tempFile } from './support/image.js';
import { bzImage } from './support/bzimage.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));

function boot(file: Uint8Array, opts: { memoryMiB?: number; cmdline?: string; initrd?: Uint8Array } = {}) {
  const m = createMachine({ memoryMiB: opts.memoryMiB ?? 16 });
  const loaded = loadLinux(m.vm, file, 'bzImage', opts.cmdline ?? '', opts.initrd && { data: opts.initrd, what: 'initrd' });
  return { m, loaded };
}

describe('Linux boot protocol: bad input', () => {
  it('rejects a file that is not a bzImage', () => {
    expect(() => parseBzImage(new Uint8Array(100), 'x')).toThrow(/not a bzImage \(100 bytes is too short/);
    expect(() => parseBzImage(bzImage({ magic: 0 }), 'x')).toThrow(/not a bzImage \(no "HdrS"/);
    expect(() => parseBzImage(bzImage({ loadflags: 0 }), 'x')).toThrow(/a zImage \(loaded low\), not a bzImage/);
  });

  it('rejects a boot protocol older than 2.06', () => {
    expect(() => parseBzImage(bzImage({ version: 0x205 }), 'old')).toThrow(TrapezeError);
    expect(() => parseBzImage(bzImage({ version: 0x205 }), 'old')).toThrow('old: Linux boot protocol 2.05 is too old (this loader needs 2.06 or later)');
    expect(parseBzImage(bzImage({ version: 0x206 }), 'ok').version).toBe(0x206);
  });

  it('rejects an initrd that does not fit above the kernel', () => {
    // 4 MiB of RAM, the kernel works up to 1 MiB + 2 MiB: a 1.5 MiB initrd has no room
    expect(() => boot(bzImage({ initSize: 0x200000 }), { memoryMiB: 4, initrd: new Uint8Array(0x180000) }))
      .toThrow(/initrd: the initrd \(1572864 bytes\) does not fit between the kernel \(ends at 0x300000\) and 0x400000/);
    // and one below initrd_addr_max when the kernel limits it
    expect(() => boot(bzImage({ initrdAddrMax: 0x2fffff }), { memoryMiB: 16, initrd: new Uint8Array(0x200000) }))
      .toThrow(/does not fit/);
    expect(() => boot(bzImage(), { initrd: new Uint8Array(0) })).toThrow(/the initrd is empty/);
  });

  it('rejects a kernel that needs more RAM than the VM has', () => {
    expect(() => boot(bzImage({ initSize: 0x800000 }), { memoryMiB: 4 })).toThrow(/needs guest RAM up to 0x900000 \(9 MiB\); the VM has 4 MiB/);
  });

  it('reports the errors on the command line with the bad-input status', () => {
    const notBz = tempFile('not-bz', new Uint8Array(1000));
    let r = spawnSync(process.execPath, [BIN, 'run', '--kernel', notBz], { encoding: 'utf8' });
    expect(r.stderr).toContain('not a bzImage');
    expect(r.status).toBe(2);
    const kernel = tempFile('bz', bzImage());
    r = spawnSync(process.execPath, [BIN, 'run', '--kernel', kernel, '--initrd', '/nonexistent/initrd'], { encoding: 'utf8' });
    expect(r.stderr).toContain('/nonexistent/initrd: no such file');
    expect(r.status).toBe(2);
    r = spawnSync(process.execPath, [BIN, 'run', '--initrd', kernel], { encoding: 'utf8' });
    expect(r.stderr).toContain('--initrd needs a kernel (a multiboot image or --kernel)');
    expect(r.status).toBe(2);
    r = spawnSync(process.execPath, [BIN, 'run'], { encoding: 'utf8' });
    expect(r.stderr).toContain('nothing to run');
    expect(r.status).toBe(2);
  });

  it('boots a bzImage on the PC platform from the command line', () => {
    // the kernel reads boot_params and halts with interrupts off: status 0
    const kernel = tempFile('bz', bzImage());
    const r = spawnSync(process.execPath, [BIN, 'run', '--kernel', kernel, '--append', 'x', '--max-instructions', '1000'], { encoding: 'utf8', input: '' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('Linux boot protocol: what the loader writes', () => {
  const initrd = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 0xff);
  const { m, loaded } = boot(bzImage(), { cmdline: 'console=ttyS0 quiet', initrd });
  const vm = m.vm;
  const bp = new DataView(vm.readPhys(BOOT_PARAMS_ADDR, 4096).buffer.slice(0));
  const u32 = (o: number) => bp.getUint32(o, true);

  it('fills the setup header fields of boot_params', () => {
    expect(bp.getUint8(Hdr.typeOfLoader)).toBe(0xff);
    expect(bp.getUint8(Hdr.loadflags) & 0x81).toBe(0x81); // LOADED_HIGH kept, CAN_USE_HEAP set
    expect(u32(Hdr.magic)).toBe(0x53726448);             // the kernel's own header was copied
    expect(bp.getUint16(Hdr.version, true)).toBe(0x20f);
    expect(u32(Hdr.code32Start)).toBe(0x100000);
    expect(u32(Hdr.cmdLinePtr)).toBe(CMDLINE_ADDR);
    expect(new TextDecoder().decode(vm.readPhys(CMDLINE_ADDR, 20))).toBe('console=ttyS0 quiet\0');
  });

  it('places the initrd page-aligned at the top of RAM and records it', () => {
    const addr = u32(Hdr.ramdiskImage);
    expect(u32(Hdr.ramdiskSize)).toBe(10000);
    expect(addr % 4096).toBe(0);
    expect(addr).toBe(Math.floor((16 * 1048576 - 10000) / 4096) * 4096);
    expect(loaded.initrd).toEqual({ addr, size: 10000 });
    expect([...vm.readPhys(addr, 10000)]).toEqual([...initrd]);
  });

  it('writes an e820 map: low RAM, the EBDA and BIOS holes, RAM above 1 MiB', () => {
    expect(bp.getUint8(Params.e820Entries)).toBe(4);
    const entry = (i: number) => {
      const o = Params.e820Table + i * 20;
      return [Number(bp.getBigUint64(o, true)), Number(bp.getBigUint64(o + 8, true)), u32(o + 16)];
    };
    expect(entry(0)).toEqual([0, 0x9fc00, E820_RAM]);
    expect(entry(1)).toEqual([0x9fc00, 0x400, E820_RESERVED]);
    expect(entry(2)).toEqual([0xf0000, 0x10000, E820_RESERVED]);
    expect(entry(3)).toEqual([0x100000, 15 * 1048576, E820_RAM]);
    expect(u32(Params.altMemK)).toBe(15 * 1024);
  });

  it('enters the kernel at code32_start in flat 32-bit mode with ESI = boot_params', () => {
    const cpu = vm.vcpus[0];
    expect(cpu.eip).toBe(0x100000);
    expect(cpu.reg('esi')).toBe(BOOT_PARAMS_ADDR);
    expect(cpu.segment('cs')).toMatchObject({ selector: 0x10, base: 0, limit: 0xffffffff });
    expect(cpu.segment('ds')).toMatchObject({ selector: 0x18, base: 0, limit: 0xffffffff });
    expect(cpu.eflags & 0x200).toBe(0); // interrupts off
    // the kernel code runs from there and reads boot_params through ESI
    const stop = vm.run({ maxInstructions: 100 });
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('eax') & 0xff).toBe(0xff);
    expect(cpu.reg('ebx')).toBe(CMDLINE_ADDR);
  });
});
