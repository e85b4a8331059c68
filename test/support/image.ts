// Build small multiboot images in tests: hand-assembled code behind an
// a.out-kludge header, or a minimal ELF32, so loader paths can be exercised.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LOAD = 0x100000;
const HEADER = 32;

/** An a.out-kludge multiboot image: the header, then `code` at LOAD + 32 (the entry). */
export function kludgeImage(code: number[], opts: { flags?: number; loadAddr?: number } = {}): Uint8Array {
  const load = opts.loadAddr ?? LOAD;
  const img = new Uint8Array(HEADER + code.length);
  const v = new DataView(img.buffer);
  const flags = opts.flags ?? 0x00010003;
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, (-(0x1badb002 + flags)) >>> 0, true);
  v.setUint32(12, load, true); // header_addr
  v.setUint32(16, load, true); // load_addr
  v.setUint32(20, 0, true);    // load_end_addr: whole file
  v.setUint32(24, 0, true);    // bss_end_addr: none
  v.setUint32(28, load + HEADER, true); // entry
  img.set(code, HEADER);
  return img;
}

/** A minimal ELF32 executable with one PT_LOAD segment at `paddr` holding `body`. */
export function elfImage(body: Uint8Array, opts: { paddr?: number; machine?: number; memSize?: number; entry?: number } = {}): Uint8Array {
  const paddr = opts.paddr ?? LOAD;
  const headerSize = 52 + 32;
  const img = new Uint8Array(headerSize + body.length);
  const v = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true);                   // ET_EXEC
  v.setUint16(18, opts.machine ?? 3, true);   // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, opts.entry ?? paddr, true);
  v.setUint32(28, 52, true);                  // phoff
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);                  // phentsize
  v.setUint16(44, 1, true);                   // phnum
  v.setUint32(52, 1, true);                   // PT_LOAD
  v.setUint32(56, headerSize, true);          // offset
  v.setUint32(60, paddr, true);
  v.setUint32(64, paddr, true);
  v.setUint32(68, body.length, true);
  v.setUint32(72, opts.memSize ?? body.length, true);
  v.setUint32(76, 5, true);
  img.set(body, headerSize);
  return img;
}

/** A multiboot header (no a.out kludge) to put at the start of an ELF body. */
export function multibootHeader(flags = 0x00000003): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, (-(0x1badb002 + flags)) >>> 0, true);
  return h;
}

export function tempFile(name: string, bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'trapeze-'));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
