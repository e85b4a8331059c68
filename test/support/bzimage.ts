// A crafted bzImage-format file for loader and CLI tests: setup sectors with
// a setup header, then a tiny protected-mode "kernel".
import { Hdr } from '../../src/loader/linux.js';

// The protected-mode "kernel": copy type_of_loader from boot_params to AL,
// the cmd_line_ptr to EBX, then HLT (interrupts are off, so the run ends).
export const KERNEL_CODE = [
  0x8a, 0x86, 0x10, 0x02, 0x00, 0x00, // mov al, [esi + 0x210]
  0x8b, 0x9e, 0x28, 0x02, 0x00, 0x00, // mov ebx, [esi + 0x228]
  0xf4,                               // hlt
];

export interface Fake { version?: number; loadflags?: number; setupSects?: number; initSize?: number; initrdAddrMax?: number; magic?: number }

/** A bzImage-format file: setup sectors with a setup header, then the kernel code. */
export function bzImage(opts: Fake = {}): Uint8Array {
  const setupSects = opts.setupSects ?? 1;
  const file = new Uint8Array((setupSects + 1) * 512 + KERNEL_CODE.length);
  const v = new DataView(file.buffer);
  file[Hdr.setupSects] = setupSects;
  v.setUint16(Hdr.bootFlag, 0xaa55, true);
  file[Hdr.jump] = 0xeb;
  file[Hdr.jump + 1] = 0x66; // the header runs to 0x268
  v.setUint32(Hdr.magic, opts.magic ?? 0x53726448, true);
  v.setUint16(Hdr.version, opts.version ?? 0x20f, true);
  file[Hdr.loadflags] = opts.loadflags ?? 0x01;
  v.setUint32(Hdr.code32Start, 0x100000, true);
  v.setUint32(Hdr.initrdAddrMax, opts.initrdAddrMax ?? 0x37ffffff, true);
  v.setUint32(Hdr.cmdlineSize, 2047, true);
  v.setUint32(Hdr.initSize, opts.initSize ?? 0x10000, true);
  file.set(KERNEL_CODE, (setupSects + 1) * 512);
  return file;
}
