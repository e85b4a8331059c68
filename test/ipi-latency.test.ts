// IPI latency with several vCPUs on one core: the vCPUs take turns, so an IPI
// (or an interrupt that wakes a halted vCPU) must end the sender's turn and let
// the target run at once, not after the rest of the sender's 20,000-instruction
// turn. Guest guest-images/src/ipi.asm (checked on QEMU -smp 2) sends a fixed
// IPI to a spinning AP, one to the AP halted, and an NMI to it halted, and
// counts its own spin iterations after each ICR write until the AP's handler
// has run.
import { describe, it, expect } from 'vitest';
import { IMAGES } from './support/guest.js';
import { Pc } from '../src/platform/pc.js';
import { describeStop } from '../src/commands/outcome.js';

const BSP_LOOPS = 0x9100;

function runIpiGuest(): { serial: string; stop: string; loops: number[]; instructions: number } {
  let serial = '';
  const pc = new Pc({ memoryMiB: 32, vcpus: 2, serial: (b) => { serial += String.fromCharCode(b); } });
  try {
    pc.bootMultiboot(`${IMAGES}ipi.elf`, '');
    const stop = describeStop(pc.vm.run({ maxInstructions: 100_000_000 }));
    const loops = [0, 4, 8].map((o) => pc.vm.readPhys32(BSP_LOOPS + o) | 0);
    return { serial, stop, loops, instructions: pc.vm.instructionsRetired };
  } finally {
    pc.close();
  }
}

describe('IPI delivery between vCPUs', () => {
  it('the target takes a fixed IPI or NMI before the sender runs another instruction, running or halted', () => {
    const run = runIpiGuest();
    expect(run.serial).toContain('nmi woke the halted ap');
    expect(run.serial.trim().endsWith('PASS')).toBe(true);
    // [spinning AP, halted AP, NMI to halted AP]: the sender's first look after its ICR write sees the handler done
    expect(run.loops).toEqual([0, 0, 0]);
  });

  it('is deterministic: the same output and instruction count in every run', () => {
    const a = runIpiGuest(), b = runIpiGuest();
    expect(b.serial).toBe(a.serial);
    expect(b.loops).toEqual(a.loops);
    expect(b.instructions).toBe(a.instructions);
  });
});
