// The PC's physical memory map as firmware reports it (INT 15h E820): usable
// conventional memory up to the EBDA, the EBDA, the video and BIOS areas,
// RAM above 1 MiB, and the APIC windows.

export const EBDA = 0x9fc00;
export const BASE_MEMORY_KB = EBDA / 1024; // 639
export const E820_USABLE = 1;
export const E820_RESERVED = 2;

export interface MemoryRange { base: number; length: number; type: number }

export function pcMemoryMap(ramBytes: number): MemoryRange[] {
  return [
    { base: 0, length: EBDA, type: E820_USABLE },
    { base: EBDA, length: 0xa0000 - EBDA, type: E820_RESERVED },
    { base: 0xf0000, length: 0x10000, type: E820_RESERVED },
    { base: 0x100000, length: ramBytes - 0x100000, type: E820_USABLE },
    { base: 0xfec00000, length: 0x1000, type: E820_RESERVED },
    { base: 0xfee00000, length: 0x1000, type: E820_RESERVED },
    { base: 0xfffc0000, length: 0x40000, type: E820_RESERVED },
  ];
}
