// Where a boot loader may put what it hands to a kernel (information
// structures, command lines, modules, a stack): guest RAM the firmware leaves
// free, minus what the kernel's segments already occupy. First fit, lowest
// address first, within the region asked for.

/** Conventional memory a loader may use: above the IVT/BDA page, below the EBDA. */
export const LOW_FREE: [number, number] = [0x1000, 0x9fc00];
export const HIGH_START = 0x100000;

export class Placement {
  /** Free [start, end) ranges, sorted and disjoint. */
  private free: [number, number][];

  constructor(ramBytes: number) {
    this.free = [[LOW_FREE[0], Math.min(LOW_FREE[1], ramBytes)]];
    if (ramBytes > HIGH_START) this.free.push([HIGH_START, ramBytes]);
  }

  /** Mark [start, end) as taken (a kernel segment, or something placed). */
  reserve(start: number, end: number): void {
    const next: [number, number][] = [];
    for (const [s, e] of this.free) {
      if (e <= start || s >= end) { next.push([s, e]); continue; }
      if (s < start) next.push([s, start]);
      if (e > end) next.push([end, e]);
    }
    this.free = next;
  }

  /** The lowest `align`-aligned address at or above `from` with `size` free bytes, taken; undefined when none. */
  take(size: number, align: number, from = 0): number | undefined {
    for (const [s, e] of this.free) {
      const at = alignUp(Math.max(s, from), align);
      if (at + size <= e) { this.reserve(at, at + size); return at; }
    }
    return undefined;
  }

  /** Bytes in the largest free range (for error messages). */
  largest(): number { return this.free.reduce((m, [s, e]) => Math.max(m, e - s), 0); }
}

export function alignUp(n: number, align: number): number { return Math.ceil(n / align) * align; }
