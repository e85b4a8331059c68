// The multiboot loader: good images load and enter as the specification says;
// malformed ones are refused with a specific error.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vm } from '../src/vm/vm.js';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, type MultibootModule } from '../src/loader/multiboot.js';
import { TrapezeError } from '../src/errors.js';
import { kludgeImage, elfImage, multibootHeader, LOAD } from './support/image.js';

function load(bytes: Uint8Array, memoryMiB = 4, cmdline = '', modules: MultibootModule[] = []) {
  const vm = new Vm({ memoryMiB });
  const k = loadMultiboot(vm, bytes, 'test.elf', cmdline, modules);
  return { vm, k };
}

const overlaps = ([s, e]: [number, number], [s2, e2]: [number, number]) => s < e2 && s2 < e;
const cString = (vm: Vm, addr: number) => { const b = vm.readPhys(addr, 256); return new TextDecoder().decode(b.subarray(0, b.indexOf(0))); };

/** Every range the loader wrote for the kernel: the information block, the strings, map and module list it points to. */
function loaderRanges(vm: Vm, info: number): [number, number][] {
  const r: [number, number][] = [[info, info + 88]];
  const str = (a: number) => r.push([a, a + cString(vm, a).length + 1]);
  str(vm.readPhys32(info + 16));
  str(vm.readPhys32(info + 64));
  r.push([vm.readPhys32(info + 48), vm.readPhys32(info + 48) + vm.readPhys32(info + 44)]);
  const mods = vm.readPhys32(info + 24);
  r.push([mods, mods + 16 * vm.readPhys32(info + 20)]);
  for (let i = 0; i < vm.readPhys32(info + 20); i++) str(vm.readPhys32(mods + i * 16 + 8));
  const gdt = vm.vcpus[0].get('gdtrBase');
  r.push([gdt, gdt + vm.vcpus[0].get('gdtrLimit') + 1]);
  return r;
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
    expect(flags & 0x24d).toBe(0x24d); // mem, cmdline, mods, mmap, loader name
    expect(vm.readPhys32(info + 20)).toBe(0); // no modules
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

  it('places its structures and stack where no segment is: a kernel linked at 0x8000 loads', () => {
    // kvm-unit-tests' realmode.flat: a segment from 0x8000, in conventional memory
    const { vm, k } = load(elfWithHeader({ paddr: 0x8000, entry: 0x800c, memSize: 0x9000 }), 4, 'x');
    expect(k.ranges).toEqual([[0x8000, 0x11000]]);
    for (const r of loaderRanges(vm, k.infoAddr)) expect(overlaps(r, k.ranges[0])).toBe(false);
    const esp = vm.vcpus[0].reg('esp');
    expect(overlaps([esp - 0x800, esp], k.ranges[0])).toBe(false);
    expect(cString(vm, vm.readPhys32(k.infoAddr + 16))).toBe('x');
    expect(vm.readPhys(0x8000, 4)).toEqual(Uint8Array.of(0x02, 0xb0, 0xad, 0x1b));
  });

  it('moves above 1 MiB when the kernel fills conventional memory, and refuses only when RAM cannot hold it', () => {
    const { vm, k } = load(elfWithHeader({ paddr: 0x1000, entry: 0x100c, memSize: 0x9ec00 }), 4);
    expect(k.infoAddr).toBeGreaterThanOrEqual(0x100000);
    for (const r of loaderRanges(vm, k.infoAddr)) expect(overlaps(r, k.ranges[0])).toBe(false);
    // a module bigger than the free RAM
    expect(error(() => load(elfWithHeader(), 2, '', [{ data: new Uint8Array(0x100000), cmdline: 'big', what: 'big.bin' }])))
      .toMatch(/big\.bin: module of 1048576 bytes does not fit in guest RAM beside the kernel \(2 MiB; largest free range \d+ bytes\)/);
  });

  it('hands over modules page-aligned after the kernel, each with its string', () => {
    const mods = [
      { data: new TextEncoder().encode('NR_CPUS=2\n'), cmdline: 'env', what: 'env' },
      { data: new Uint8Array(0x1800).fill(0xab), cmdline: 'blob arg', what: 'blob' },
    ];
    const { vm, k } = load(elfWithHeader({ memSize: 0x2345 }), 8, '', mods);
    const info = k.infoAddr;
    expect(vm.readPhys32(info) & 8).toBe(8);
    expect(vm.readPhys32(info + 20)).toBe(2);
    const list = vm.readPhys32(info + 24);
    const got = [0, 1].map((i) => ({
      start: vm.readPhys32(list + i * 16), end: vm.readPhys32(list + i * 16 + 4), string: cString(vm, vm.readPhys32(list + i * 16 + 8)),
    }));
    expect(got.map((m) => m.string)).toEqual(['env', 'blob arg']);
    expect(got.map((m) => m.end - m.start)).toEqual([10, 0x1800]);
    for (const m of got) expect(m.start % 0x1000).toBe(0);
    expect(got[0].start).toBeGreaterThanOrEqual(LOAD + 0x2345);
    expect(new TextDecoder().decode(vm.readPhys(got[0].start, 10))).toBe('NR_CPUS=2\n');
    expect(vm.readPhys(got[1].start, 0x1800).every((b) => b === 0xab)).toBe(true);
    expect(k.modules).toEqual(got.map((m) => [m.start, m.end]));
    for (const r of [...loaderRanges(vm, info), ...k.modules]) expect(overlaps(r, k.ranges[0])).toBe(false);
    expect(overlaps(k.modules[0], k.modules[1])).toBe(false);
  });
});

describe('trapeze run: multiboot modules', () => {
  const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
  const MBINFO = fileURLToPath(new URL('../guest-images/mbinfo.elf', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'trapeze-mods-'));
  const env = join(dir, 'env');
  writeFileSync(env, 'NR_CPUS=1\n');
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'run', ...args], { encoding: 'utf8', input: '' });

  it('--initrd is the first module and each --module follows, on both machines', () => {
    for (const pc of [[], ['--boot', 'kernel']]) {
      const r = run(MBINFO, ...pc, '--initrd', env, '--module', `${env},a b`);
      const mods = r.stdout.split('\n').filter((l) => l.startsWith('module '));
      // "NR_" from the file, page-aligned, the file name then the arguments
      expect(mods).toEqual([
        `module size=0000000A page=00000000 bytes=4E525F43 string='${env}'`,
        `module size=0000000A page=00000000 bytes=4E525F43 string='${env} a b'`,
      ]);
      expect(r.stdout).toContain('PASS');
    }
  });

  it('refuses a missing module, a directory and a module without a kernel in one line with status 2', () => {
    const cases: [string[], string][] = [
      [[MBINFO, '--module', join(dir, 'nope')], `${join(dir, 'nope')}: no such file`],
      [[MBINFO, '--initrd', dir], `${dir}: is a directory, not a module`],
      [[MBINFO, '--module', ',x'], '--module ",x": no file name before the comma'],
      [['--module', env], '--module needs a kernel (a multiboot image or --kernel)'],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.stderr).toBe(`trapeze: ${message}\n`);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(2);
    }
  });
});
