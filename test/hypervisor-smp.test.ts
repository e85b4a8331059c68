// Several vCPUs in one VM, multiplexed on the one core: application
// processors wait for INIT/SIPI, then share their VM's CPU share round-robin.
// (INIT and SIPI come from the host here, as a local APIC's ICR would send them.)
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hypervisor, spinVm } from './support/hypervisor.js';

// real mode at 0x30000 (SIPI vector 0x30): inc eax; jmp $-2
const AP_CODE = Uint8Array.of(0x66, 0x40, 0xeb, 0xfc);

describe('multiple vCPUs per VM', () => {
  it('an AP runs nothing before its SIPI, then starts in real mode at vector·4K and shares its VM\'s time', () => {
    const hv = hypervisor([spinVm('smp', { vcpus: 2 }), spinVm('up')]);
    const smp = hv.get('smp').vm;
    const [bsp, ap] = smp.vcpus;
    expect(ap.waitingForSipi).toBe(true);
    hv.runFor(4_000_000);
    expect(ap.instructionsRetired).toBe(0);

    smp.writePhys(0x30000, AP_CODE);
    smp.startupVcpu(1, 0x30);
    expect(ap.segment('cs')).toMatchObject({ selector: 0x3000, base: 0x30000 });
    expect(ap.eip).toBe(0);
    const b0 = bsp.instructionsRetired, u0 = hv.get('up').vm.instructionsRetired;
    hv.runFor(8_000_000);
    const dAp = ap.instructionsRetired, dBsp = bsp.instructionsRetired - b0, dUp = hv.get('up').vm.instructionsRetired - u0;
    // the VM as a whole still gets one share's worth: half the host
    expect(Math.abs((dAp + dBsp) / (dAp + dBsp + dUp) - 0.5)).toBeLessThan(0.02);
    // and its two vCPUs take turns
    expect(Math.abs(dAp / (dAp + dBsp) - 0.5)).toBeLessThan(0.02);
    expect(ap.registers().eax).toBe(dAp / 2); // two instructions per increment

    // a second SIPI to a running AP is ignored; INIT parks it again
    smp.startupVcpu(1, 0x40);
    expect(ap.segment('cs').base).toBe(0x30000);
    smp.initVcpu(1);
    expect(ap.waitingForSipi).toBe(true);
    const parked = ap.instructionsRetired;
    hv.runFor(2_000_000);
    expect(ap.instructionsRetired).toBe(parked);
    hv.close();
  });

  it('snapshots carry every vCPU', () => {
    const hv = hypervisor([spinVm('smp', { vcpus: 2 })]);
    const vm = hv.get('smp').vm;
    vm.writePhys(0x30000, AP_CODE);
    hv.runFor(1_000_000);
    vm.startupVcpu(1, 0x30);
    hv.runFor(1_000_000);
    hv.pause('smp');
    const dir = mkdtempSync(join(tmpdir(), 'trapeze-smp-'));
    hv.snapshot('smp', join(dir, 'smp.snap'));
    const copy = hv.restore(join(dir, 'smp.snap'), 'copy');
    rmSync(dir, { recursive: true });
    expect(copy.vm.vcpus[1].registers()).toEqual(vm.vcpus[1].registers());
    expect(copy.vm.vcpus[1].waitingForSipi).toBe(false);
    expect(copy.vm.vcpus[1].segment('cs')).toEqual(vm.vcpus[1].segment('cs'));
    hv.close();
  });
});
