// Robustness: random guests (random code; real, protected, paged and V86 mode
// with random descriptor tables) end only in guest exceptions, defined exits
// or clear VM stops, and never change memory outside their RAM. The long run
// is `npm run fuzz -- --seeds N`. Also the core bugs the fuzzer found, each
// pinned by a small guest.
import { describe, it, expect } from 'vitest';
import { fuzzSeed, formatReport } from '../src/fuzz/robustness.js';
import { GUEST_MODES } from '../src/fuzz/random-guest.js';
import { createMachine } from '../src/machine.js';
import { ExitReason } from '../src/core/layout.js';
import { describeStop } from '../src/commands/outcome.js';

describe('robustness fuzz (quick)', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: a million instructions of random guests`, () => {
      const r = fuzzSeed(seed, { instructions: 1_000_000, episodeMs: 5_000 });
      console.log(formatReport(r));
      expect(r.failures).toEqual([]);
      expect(r.instructions).toBeGreaterThanOrEqual(1_000_000);
      // the guests reached the paths that matter: faults, exits of each kind, triple faults
      expect(r.exceptions).toBeGreaterThan(1000);
      expect(r.exits.io ?? 0).toBeGreaterThan(0);
      expect(r.exits.mmio ?? 0).toBeGreaterThan(0);
      expect(r.ends.shutdown ?? 0).toBeGreaterThan(0);
      for (const mode of GUEST_MODES) expect(r.byMode[mode] ?? 0, mode).toBeGreaterThan(0);
    });
  }
});

/** A real-mode guest at 0000:7C00 with an MMIO device at 1 MiB that logs every access. */
function realModeGuest(code: number[]) {
  const { vm } = createMachine({ memoryMiB: 1 });
  const log: string[] = [];
  vm.mmio.register({
    name: 'probe',
    read: (offset, size) => { log.push(`r${size}@${offset.toString(16)}`); return 0x1000 + offset; },
    write: (offset, size, value) => { log.push(`w${size}@${offset.toString(16)}=${value.toString(16)}`); },
  }, 0x100000, 0x1000);
  vm.writePhys(0x7c00, Uint8Array.from(code));
  const cpu = vm.vcpus[0];
  cpu.setSegment('cs', { selector: 0, base: 0, limit: 0xffff, attr: 0x9b });
  cpu.eip = 0x7c00;
  return { vm, cpu, log };
}

describe('device-bound instructions (found by the fuzzer)', () => {
  it('an instruction that reads MMIO twice gets each value once (LDS), and REP runs item by item', () => {
    const { vm, cpu, log } = realModeGuest([
      0xb8, 0xff, 0xff,       // mov ax, 0xffff: DS and ES at 0xFFFF0, so offsets past 0x10 are MMIO
      0x8e, 0xd8, 0x8e, 0xc0, // mov ds, ax; mov es, ax
      0xc5, 0x36, 0x20, 0x00, // lds si, [0x20]    offset and segment from 0x100010 and 0x100012
      0x8c, 0xdb,             // mov bx, ds
      0x8e, 0xd8,             // mov ds, ax
      0xbe, 0x30, 0x00,       // mov si, 0x30
      0xb9, 0x05, 0x00,       // mov cx, 5
      0xfc,                   // cld
      0xf3, 0xad,             // rep lodsw         five reads, 0x100020..
      0x89, 0xc2,             // mov dx, ax
      0xbf, 0x40, 0x00,       // mov di, 0x40
      0xb0, 0x5a,             // mov al, 0x5a
      0xb9, 0x03, 0x00,       // mov cx, 3
      0xf3, 0xaa,             // rep stosb         three writes, 0x100030..
      0xf4,                   // hlt
    ]);
    const stop = vm.run({ maxInstructions: 1000 });
    expect(stop.kind, describeStop(stop)).toBe('halted');
    expect(log).toEqual([
      'r2@10', 'r2@12',
      'r2@20', 'r2@22', 'r2@24', 'r2@26', 'r2@28',
      'w1@30=5a', 'w1@31=5a', 'w1@32=5a',
    ]);
    expect(cpu.reg('esi') & 0xffff).toBe(0x3a);
    expect(cpu.reg('ebx') & 0xffff).toBe(0x1012); // DS from LDS
    expect(cpu.reg('edx') & 0xffff).toBe(0x1028); // the last word REP LODSW read
    expect(cpu.reg('ecx') & 0xffff).toBe(0);
  });

  it('an instruction that writes MMIO many times hands every write to the host once, in order (PUSHA/POPA on a stack in MMIO)', () => {
    const { vm, cpu, log } = realModeGuest([
      0xb8, 0xff, 0xff, 0x8e, 0xd0, // mov ax, 0xffff; mov ss, ax
      0xbc, 0x40, 0x00,             // mov sp, 0x40: the stack is at 0x100030..0x10003F, MMIO
      0xb8, 0x01, 0x00, 0xb9, 0x02, 0x00, 0xba, 0x03, 0x00, 0xbb, 0x04, 0x00, // ax cx dx bx = 1 2 3 4
      0xbd, 0x06, 0x00, 0xbe, 0x07, 0x00, 0xbf, 0x08, 0x00,                   // bp si di = 6 7 8
      0x60,                         // pusha: eight writes
      0x61,                         // popa: reads them back (the device answers 0x1000 + offset)
      0xf4,                         // hlt
    ]);
    const stop = vm.run({ maxInstructions: 1000 });
    expect(stop.kind, describeStop(stop)).toBe('halted');
    expect(log.filter((a) => a.startsWith('w'))).toEqual([
      'w2@2e=1', 'w2@2c=2', 'w2@2a=3', 'w2@28=4', 'w2@26=40', 'w2@24=6', 'w2@22=7', 'w2@20=8',
    ]);
    const reads = log.filter((a) => a.startsWith('r'));
    expect(new Set(reads).size).toBe(reads.length); // each read once
    const r = cpu.registers();
    expect([r.edi, r.esi, r.ebp, r.ebx, r.edx, r.ecx, r.eax].map((v) => (v & 0xffff).toString(16)))
      .toEqual(['1020', '1022', '1024', '1028', '102a', '102c', '102e']);
    expect(r.esp & 0xffff).toBe(0x40);
  });

  it('a guest whose #UD handler raises #UD again still returns to the host when its budget is spent', () => {
    const { vm, cpu } = realModeGuest([0x0f, 0x0b]); // ud2
    vm.writePhys(6 * 4, Uint8Array.from([0x00, 0x7c, 0x00, 0x00])); // #UD -> 0000:7C00, the ud2 itself
    const reason = vm.core.exports.enter(0, 1000);
    expect(reason).toBe(ExitReason.Budget);
    expect(cpu.counter('exceptions')).toBe(1000);
    expect(cpu.instructionsRetired).toBe(0);
  });
});
