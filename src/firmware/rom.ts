// The built-in firmware ROM: 64 KiB at F000:0000 (copied to RAM at 0xF0000,
// aliased read-only at the top of 4 GiB). It is a few stubs; the work is done
// by the host when a stub writes the firmware port (see bios.ts):
//   F000:FFF0  reset vector: JMP F000:E05B
//   F000:E05B  POST: OUT FIRMWARE_PORT (the host sets up the machine and boots)
//   F000:E100  one 8-byte service stub per vector 0x00-0x1F: OUT FIRMWARE_PORT; RETF 2
//   F000:E300  IRQ 1-7 (and unclaimed master IRQs): EOI to the master, IRET
//   F000:E310  IRQ 8-15: EOI to both, IRET
//   F000:FEA5  IRQ 0: count the BIOS tick at 0040:006C, EOI, IRET
//   F000:FF53  IRET (unused vectors)

export const ROM_BASE = 0xf0000;
export const ROM_SIZE = 0x10000;
export const ROM_SEGMENT = 0xf000;
/** The firmware's trap port (an 8-bit port, so the stubs clobber no register). */
export const FIRMWARE_PORT = 0xef;

export const Entry = {
  post: 0xe05b,
  services: 0xe100,
  masterEoi: 0xe300,
  slaveEoi: 0xe310,
  timer: 0xfea5,
  iret: 0xff53,
  reset: 0xfff0,
} as const;
export const SERVICE_STUB_SIZE = 8;
export const SERVICE_VECTORS = 0x20;

export function buildRom(): Uint8Array {
  const rom = new Uint8Array(ROM_SIZE).fill(0xff);
  const put = (at: number, bytes: number[]) => rom.set(bytes, at);
  put(Entry.reset, [0xea, Entry.post & 0xff, Entry.post >> 8, ROM_SEGMENT & 0xff, ROM_SEGMENT >> 8]);
  put(0xfff5, [...'11/26/26'].map((c) => c.charCodeAt(0)));
  put(0xfffe, [0xfc]); // model: AT
  put(Entry.post, [0xe6, FIRMWARE_PORT, 0xf4, 0xeb, 0xfd]); // out; then hlt forever if the host returns here
  for (let v = 0; v < SERVICE_VECTORS; v++) {
    put(Entry.services + v * SERVICE_STUB_SIZE, [0xe6, FIRMWARE_PORT, 0xca, 0x02, 0x00, 0x90, 0x90, 0x90]);
  }
  put(Entry.masterEoi, [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf]);            // push ax; mov al,20h; out 20h,al; pop ax; iret
  put(Entry.slaveEoi, [0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf]); // ... out 0A0h,al; out 20h,al ...
  put(Entry.timer, [
    0x1e, 0x50, 0x31, 0xc0, 0x8e, 0xd8,       // push ds; push ax; xor ax,ax; mov ds,ax
    0xff, 0x06, 0x6c, 0x04, 0x75, 0x04,       // inc word [046Ch]; jnz +4
    0xff, 0x06, 0x6e, 0x04,                   // inc word [046Eh]
    0xb0, 0x20, 0xe6, 0x20, 0x58, 0x1f, 0xcf, // mov al,20h; out 20h,al; pop ax; pop ds; iret
  ]);
  put(Entry.iret, [0xcf]);
  return rom;
}
