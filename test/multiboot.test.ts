// The multiboot loader: good images load and enter as the specification says;
// malformed ones are refused with a specific error.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from '../src/loader/multiboot.js';
import { TrapezeError } from '../src/errors.js';
import { kludgeImage, elfImage, multibootHeader, LOAD } from './support/image.js';

function load(bytes: Uint8Array, memoryMiB = 4, cmdline = '') {
  const vm = new Vm({ memoryMiB });
  const k = loadMultiboot(vm, bytes, 'test.elf', cmdline);
  return { vm, k };
}

function error(fn: () => unknown): string {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(TrapezeError); return (e as Error).message; }
  throw new Error('expected a TrapezeError');
}

const elfWithHeader = (extra: Partial<Parameters<typeof elfImage>[1]> = {}) => {
  const body = new Uint8Array(64);
  body.set(multibootHeader(), 0);
  body.set([0xf4], 12); // hlt
  return elfImage(body, { entry: LOAD + 12, ...extra });
};

describe('multiboot loader', () => {
  it('loads an ELF through its program headers and enters in flat protected mode', () => {
    const { vm, k } = load(elfWithHeader({ memSize: 0x2000 }));
    expect(k.entry).toBe(LOAD + 12);
    expect(k.ranges).toEqual([[LOAD, LOAD + 0x2000]]);
    const cpu = vm.vcpus[0];
    expect(cpu.eip).toBe(LOAD + 12);
    expect(cpu.reg('eax')).toBe(MULTIBOOT_BOOTLOADER_MAGIC);
    expect(cpu.reg('ebx')).toBe(k.infoAddr);
    expect(cpu.get('cr0') & 1).toBe(1);
    expect(cpu.segment('cs')).toMatchObject({ base: 0, limit: 0xffffffff });
    expect(cpu.eflags & 0x200).toBe(0);
    // the segment bytes are in RAM and the bss is zeroed
    expect([...vm.readPhys(LOAD, 4)]).toEqual([0x02, 0xb0, 0xad, 0x1b]);
    expect(vm.readPhys(LOAD + 64, 16).every((b) => b === 0)).toBe(true);
  });

  it('fills the information structure: memory, command line, memory map, loader name', () => {
    const { vm, k } = load(elfWithHeader(), 8, 'console=ttyS0 quiet');
    const info = k.infoAddr;
    const flags = vm.readPhys32(info);
    expect(flags & 0x245).toBe(0x245); // mem, cmdline, mmap, loader name
    expect(vm.readPhys32(info + 4)).toBe(639);
    expect(vm.readPhys32(info + 8)).toBe(7 * 1024);
    const cmd = vm.readPhys(vm.readPhys32(info + 16), 20);
    expect(new TextDecoder().decode(cmd.subarray(0, cmd.indexOf(0)))).toBe('console=ttyS0 quiet');
    const mmapLen = vm.readPhys32(info + 44), mmapAddr = vm.readPhys32(info + 48);
    const entries: [number, number, number][] = [];
    for (let o = 0; o < mmapLen; o += 24) {
      const e = vm.readPhys(mmapAddr + o, 24);
      const d = new DataView(e.buffer);
      entries.push([Number(d.getBigUint64(4, true)), Number(d.getBigUint64(12, true)), d.getUint32(20, true)]);
    }
    expect(entries).toContainEqual([0x100000, 7 * 1024 * 1024, 1]);
    expect(entries).toContainEqual([0, 0x9fc00, 1]);
  });

  it('loads an a.out-kludge image at the header addresses', () => {
    const { vm, k } = load(kludgeImage([0xf4]));
    expect(k.entry).toBe(LOAD + 32);
    expect(vm.readPhys(LOAD + 32, 1)[0]).toBe(0xf4);
  });

  it('refuses a truncated ELF', () => {
    const img = elfWithHeader();
    expect(error(() => load(img.subarray(0, 40)))).toMatch(/test\.elf: truncated ELF header/);
    expect(error(() => load(img.subarray(0, 90)))).toMatch(/truncated ELF: segment 0 needs bytes up to/);
  });

  it('refuses an ELF for another machine', () => {
    expect(error(() => load(elfWithHeader({ machine: 62 })))).toMatch(/ELF machine 62 is not i386/);
  });

  it('refuses a file without a multiboot header', () => {
    expect(error(() => load(elfImage(new Uint8Array(64))))).toMatch(/no multiboot header in the first 8 KiB/);
    expect(error(() => load(new Uint8Array(100)))).toMatch(/no multiboot header/);
  });

  it('refuses a segment that lies outside guest RAM', () => {
    expect(error(() => load(elfWithHeader({ paddr: 0x3ff000, memSize: 0x2000, entry: 0x3ff000 }), 4)))
      .toMatch(/segment 0 at 0x3ff000-0x401000 lies outside guest RAM \(4 MiB\)/);
  });

  it('refuses a header that asks for features the loader lacks', () => {
    const body = new Uint8Array(64);
    body.set(multibootHeader(0x00000008), 0);
    expect(error(() => load(elfImage(body)))).toMatch(/requires features this loader does not provide \(flags 0x8\)/);
  });

  it('refuses a non-ELF image without the a.out kludge', () => {
    const img = new Uint8Array(64);
    img.set(multibootHeader(), 0);
    expect(error(() => load(img))).toMatch(/not an ELF file, and its multiboot header has no load addresses/);
  });
});
