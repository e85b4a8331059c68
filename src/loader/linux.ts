// Linux boot protocol loader (Documentation/arch/x86/boot.rst): reads a
// bzImage's setup header, fills the zero page (boot_params) with the loader
// type, the command line, the initrd and an e820 memory map, places the
// protected-mode kernel at code32_start and enters it by the 32-bit boot path:
// flat 4 GiB segments (__BOOT_CS 0x10, __BOOT_DS 0x18), interrupts off,
// ESI = boot_params. The real-mode setup code is not run.
import { TrapezeError } from '../errors.js';
import type { Vm } from '../vm/vm.js';
import { enterFlat32 } from './flat32.js';

/** Setup header fields: offsets in the file and in boot_params alike. */
export const Hdr = {
  setupSects: 0x1f1,
  bootFlag: 0x1fe,
  jump: 0x200,
  magic: 0x202,
  version: 0x206,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  heapEndPtr: 0x224,
  cmdLinePtr: 0x228,
  initrdAddrMax: 0x22c,
  cmdlineSize: 0x238,
  initSize: 0x260,
} as const;

/** boot_params fields outside the setup header. */
export const Params = {
  altMemK: 0x1e0,
  e820Entries: 0x1e8,
  e820Table: 0x2d0,
} as const;

const HDRS = 0x53726448; // "HdrS"
const LOADED_HIGH = 0x01;
const CAN_USE_HEAP = 0x80;
/** 2.06 added cmdline_size; every kernel of the last 15 years has it. */
export const MIN_PROTOCOL = 0x206;
/** "Undefined" boot loader id (boot.rst: 0xFF). */
const LOADER_TYPE = 0xff;

// Where the loader puts its structures in low memory.
export const BOOT_PARAMS_ADDR = 0x10000;
export const CMDLINE_ADDR = 0x20000;
const GDT_ADDR = 0x1000;
const LOW_MEMORY_END = 0x9fc00;
const KERNEL_ADDR = 0x100000;

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface LinuxImage {
  version: number;
  setupSects: number;
  code32Start: number;
  cmdlineSize: number;
  initrdAddrMax: number;
  initSize: number;
  /** The protected-mode kernel: everything after the setup sectors. */
  kernel: Uint8Array;
}

