// INIT (an INIT IPI, Vm.initVcpu): the vCPU goes back to the reset state and
// waits for a SIPI, but keeps what the SDM's INIT column leaves unchanged
// (Vol. 3A Table 9-1): the MSRs, the TSC, x87 and SSE state, CR0.CD/NW.
// Before, INIT ran the core's power-on reset: PAT and MISC_ENABLE went back to
// their power-on values and the x87 stack was emptied.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const movEcx = (v: number) => [0x66, 0xb9, ...le32(v)];
const movEax = (v: number) => [0x66, 0xb8, ...le32(v)];
const movEdx = (v: number) => [0x66, 0xba, ...le32(v)];
const WRMSR = [0x0f, 0x30], RDMSR = [0x0f, 0x32], HLT = [0xf4];

const PAT = [0x00070106, 0x00070406]; // WB, WC, UC-, UC | WB, WT, UC-, UC: every type valid
// real mode at CS:0 after a SIPI: write PAT and SYSENTER_CS, push 1.0 on the x87 stack, set CR0.CD
const SETUP = [
  ...movEcx(0x277), ...movEax(PAT[0]), ...movEdx(PAT[1]), ...WRMSR,
  ...movEcx(0x174), ...movEax(0x1234), ...movEdx(0), ...WRMSR,
  0xd9, 0xe8, // FLD1
  0x0f, 0x20, 0xc0, 0x66, 0x0d, ...le32(0x40000000), 0x0f, 0x22, 0xc0, // CR0.CD = 1
  ...HLT,
];
// after INIT and a second SIPI: read PAT back
const READ_PAT = [...movEcx(0x277), ...RDMSR, ...HLT];

describe('INIT IPI', () => {
  it('resets the vCPU to wait for a SIPI but keeps the MSRs, the TSC, the x87 state and CR0.CD', () => {
    const vm = new Vm({ memoryMiB: 2, vcpus: 2 });
    const ap = vm.vcpus[1];
    vm.writePhys(0x10000, Uint8Array.from(SETUP));
    vm.writePhys(0x20000, Uint8Array.from(READ_PAT));
    vm.startupVcpu(1, 0x10);
    vm.runSlice(ap, 1000);
    expect(ap.halted).toBe(true);
    ap.set('miscEnable', 0x1809); // automatic thermal control (bit 3) on, as firmware might
    const tsc = ap.get('tsc');
    const fpuSw = ap.get('fpuSw'), fpuEmpty = ap.get('fpuEmpty');
    expect(fpuEmpty).not.toBe(0xff); // FLD1 filled a register

    vm.initVcpu(1);
    expect(ap.waitingForSipi).toBe(true);
    // reset: real mode at F000:FFF0, EDX = the processor signature, CR0 = 60000010 but CD kept
    expect(ap.eip).toBe(0xfff0);
    expect(ap.segment('cs').base >>> 0).toBe(0xffff0000);
    expect(ap.reg('edx')).toBe(0x633);
    expect(ap.reg('eax')).toBe(0);
    expect(ap.get('cr0') >>> 0).toBe(0x60000010);
    // kept
    expect(ap.get('miscEnable')).toBe(0x1809);
    expect(ap.get('sysenterCs')).toBe(0x1234);
    expect(ap.get('tsc')).toBe(tsc);
    expect(ap.get('fpuSw')).toBe(fpuSw);
    expect(ap.get('fpuEmpty')).toBe(fpuEmpty);

    vm.startupVcpu(1, 0x20);
    vm.runSlice(ap, 1000);
    expect([ap.reg('eax') >>> 0, ap.reg('edx') >>> 0]).toEqual(PAT);
  });

  it('keeps CR0.CD and NW as they were, clearing the rest of CR0 but ET', () => {
    const vm = new Vm({ memoryMiB: 2, vcpus: 2 });
    const ap = vm.vcpus[1];
    ap.set('cr0', 0x00000011); // PE, ET; CD = NW = 0
    vm.initVcpu(1);
    expect(ap.get('cr0') >>> 0).toBe(0x00000010);
  });
});
