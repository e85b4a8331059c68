// Multiboot (version 1) loader: places an ELF32 kernel (or an a.out-kludge
// image) in guest RAM, builds the multiboot information structure, and sets
// the vCPU up as the specification requires: 32-bit flat protected mode,
// EAX = 0x2BADB002, EBX = address of the information structure.
import { TrapezeError } from '../errors.js';
import { isElf, parseElf32 } from './elf.js';
import type { Vm } from '../vm/vm.js';
import { enterFlat32 } from './flat32.js';
import { Placement } from './placement.js';

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;
const FLAG_AOUT_KLUDGE = 1 << 16;
/** Header flags 0-15 that this loader honours; any other low bit must make it refuse. */
const KNOWN_REQUIRED = (1 << 0) | (1 << 1) | (1 << 2);

/** Conventional memory ends at 639 KiB; the EBDA and ROMs follow. */
const LOW_MEMORY_END = 0x9fc00;
/** The stack the loader leaves in ESP (the specification leaves ESP undefined; kernels set their own). */
const STACK_BYTES = 0x1000;
const PAGE = 0x1000;

/** A boot module: its bytes, the string the kernel sees with it, and its name in errors. */
export interface MultibootModule {
  data: Uint8Array;
  cmdline: string;
  what: string;
}

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
  /** [start, end) of each module, in the order given. */
  modules: [number, number][];
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
export function loadMultiboot(vm: Vm, file: Uint8Array, what: string, cmdline = '', modules: MultibootModule[] = []): LoadedKernel {
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

  // what the loader hands over goes where no segment is: modules after the kernel (page-aligned,
  // as the header's flag 0 may demand), the structures and the stack in free conventional memory
  const free = new Placement(vm.ramBytes);
  for (const [s, e] of ranges) free.reserve(s, e);
  const kernelEnd = Math.max(0, ...ranges.map(([, e]) => e));
  const placed = modules.map((m) => {
    const at = free.take(m.data.length, PAGE, kernelEnd) ?? free.take(m.data.length, PAGE);
    if (at === undefined) throw new TrapezeError(`${m.what}: module of ${m.data.length} bytes does not fit in guest RAM beside the kernel (${vm.ramBytes / 1048576} MiB; largest free range ${free.largest()} bytes)`);
    vm.writePhys(at, m.data);
    return [at, at + m.data.length] as [number, number];
  });
  const info = buildInfo(vm.ramBytes, cmdline, modules.map((m, i) => ({ range: placed[i], cmdline: m.cmdline })));
  const infoAddr = free.take(info.size, 16, 0);
  if (infoAddr === undefined) throw new TrapezeError(`${what}: no free guest RAM for the multiboot information (${info.size} bytes)`);
  vm.writePhys(infoAddr, info.relocate(infoAddr));
  const stack = free.take(STACK_BYTES, 16, 0);
  if (stack === undefined) throw new TrapezeError(`${what}: no free guest RAM for the loader's stack`);
  enterProtectedMode(vm, entry, infoAddr + info.gdtOffset, infoAddr, stack + STACK_BYTES - 16);
  return { entry, ranges, infoAddr, modules: placed };
}

// Multiboot information structure flags.
const INFO_MEM = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MODS = 1 << 3;
const INFO_MMAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;
const INFO_BYTES = 88;
const GDT_BYTES = 24;

interface InfoBlock {
  size: number;
  gdtOffset: number;
  /** The block with its pointers made absolute for a placement at `base`. */
  relocate(base: number): Uint8Array;
}

/**
 * The information structure and everything it points to, in one block: the
 * structure, the memory map, the module list, the GDT, then the strings.
 */
function buildInfo(ram: number, cmdline: string, modules: { range: [number, number]; cmdline: string }[]): InfoBlock {
  const enc = new TextEncoder();
  // memory map: conventional memory, EBDA, the BIOS area, then RAM above 1 MiB
  const map: [number, number, number][] = [
    [0, LOW_MEMORY_END, 1],
    [LOW_MEMORY_END, 0xa0000 - LOW_MEMORY_END, 2],
    [0xf0000, 0x10000, 2],
  ];
  if (ram > 0x100000) map.push([0x100000, ram - 0x100000, 1]);
  const mmapAt = INFO_BYTES;
  const modsAt = mmapAt + map.length * 24;
  const gdtAt = modsAt + modules.length * 16;
  const strings = [cmdline, 'Trapeze', ...modules.map((m) => m.cmdline)].map((t) => enc.encode(`${t}\0`));
  const stringAt: number[] = [];
  let size = gdtAt + GDT_BYTES;
  for (const s of strings) { stringAt.push(size); size += s.length; }

  return {
    size,
    gdtOffset: gdtAt,
    relocate(base: number): Uint8Array {
      const out = new Uint8Array(size);
      const v = new DataView(out.buffer);
      v.setUint32(0, INFO_MEM | INFO_CMDLINE | INFO_MODS | INFO_MMAP | INFO_LOADER_NAME, true);
      v.setUint32(4, LOW_MEMORY_END >> 10, true);              // mem_lower, KiB
      v.setUint32(8, Math.max(0, ram - 0x100000) >> 10, true);  // mem_upper, KiB above 1 MiB
      v.setUint32(16, base + stringAt[0], true);                // cmdline
      v.setUint32(20, modules.length, true);                    // mods_count
      v.setUint32(24, base + modsAt, true);                     // mods_addr
      v.setUint32(44, map.length * 24, true);                   // mmap_length
      v.setUint32(48, base + mmapAt, true);                     // mmap_addr
      v.setUint32(64, base + stringAt[1], true);                // boot_loader_name
      map.forEach(([start, length, type], i) => {
        const o = mmapAt + i * 24;
        v.setUint32(o, 20, true); // size of the entry, not counting this field
        v.setBigUint64(o + 4, BigInt(start), true);
        v.setBigUint64(o + 12, BigInt(length), true);
        v.setUint32(o + 20, type, true);
      });
      modules.forEach((m, i) => {
        const o = modsAt + i * 16;
        v.setUint32(o, m.range[0], true);
        v.setUint32(o + 4, m.range[1], true);
        v.setUint32(o + 8, base + stringAt[2 + i], true);
      });
      strings.forEach((s, i) => out.set(s, stringAt[i]));
      return out;
    },
  };
}

/** The machine state the multiboot specification promises at the entry point. */
function enterProtectedMode(vm: Vm, entry: number, gdt: number, infoAddr: number, esp: number): void {
  // a flat GDT (null, code 0x08, data 0x10) for guests that reload segments before setting their own
  enterFlat32(vm, { gdt, code: 0x08, data: 0x10, entry });
  const cpu = vm.vcpus[0];
  cpu.setReg('eax', MULTIBOOT_BOOTLOADER_MAGIC);
  cpu.setReg('ebx', infoAddr);
  cpu.setReg('esp', esp);
}
