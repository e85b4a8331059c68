// ACPI fixed-hardware power-management registers (ACPI spec 4.8), as the FADT
// describes them: PM1a event block (PM1_STS, PM1_EN) at 0x600, PM1a control
// (PM1_CNT) at 0x604 and the power-management timer at 0x608. The timer is a
// free-running 24-bit counter at 3.579545 MHz computed from machine time, so it
// is deterministic in virtual mode. The machine is always in ACPI mode
// (SCI_EN set, no SMI command port). What is not modelled: the SCI itself —
// no status bit raises an interrupt — and sleep states (SLP_EN is refused
// with a clear error rather than ignored).
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { Clock } from '../platform/clock.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const PM_BASE = 0x600;
export const PM1_EVT_BLK = PM_BASE;
export const PM1_CNT_BLK = PM_BASE + 4;
export const PM_TMR_BLK = PM_BASE + 8;
/** The last port of the block (PM_TMR is 4 bytes). */
export const PM_LAST = PM_TMR_BLK + 3;
/** The PM timer's frequency (ACPI spec 4.8.3.3). */
export const PM_TIMER_HZ = 3_579_545;
/** The SCI's ISA interrupt, as the FADT reports it. */
export const SCI_IRQ = 9;

const TMR_MASK = 0xffffff;
/** PM1_STS bits: TMR_STS (0) and the latched status bits software clears by writing 1; WAK_STS (15). */
const STS_WRITABLE = 0x8d31;
/** PM1_EN: TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN. */
const EN_WRITABLE = 0x0521;
const SCI_EN = 1;
const SLP_EN = 1 << 13;

/** What AcpiPm saves in a snapshot. */
export interface AcpiPmState {
  status: number;
  enable: number;
  control: number;
}

export class AcpiPm implements PortDevice, SnapshotPart<AcpiPmState> {
  readonly name = 'acpi-pm';
  private status = 0;
  private enable = 0;
  private control = SCI_EN;

  constructor(private readonly clock: Clock, private readonly sleep: (type: number) => void) {}

  readonly snapshotVersion = 1;
  saveState(): AcpiPmState {
    return {
      status: this.status,
      enable: this.enable,
      control: this.control,
    };
  }
  loadState(s: AcpiPmState): void {
    ({ status: this.status, enable: this.enable, control: this.control } = s);
  }

  /** The timer's value now: ticks of 3.579545 MHz since power-on, 24 bits. */
  timer(): number {
    return Math.floor((this.clock.now() * PM_TIMER_HZ) / 1e9) & TMR_MASK;
  }

  read(port: number, size: IoSize): number {
    const base = port & ~1;
    let v: number;
    if (port >= PM_TMR_BLK) v = this.timer() >>> ((port - PM_TMR_BLK) * 8);
    else v = this.word(base) >>> ((port & 1) * 8) | (size === 4 ? this.word(base + 2) << 16 : 0);
    return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
  }

  private word(port: number): number {
    switch (port) {
      case PM1_EVT_BLK: return this.status;
      case PM1_EVT_BLK + 2: return this.enable;
      case PM1_CNT_BLK: return this.control;
      default: return 0; // PM1_CNT's upper half: reserved
    }
  }

  write(port: number, size: IoSize, value: number): void {
    if (port >= PM_TMR_BLK) return; // the timer is read-only
    if (size === 4) { this.write(port, 2, value & 0xffff); this.write(port + 2, 2, value >>> 16); return; }
    const base = port & ~1;
    const shift = (port & 1) * 8;
    const mask = size === 2 ? 0xffff : 0xff << shift;
    const v = (value << shift) & mask;
    switch (base) {
      case PM1_EVT_BLK: this.status &= ~(v & STS_WRITABLE); break; // write 1 to clear
      case PM1_EVT_BLK + 2: this.enable = (this.enable & ~mask) | (v & EN_WRITABLE); break;
      case PM1_CNT_BLK: {
        const next = (this.control & ~mask) | (v & ~SLP_EN);
        this.control = next | SCI_EN; // SCI_EN is read-only without an SMI command port
        if (v & SLP_EN) this.sleep((v >> 10) & 7);
        break;
      }
      default: break;
    }
  }
}
