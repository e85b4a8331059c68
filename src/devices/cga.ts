// CGA colour text display: 80x25 character/attribute cells in guest RAM at
// 0xB8000, and the Motorola 6845 CRTC behind index/data ports 0x3D4/0x3D5
// (start address, cursor shape and location read back as on VGA), mode
// control 0x3D8, colour select 0x3D9, status 0x3DA (retrace bits that move).
import type { PortDevice, IoSize } from '../vm/portbus.js';
import { saveBytes, loadBytes, type SnapshotPart, type SavedBytes } from '../vm/snapshot-part.js';

export const CGA_TEXT = 0xb8000;
export const CGA_PORTS = { first: 0x3d4, last: 0x3da } as const;
export const COLUMNS = 80;
export const ROWS = 25;

const R_START_HI = 12, R_START_LO = 13, R_CURSOR_HI = 14, R_CURSOR_LO = 15;

/** What Cga saves in a snapshot. */
export interface CgaState {
  crtc: SavedBytes;
  index: number;
  mode: number;
  color: number;
  statusReads: number;
}

export class Cga implements PortDevice, SnapshotPart<CgaState> {
  readonly name = 'cga';
  readonly crtc = new Uint8Array(18);
  private index = 0;
  private mode = 0x29; // 80x25 text, video on, blink
  private color = 0;
  private statusReads = 0;

  /** `ram` reads guest-physical memory (the text buffer lives in RAM). */
  constructor(private readonly ram: (addr: number, length: number) => Uint8Array) {
    this.crtc[10] = 0x06; this.crtc[11] = 0x07; // underline cursor
  }

  readonly snapshotVersion = 1;
  saveState(): CgaState {
    return {
      crtc: saveBytes(this.crtc),
      index: this.index,
      mode: this.mode,
      color: this.color,
      statusReads: this.statusReads,
    };
  }
  loadState(s: CgaState): void {
    ({ index: this.index, mode: this.mode, color: this.color, statusReads: this.statusReads } = s);
    loadBytes(this.crtc, s.crtc);
  }

  get cursor(): number { return (this.crtc[R_CURSOR_HI] << 8) | this.crtc[R_CURSOR_LO]; }
  set cursor(pos: number) { this.crtc[R_CURSOR_HI] = (pos >> 8) & 0x3f; this.crtc[R_CURSOR_LO] = pos & 0xff; }
  get startAddress(): number { return (this.crtc[R_START_HI] << 8) | this.crtc[R_START_LO]; }

  read(port: number, _size: IoSize): number {
    switch (port) {
      case 0x3d4: return this.index;
      case 0x3d5: return this.index < this.crtc.length ? this.crtc[this.index] : 0xff;
      case 0x3d8: return this.mode;
      case 0x3d9: return this.color;
      case 0x3da: {
        // guests wait for retrace: display-enable toggles, vertical retrace every 4th read
        const n = this.statusReads++;
        return (n & 1) | ((n & 3) === 3 ? 0x08 : 0);
      }
      default: return 0xff;
    }
  }

  write(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    switch (port) {
      case 0x3d4: this.index = v & 0x1f; if (_size === 2) this.write(0x3d5, 1, value >> 8); return; // OUT DX, AX sets index and data
      case 0x3d5: if (this.index < 16) this.crtc[this.index] = this.index === R_CURSOR_HI || this.index === R_START_HI ? v & 0x3f : v; return;
      case 0x3d8: this.mode = v & 0x3f; return;
      case 0x3d9: this.color = v & 0x3f; return;
    }
  }

  /** The screen as 25 lines of text (trailing blanks trimmed). */
  lines(): string[] {
    const cells = this.ram(CGA_TEXT + this.startAddress * 2, COLUMNS * ROWS * 2);
    const out: string[] = [];
    for (let r = 0; r < ROWS; r++) {
      let line = '';
      for (let c = 0; c < COLUMNS; c++) line += glyph(cells[(r * COLUMNS + c) * 2]);
      out.push(line.trimEnd());
    }
    return out;
  }
}

/** The character of a code-page-437 byte, printable ASCII kept, the rest shown simply. */
function glyph(b: number): string {
  if (b >= 0x20 && b < 0x7f) return String.fromCharCode(b);
  if (b === 0 || b === 0xff) return ' ';
  if (b === 0xb0 || b === 0xb1 || b === 0xb2 || b === 0xdb) return '#';
  if (b === 0xc4 || b === 0xcd) return '-';
  if (b === 0xb3 || b === 0xba) return '|';
  return '.';
}
