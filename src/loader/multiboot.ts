// Multiboot (version 1) loader: places an ELF32 kernel (or an a.out-kludge
// image) in guest RAM, builds the multiboot information structure, and sets
// the vCPU up as the specification requires: 32-bit flat protected mode,
// EAX = 0x2BADB002, EBX = address of the information structure.
import { TrapezeError } from '../errors.js';
import { isElf, parseElf32 } from './elf.js';
import type { Vm } from '../vm/vm.js';
import { enterFlat32 } from './flat32.js';

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;
const FLAG_AOUT_KLUDGE = 1 << 16;
/** Header flags 0-15 that this loader honours; any other low bit must make it refuse. */
const KNOWN_REQUIRED = (1 << 0) | (1 << 1) | (1 << 2);

// Where the loader puts its own structures (below the EBDA, above the IVT/BDA).
const GDT_ADDR = 0x8f00;
const INFO_ADDR = 0x9000;
const MMAP_ADDR = 0x9100;
const LOADER_NAME_ADDR = 0x9300;
const CMDLINE_ADDR = 0x9400;
const CMDLINE_MAX = 0x0c00;
const LOADER_AREA_END = CMDLINE_ADDR + CMDLINE_MAX;
/** Conventional memory ends at 639 KiB; the EBDA and ROMs follow. */
const LOW_MEMORY_END = 0x9fc00;

