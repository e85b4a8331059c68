// Several vCPUs in one VM, multiplexed on the one core: application
// processors wait for INIT/SIPI, then share their VM's CPU share round-robin.
// INIT and SIPI come from the host (Vm.initVcpu/startupVcpu) or from a guest
// writing its local APIC's ICR.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hypervisor, spinVm } from './support/hypervisor.js';

// real mode at 0x30000 (SIPI vector 0x30): inc eax; jmp $-2
const AP_CODE = Uint8Array.of(0x66, 0x40, 0xeb, 0xfc);
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

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

  it('the BSP starts an AP through its local APIC: INIT, then a startup IPI', () => {
    const hv = hypervisor([spinVm('smp', { vcpus: 2 })]);
    const vm = hv.get('smp').vm;
    hv.runFor(200_000);
    vm.writePhys(0x30000, AP_CODE);
    const icr = (at: number, v: number) => [0xc7, 0x05, ...le32(at), ...le32(v)]; // mov dword [at], v
    vm.writePhys(0x300000, Uint8Array.from([
      ...icr(0xfee00310, 0x01000000), // destination: APIC ID 1
      ...icr(0xfee00300, 0x00004500), // INIT, assert
      ...icr(0xfee00300, 0x00004630), // startup, vector 0x30
      0xf4,                           // hlt (IF=0: the BSP is done, the AP goes on)
    ]));
    vm.vcpus[0].eip = 0x300000;
    hv.runFor(2_000_000);
    const ap = vm.vcpus[1];
    expect(ap.waitingForSipi).toBe(false);
    expect(ap.segment('cs').base).toBe(0x30000);
    expect(ap.instructionsRetired).toBeGreaterThan(1_000_000);
    expect(vm.vcpus[0].halted).toBe(true);
    expect(vm.stopped).toBeUndefined();
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