export interface LoadedLinux {
  image: LinuxImage;
  bootParams: number;
  cmdline: number;
  initrd?: { addr: number; size: number };
  e820: [number, number, number][];
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Read and check the setup header of a bzImage. */
export function parseBzImage(file: Uint8Array, what: string): LinuxImage {
  if (file.length < 0x264) throw new TrapezeError(`${what}: not a bzImage (${file.length} bytes is too short for a Linux setup header)`);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint16(Hdr.bootFlag, true) !== 0xaa55 || v.getUint32(Hdr.magic, true) !== HDRS) {
    throw new TrapezeError(`${what}: not a bzImage (no "HdrS" Linux setup header at 0x202)`);
  }
  const version = v.getUint16(Hdr.version, true);
  const versionText = `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
  if (version < MIN_PROTOCOL) {
    throw new TrapezeError(`${what}: Linux boot protocol ${versionText} is too old (this loader needs 2.06 or later)`);
  }
  if (!(file[Hdr.loadflags] & LOADED_HIGH)) throw new TrapezeError(`${what}: a zImage (loaded low), not a bzImage`);
  const setupSects = file[Hdr.setupSects] || 4;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= file.length) throw new TrapezeError(`${what}: truncated bzImage: ${setupSects} setup sectors but only ${file.length} bytes`);
  return {
    version,
    setupSects,
    code32Start: v.getUint32(Hdr.code32Start, true),
    cmdlineSize: v.getUint32(Hdr.cmdlineSize, true),
    initrdAddrMax: v.getUint32(Hdr.initrdAddrMax, true),
    initSize: version >= 0x20a ? v.getUint32(Hdr.initSize, true) : 0,
    kernel: file.subarray(kernelOffset),
  };
}

/** The e820 map this machine reports: low RAM, the EBDA/BIOS holes, RAM above 1 MiB. */
export function e820Map(ramBytes: number): [number, number, number][] {
  const map: [number, number, number][] = [
    [0, LOW_MEMORY_END, E820_RAM],
    [LOW_MEMORY_END, 0xa0000 - LOW_MEMORY_END, E820_RESERVED],
    [0xf0000, 0x10000, E820_RESERVED],
  ];
  if (ramBytes > KERNEL_ADDR) map.push([KERNEL_ADDR, ramBytes - KERNEL_ADDR, E820_RAM]);
  return map;
}

/** Load a bzImage (and an initrd) into `vm` and set vCPU 0 at its 32-bit entry. */
export function loadLinux(vm: Vm, file: Uint8Array, what: string, cmdline = '', initrd?: { data: Uint8Array; what: string }): LoadedLinux {
  const image = parseBzImage(file, what);
  const ram = vm.ramBytes;
  const load = image.code32Start || KERNEL_ADDR;
  // the decompressor works in place from code32_start up to init_size
  const kernelEnd = load + Math.max(image.kernel.length, image.initSize);
  if (kernelEnd > ram) {
    throw new TrapezeError(`${what}: the kernel needs guest RAM up to ${hex(kernelEnd)} (${Math.ceil(kernelEnd / 1048576)} MiB); the VM has ${ram / 1048576} MiB`);
  }
  const cmd = new TextEncoder().encode(cmdline);
  const cmdMax = image.cmdlineSize || 255;
  if (cmd.length > cmdMax) throw new TrapezeError(`kernel command line is too long (${cmd.length} bytes; this kernel takes at most ${cmdMax})`);

  let placedInitrd: { addr: number; size: number } | undefined;
  if (initrd) {
    // as high as the kernel allows, page-aligned, above the kernel's working area
    const size = initrd.data.length;
    if (size === 0) throw new TrapezeError(`${initrd.what}: the initrd is empty`);
    const top = Math.min(ram, image.initrdAddrMax + 1);
    const addr = Math.floor((top - size) / 4096) * 4096;
    if (addr < kernelEnd) {
      throw new TrapezeError(`${initrd.what}: the initrd (${size} bytes) does not fit between the kernel (ends at ${hex(kernelEnd)}) and ${hex(top)}; give the VM more memory`);
    }
    vm.writePhys(addr, initrd.data);
    placedInitrd = { addr, size };
  }

  vm.writePhys(load, image.kernel);

  // boot_params: zeroed, then the kernel's own setup header, then what the loader fills in
  const bp = new Uint8Array(4096);
  const setupEnd = 0x202 + file[0x201];
  bp.set(file.subarray(Hdr.setupSects, Math.min(setupEnd, file.length)), Hdr.setupSects);
  const p = new DataView(bp.buffer);
  p.setUint8(Hdr.typeOfLoader, LOADER_TYPE);
  p.setUint8(Hdr.loadflags, (bp[Hdr.loadflags] | CAN_USE_HEAP) & ~0x20 /* no QUIET */);
  p.setUint16(Hdr.heapEndPtr, 0xfe00, true);
  p.setUint32(Hdr.cmdLinePtr, CMDLINE_ADDR, true);
  p.setUint32(Hdr.code32Start, load, true);
  p.setUint32(Hdr.ramdiskImage, placedInitrd?.addr ?? 0, true);
  p.setUint32(Hdr.ramdiskSize, placedInitrd?.size ?? 0, true);
  p.setUint32(Params.altMemK, Math.max(0, ram - KERNEL_ADDR) >> 10, true);
  const e820 = e820Map(ram);
  p.setUint8(Params.e820Entries, e820.length);
  e820.forEach(([base, length, type], i) => {
    const o = Params.e820Table + i * 20;
    p.setBigUint64(o, BigInt(base), true);
    p.setBigUint64(o + 8, BigInt(length), true);
    p.setUint32(o + 16, type, true);
  });
  vm.writePhys(BOOT_PARAMS_ADDR, bp);
  vm.fillPhys(CMDLINE_ADDR, cmdMax + 1, 0);
  vm.writePhys(CMDLINE_ADDR, cmd);

  enter32(vm, load);
  return { image, bootParams: BOOT_PARAMS_ADDR, cmdline: CMDLINE_ADDR, initrd: placedInitrd, e820 };
}

/** The 32-bit boot protocol's entry state: __BOOT_CS 0x10, __BOOT_DS 0x18, ESI = boot_params. */
function enter32(vm: Vm, entry: number): void {
  enterFlat32(vm, { gdt: GDT_ADDR, code: 0x10, data: 0x18, entry });
  const cpu = vm.vcpus[0];
  for (const r of ['eax', 'ebx', 'ecx', 'edx', 'ebp', 'edi'] as const) cpu.setReg(r, 0);
  cpu.setReg('esi', BOOT_PARAMS_ADDR);
  cpu.setReg('esp', BOOT_PARAMS_ADDR); // the protocol asks for none; a valid one costs nothing
}
