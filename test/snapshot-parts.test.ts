// Every part of the PC declares the fields it saves (src/vm/snapshot-part.ts).
// Guests that drive each device are snapshotted mid-run and restored into a
// fresh hypervisor: the copy must go on exactly as the original (same output,
// same instruction counts, same machine bytes). A device field left out of
// saveState() or loadState() shows here as a difference.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { Pc } from '../src/platform/pc.js';
import { openDiskImages } from '../src/host/node/disks.js';
import { captureVm, restoreVm, readSnapshot, writeSnapshot } from '../src/vm/snapshot.js';
import { hypervisor, machineBytes, runTo } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-snapparts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// what each guest drives: the 8254, 8259s and UART; the local APICs' timers and
// IPIs on 2 vCPUs; the BIOS, keyboard controller, CGA, CMOS, ATA disk and I/O APIC below
const GUESTS: { vm: Record<string, unknown>; before: number; after: number }[] = [
  { vm: { kernel: 'guest-images/sleeper.elf', cmdline: 'hz=250 work=20000', memoryMiB: 4 }, before: 3_000_000, after: 4_000_000 },
  { vm: { kernel: 'guest-images/smp.elf', memoryMiB: 8, vcpus: 2 }, before: 200_000, after: 2_000_000 },
  { vm: { kernel: 'guest-images/ipi.elf', memoryMiB: 8, vcpus: 2 }, before: 200_000, after: 2_000_000 },
];

describe('snapshot parts', () => {
  for (const { vm, before, after } of GUESTS) {
    const label = String(vm.kernel ?? vm.disk);
    it(`${label}: snapshotted mid-run and restored elsewhere, it goes on as the original`, () => {
      const hv = hypervisor([{ name: 's', ...vm }]);
      hv.runFor(before);
      hv.pause('s');
      const file = join(dir, `${label.replace(/\W/g, '_')}.snap`);
      hv.snapshot('s', file);
      const original = hv.get('s');
      const at = { transcript: original.console.transcript, instructions: original.vm.instructionsRetired };
      hv.resume('s');
      hv.runFor(after);

      const hv2 = new Hypervisor({ sliceInstructions: 50_000 });
      const copy = hv2.restore(file);
      expect(copy.console.transcript).toBe(at.transcript);
      expect(copy.vm.instructionsRetired).toBe(at.instructions);
      hv2.resume('s');
      hv2.runFor(after);
      expect(original.console.transcript.length).toBeGreaterThan(at.transcript.length); // it did something after the snapshot
      expect(copy.console.transcript).toBe(original.console.transcript);
      expect(copy.vm.vcpus.map((v) => v.instructionsRetired)).toEqual(original.vm.vcpus.map((v) => v.instructionsRetired));
      expect(copy.pc.clock.now()).toBe(original.pc.clock.now());
      expect(Buffer.compare(machineBytes(copy.vm), machineBytes(original.vm))).toBe(0);
      for (const [name, part] of Object.entries(copy.pc.snapshotParts())) {
        expect({ name, state: part.saveState() }).toEqual({ name, state: original.pc.snapshotParts()[name].saveState() });
      }
      hv.close();
      hv2.close();
    });
  }

  // pcshell boots from its disk through the BIOS and the ATA channel, then
  // waits for input on COM1 (IRQ 4 through the I/O APIC) with the local APIC timer ticking
  function pcshell(): { pc: Pc; serial: () => string } {
    let serial = '';
    const pc = new Pc({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); }, disks: openDiskImages(['guest-images/pcshell.img'], true) });
    return { pc, serial: () => serial };
  }

  it('pcshell from its disk: restored into a fresh PC, it goes on as the original', () => {
    const a = pcshell();
    a.pc.bootDisk();
    runTo(a.pc.vm, 3_000_000);
    const file = join(dir, 'pcshell.snap');
    writeSnapshot(file, captureVm(a.pc.vm, a.pc.snapshotParts()));
    const at = a.serial().length;
    const b = pcshell();
    restoreVm(b.pc.vm, readSnapshot(file), b.pc.snapshotParts());
    runTo(a.pc.vm, 8_000_000);
    runTo(b.pc.vm, 8_000_000);
    expect(a.serial()).toContain('pcshell: ready');
    expect(b.serial()).toBe(a.serial().slice(at));
    expect(b.pc.clock.now()).toBe(a.pc.clock.now());
    expect(Buffer.compare(machineBytes(b.pc.vm), machineBytes(a.pc.vm))).toBe(0);
    const parts = a.pc.snapshotParts(), copies = b.pc.snapshotParts();
    for (const name of Object.keys(parts)) expect({ name, state: copies[name].saveState() }).toEqual({ name, state: parts[name].saveState() });
    a.pc.close();
    b.pc.close();
  });

  it('each part loads back exactly what it saved (a field saved but not loaded shows here)', () => {
    const a = pcshell();
    a.pc.bootDisk();
    runTo(a.pc.vm, 3_000_000);
    const parts = a.pc.snapshotParts();
    const fresh = new Pc({ memoryMiB: 32 });
    const into = fresh.snapshotParts();
    expect(Object.keys(into)).toEqual(Object.keys(parts));
    for (const [name, part] of Object.entries(parts)) {
      if (name === 'ata') continue; // the fresh PC has no disk (tested below)
      const saved = JSON.parse(JSON.stringify(part.saveState()));
      into[name].loadState(saved);
      expect({ name, state: into[name].saveState() }).toEqual({ name, state: saved });
    }
    expect(() => into.ata.loadState(JSON.parse(JSON.stringify(parts.ata.saveState())))).toThrow('drive 0 is absent here but was attached when saved');
    a.pc.close();
    fresh.close();
  });
});
