// How several vCPUs share the one core (Vm.runAll): they take turns, so
// - an IPI (or an interrupt that wakes a halted vCPU) must end the sender's
//   turn and let the target run at once, not after the rest of the sender's
//   20,000-instruction turn (guest ipi: a fixed IPI to a spinning AP, one to
//   the AP halted, an NMI to it halted; the BSP counts its spin iterations
//   after each ICR write until the AP's handler has run);
// - a vCPU spinning on a taken lock must hand the core to the holder instead
//   of spinning out its turn, and the holder's next turn must be short, or a
//   holder that frees the lock only briefly (an idle scheduler) keeps it at
//   every turn's end (guest spinlock: XCHG test-and-set without PAUSE, as xv6).
// Both guests were checked on QEMU -smp 2 (guests.test.ts compares their output).
import { describe, it, expect } from 'vitest';
import { IMAGES } from './support/guest.js';
import { Pc } from '../src/platform/pc.js';
import { describeStop } from '../src/commands/outcome.js';

/** Where both guests leave their counts (not printed: on hardware they depend on timing). */
const COUNTS = 0x9100;

function runGuest(name: string, counts: number): { serial: string; stop: string; counts: number[]; instructions: number } {
  let serial = '';
  const pc = new Pc({ memoryMiB: 32, vcpus: 2, serial: (b) => { serial += String.fromCharCode(b); } });
  try {
    pc.bootMultiboot(`${IMAGES}${name}.elf`, '');
    const stop = describeStop(pc.vm.run({ maxInstructions: 100_000_000 }));
    return { serial, stop, counts: Array.from({ length: counts }, (_, i) => pc.vm.readPhys32(COUNTS + 4 * i) | 0), instructions: pc.vm.instructionsRetired };
  } finally {
    pc.close();
  }
}

describe('IPI delivery between vCPUs', () => {
  it('the target takes a fixed IPI or NMI before the sender runs another instruction, running or halted', () => {
    const run = runGuest('ipi', 3);
    expect(run.serial).toContain('nmi woke the halted ap');
    expect(run.serial.trim().endsWith('PASS')).toBe(true);
    // [spinning AP, halted AP, NMI to halted AP]: the sender's first look after its ICR write sees the handler done
    expect(run.counts).toEqual([0, 0, 0]);
  });

  it('is deterministic: the same output and instruction count in every run', () => {
    const a = runGuest('ipi', 3), b = runGuest('ipi', 3);
    expect(b.serial).toBe(a.serial);
    expect(b.counts).toEqual(a.counts);
    expect(b.instructions).toBe(a.instructions);
  });
});

describe('spin-waits between vCPUs', () => {
  it('a vCPU whose XCHG finds the lock taken yields: 200 contended acquisitions cost a few failed XCHGs each, not a turn each', () => {
    const run = runGuest('spinlock', 1);
    expect(run.serial).toContain('no update lost');
    expect(run.serial.trim().endsWith('PASS')).toBe(true);
    const [spins] = run.counts;
    // spinning out a 20,000-instruction turn is about 5,000 failed XCHGs; a yield is one per short holder turn
    expect(spins).toBeLessThan(200 * 10);
  });

  it('is deterministic', () => {
    const a = runGuest('spinlock', 1), b = runGuest('spinlock', 1);
    expect(b.counts).toEqual(a.counts);
    expect(b.instructions).toBe(a.instructions);
  });
});
