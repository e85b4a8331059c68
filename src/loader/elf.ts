// ELF32 (i386) program headers: just what a loader needs to place segments.
import { TrapezeError } from '../errors.js';

export interface LoadSegment {
  /** Physical load address (p_paddr). */
  paddr: number;
  vaddr: number;
  /** File offset and size of the bytes to copy. */
  offset: number;
  fileSize: number;
  /** Size in memory; the rest past fileSize is zeroed. */
  memSize: number;
}

export interface Elf32 {
  entry: number;
  segments: LoadSegment[];
}

const PT_LOAD = 1;
const EM_386 = 3;

export function isElf(file: Uint8Array): boolean {
  return file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
}

/** Parse an ELF32 little-endian i386 executable. `what` names the file in errors. */
export function parseElf32(file: Uint8Array, what: string): Elf32 {
  if (!isElf(file)) throw new TrapezeError(`${what}: not an ELF file`);
  if (file.length < 52) throw new TrapezeError(`${what}: truncated ELF header (${file.length} bytes)`);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file[4] !== 1) throw new TrapezeError(`${what}: ELF class ${file[4]} is not 32-bit (ELFCLASS32)`);
  if (file[5] !== 1) throw new TrapezeError(`${what}: ELF data encoding is not little-endian`);
  const machine = v.getUint16(18, true);
  if (machine !== EM_386) throw new TrapezeError(`${what}: ELF machine ${machine} is not i386 (EM_386 = 3)`);
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (phnum > 0 && phentsize < 32) throw new TrapezeError(`${what}: program header entry size ${phentsize} is too small`);
  if (phoff + phnum * phentsize > file.length) {
    throw new TrapezeError(`${what}: truncated ELF: program headers end at ${phoff + phnum * phentsize}, file has ${file.length} bytes`);
  }
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (v.getUint32(h, true) !== PT_LOAD) continue;
    const seg: LoadSegment = {
      offset: v.getUint32(h + 4, true),
      vaddr: v.getUint32(h + 8, true),
      paddr: v.getUint32(h + 12, true),
      fileSize: v.getUint32(h + 16, true),
      memSize: v.getUint32(h + 20, true),
    };
    if (seg.offset + seg.fileSize > file.length) {
      throw new TrapezeError(`${what}: truncated ELF: segment ${i} needs bytes up to ${seg.offset + seg.fileSize}, file has ${file.length}`);
    }
    if (seg.memSize < seg.fileSize) throw new TrapezeError(`${what}: segment ${i} has p_memsz < p_filesz`);
    segments.push(seg);
  }
  if (segments.length === 0) throw new TrapezeError(`${what}: ELF has no loadable segment`);
  return { entry, segments };
}