export interface MultibootHeader {
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

export interface LoadedKernel {
  entry: number;
  /** [start, end) of each range the kernel occupies in guest-physical memory. */
  ranges: [number, number][];
  infoAddr: number;
}

export function findMultibootHeader(file: Uint8Array): MultibootHeader | undefined {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const end = Math.min(file.length - 12, SEARCH_LIMIT - 12);
  for (let off = 0; off <= end; off += 4) {
    if (v.getUint32(off, true) !== MULTIBOOT_MAGIC) continue;
    const flags = v.getUint32(off + 4, true);
    const checksum = v.getUint32(off + 8, true);
    if (((MULTIBOOT_MAGIC + flags + checksum) >>> 0) !== 0) continue;
    const field = (i: number) => (off + 12 + i * 4 + 4 <= file.length ? v.getUint32(off + 12 + i * 4, true) : 0);
    return {
      offset: off, flags,
      headerAddr: field(0), loadAddr: field(1), loadEndAddr: field(2), bssEndAddr: field(3), entryAddr: field(4),
    };
  }
  return undefined;
}

/** Load `file` (named `what` in errors) into `vm` and set up vCPU 0 to enter it. */
export function loadMultiboot(vm: Vm, file: Uint8Array, what: string, cmdline = ''): LoadedKernel {
  // an ELF file must be well-formed whichever addresses end up being used
  const elf = isElf(file) ? parseElf32(file, what) : undefined;
  const header = findMultibootHeader(file);
  if (!header) throw new TrapezeError(`${what}: no multiboot header in the first 8 KiB (magic 0x1BADB002 with a valid checksum)`);
  const unknown = header.flags & 0xffff & ~KNOWN_REQUIRED;
  if (unknown) throw new TrapezeError(`${what}: multiboot header requires features this loader does not provide (flags 0x${unknown.toString(16)})`);

  const ranges: [number, number][] = [];
  let entry: number;
  const place = (addr: number, bytes: Uint8Array, memSize: number, label: string) => {
    const end = addr + memSize;
    if (end > vm.ramBytes || addr < 0) {
      throw new TrapezeError(`${what}: ${label} at 0x${addr.toString(16)}-0x${end.toString(16)} lies outside guest RAM (${vm.ramBytes / 1048576} MiB)`);
    }
    if (addr < LOADER_AREA_END && end > GDT_ADDR) {
      throw new TrapezeError(`${what}: ${label} at 0x${addr.toString(16)} overlaps the loader's area 0x${GDT_ADDR.toString(16)}-0x${LOADER_AREA_END.toString(16)}`);
    }
    vm.writePhys(addr, bytes);
    if (memSize > bytes.length) vm.fillPhys(addr + bytes.length, memSize - bytes.length, 0);
    ranges.push([addr, end]);
  };

  if (header.flags & FLAG_AOUT_KLUDGE) {
    // the header's address fields say where the image goes
    const { headerAddr, loadAddr, loadEndAddr, bssEndAddr, entryAddr } = header;
    if (loadAddr > headerAddr) throw new TrapezeError(`${what}: multiboot load_addr is above header_addr`);
    const fileStart = header.offset - (headerAddr - loadAddr);
    if (fileStart < 0) throw new TrapezeError(`${what}: multiboot header_addr/load_addr put the image before the file start`);
    const loadEnd = loadEndAddr === 0 ? loadAddr + (file.length - fileStart) : loadEndAddr;
    if (loadEnd < loadAddr) throw new TrapezeError(`${what}: multiboot load_end_addr is below load_addr`);
    const size = loadEnd - loadAddr;
    if (fileStart + size > file.length) throw new TrapezeError(`${what}: truncated image: multiboot header asks for ${size} bytes from offset ${fileStart}, file has ${file.length}`);
    const memEnd = bssEndAddr === 0 ? loadEnd : bssEndAddr;
    if (memEnd < loadEnd) throw new TrapezeError(`${what}: multiboot bss_end_addr is below load_end_addr`);
    place(loadAddr, file.subarray(fileStart, fileStart + size), memEnd - loadAddr, 'image');
    entry = entryAddr;
  } else {
    if (!elf) throw new TrapezeError(`${what}: not an ELF file, and its multiboot header has no load addresses (flag 16)`);
    elf.segments.forEach((s, i) => place(s.paddr, file.subarray(s.offset, s.offset + s.fileSize), s.memSize, `segment ${i}`));
    entry = elf.entry;
  }

  const infoAddr = writeInfo(vm, cmdline);
  enterProtectedMode(vm, entry, infoAddr);
  return { entry, ranges, infoAddr };
}

// Multiboot information structure flags.
const INFO_MEM = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MMAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;

function writeInfo(vm: Vm, cmdline: string): number {
  const enc = new TextEncoder();
  const cmd = enc.encode(cmdline);
  if (cmd.length + 1 > CMDLINE_MAX) throw new TrapezeError(`command line is too long (${cmd.length} bytes, at most ${CMDLINE_MAX - 1})`);
  vm.fillPhys(GDT_ADDR, LOADER_AREA_END - GDT_ADDR, 0);
  vm.writePhys(CMDLINE_ADDR, cmd);
  vm.writePhys(LOADER_NAME_ADDR, enc.encode('Trapeze\0'));

  // memory map: conventional memory, EBDA, the BIOS area, then RAM above 1 MiB
  const ram = vm.ramBytes;
  const map: [number, number, number][] = [
    [0, LOW_MEMORY_END, 1],
    [LOW_MEMORY_END, 0xa0000 - LOW_MEMORY_END, 2],
    [0xf0000, 0x10000, 2],
  ];
  if (ram > 0x100000) map.push([0x100000, ram - 0x100000, 1]);
  const mm = new DataView(new ArrayBuffer(map.length * 24));
  map.forEach(([base, length, type], i) => {
    const o = i * 24;
    mm.setUint32(o, 20, true); // size of the entry, not counting this field
    mm.setBigUint64(o + 4, BigInt(base), true);
    mm.setBigUint64(o + 12, BigInt(length), true);
    mm.setUint32(o + 20, type, true);
  });
  vm.writePhys(MMAP_ADDR, new Uint8Array(mm.buffer));

  const info = new DataView(new ArrayBuffer(88));
  info.setUint32(0, INFO_MEM | INFO_CMDLINE | INFO_MMAP | INFO_LOADER_NAME, true);
  info.setUint32(4, LOW_MEMORY_END >> 10, true);                 // mem_lower, KiB
  info.setUint32(8, Math.max(0, ram - 0x100000) >> 10, true);     // mem_upper, KiB above 1 MiB
  info.setUint32(16, CMDLINE_ADDR, true);
  info.setUint32(44, map.length * 24, true);
  info.setUint32(48, MMAP_ADDR, true);
  info.setUint32(64, LOADER_NAME_ADDR, true);
  vm.writePhys(INFO_ADDR, new Uint8Array(info.buffer));

  return INFO_ADDR;
}

/** The machine state the multiboot specification promises at the entry point. */
function enterProtectedMode(vm: Vm, entry: number, infoAddr: number): void {
  // a flat GDT (null, code 0x08, data 0x10) for guests that reload segments before setting their own
  enterFlat32(vm, { gdt: GDT_ADDR, code: 0x08, data: 0x10, entry });
  const cpu = vm.vcpus[0];
  cpu.setReg('eax', MULTIBOOT_BOOTLOADER_MAGIC);
  cpu.setReg('ebx', infoAddr);
  cpu.setReg('esp', 0x7ff0);
}
