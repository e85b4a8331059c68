// Events the host raises: NMI (vector 2, taken whatever IF says, blocked from
// delivery to the next IRET), the interrupt window (an interrupt held while
// IF = 0 is taken at the first boundary that allows it), and the MSRs a P6
// answers. Each case runs hand-assembled code in flat 32-bit protected mode.
import { describe, it, expect } from 'vitest';
import { Vm, type PlatformHooks } from '../src/vm/vm.js';
import { Pc } from '../src/platform/pc.js';
import { ExitReason } from '../src/core/layout.js';

const GDT = 0x4000, IDT = 0x3000, CODE = 0x1000, HANDLER = 0x2000, COUNT = 0x500;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** Flat protected mode; IDT entries `gates` (vector -> handler) as 32-bit interrupt gates. */
function machine(code: number[], gates: Record<number, number[]>, vmOptions = {}) {
  const vm = new Vm({ memoryMiB: 2, ...vmOptions });
  const cpu = vm.vcpus[0];
  vm.writePhys(CODE, Uint8Array.from(code));
  let at = HANDLER;
  for (const [v, body] of Object.entries(gates)) {
    vm.writePhys(at, Uint8Array.from(body));
    vm.writePhys(IDT + Number(v) * 8, Uint8Array.from([at & 0xff, (at >>> 8) & 0xff, 0x08, 0, 0, 0x8e, 0, 0]));
    at += 0x100;
  }
  // GDT: null, flat code 0x08, flat data 0x10
  vm.writePhys(GDT, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]));
  cpu.set('gdtrBase', GDT); cpu.set('gdtrLimit', 23);
  cpu.set('cr0', 0x11);
  cpu.set('idtrBase', IDT); cpu.set('idtrLimit', 0x7ff);
  cpu.setSegment('cs', { selector: 0x08, base: 0, limit: 0xffffffff, attr: 0xc09b });
  for (const s of ['ss', 'ds', 'es'] as const) cpu.setSegment(s, { selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc093 });
  cpu.setReg('esp', 0x9000);
  cpu.eflags = 2;
  cpu.eip = CODE;
  vm.core.exports.stateChanged(0);
  return { vm, cpu };
}

const INC_COUNT = [0xff, 0x05, ...le32(COUNT)]; // inc dword [COUNT]

describe('NMI', () => {
  // handler: inc [COUNT]; mov ecx, 5; loop $; iretd
  const nmiHandler = [...INC_COUNT, 0xb9, 5, 0, 0, 0, 0xe2, 0xfe, 0xcf];
  const spinWithIfClear = [0xfa, 0xeb, 0xfe]; // cli; jmp $

  it('is taken with IF = 0 through vector 2, and a second one waits for the handler\'s IRET', () => {
    const { vm, cpu } = machine(spinWithIfClear, { 2: nmiHandler });
    vm.run({ maxInstructions: 10 });
    expect(vm.readPhys32(COUNT)).toBe(0);
    cpu.injectNmi();
    expect(cpu.nmiPending).toBe(true);
    runMore(vm, 1);                              // the handler's INC
    expect(vm.readPhys32(COUNT)).toBe(1);
    expect(cpu.nmiBlocked).toBe(true);
    expect(vm.readPhys32(0x9000 - 12)).toBe(CODE + 1); // the frame returns to the spin loop
    cpu.injectNmi();                            // arrives while the handler runs
    runMore(vm, 6);                             // mov, the loop: not yet at IRET
    expect(vm.readPhys32(COUNT)).toBe(1);
    expect(cpu.nmiPending).toBe(true);
    runMore(vm, 2);                             // the last loop iteration... and IRET
    runMore(vm, 1);                             // the second NMI's INC
    expect(vm.readPhys32(COUNT)).toBe(2);
    expect(cpu.nmiPending).toBe(false);
  });

  it('wakes a vCPU halted with IF = 0', () => {
    const { vm, cpu } = machine([0xfa, 0xf4, 0xeb, 0xfe], { 2: nmiHandler }); // cli; hlt; jmp $
    vm.core.exports.enter(0, 100);
    expect(cpu.halted).toBe(true);
    cpu.injectNmi();
    expect(vm.runnable(cpu)).toBe(true);
    vm.core.exports.enter(0, 1);
    expect(cpu.halted).toBe(false);
    expect(vm.readPhys32(COUNT)).toBe(1);
    expect(vm.readPhys32(0x9000 - 12)).toBe(CODE + 2); // returns after the HLT
  });

  it('waits out a MOV SS shadow', () => {
    // mov ax, 0x10; mov ss, ax; mov ebx, 7; jmp $
    const { vm, cpu } = machine([0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd0, 0xbb, 7, 0, 0, 0, 0xeb, 0xfe], { 2: [...nmiHandlerSavingEbx, 0xcf] });
    vm.core.exports.enter(0, 2); // up to and including MOV SS
    cpu.injectNmi();
    vm.core.exports.enter(0, 2);
    expect(vm.readPhys32(COUNT + 4)).toBe(7); // the instruction after MOV SS ran before the handler
  });

  it('an NMI IPI through the local APIC ICR reaches the target vCPU on the PC', () => {
    const pc = new Pc({ memoryMiB: 16, vcpus: 2 });
    pc.lapics[0].write(0x310, 4, 1 << 24); // destination: APIC ID 1
    pc.lapics[0].write(0x300, 4, 0x400);   // delivery mode NMI (100b), physical, no shorthand
    expect(pc.vm.vcpus[1].nmiPending).toBe(true);
    expect(pc.vm.vcpus[0].nmiPending).toBe(false);
  });
});

// mov [COUNT + 4], ebx
const nmiHandlerSavingEbx = [0x89, 0x1d, ...le32(COUNT + 4)];

/** Run `n` more instructions of vCPU 0, whatever ended the last run. */
function runMore(vm: Vm, n: number): void {
  vm.core.exports.enter(0, n);
}

/** A platform with one interrupt line held until acknowledged. */
class OneInterrupt implements PlatformHooks {
  held = -1;
  budgetLimit(): number { return Infinity; }
  retired(): void {}
  acknowledgeInterrupt(): number { const v = this.held; this.held = -1; return v; }
  interruptPending(): boolean { return this.held >= 0; }
  idle(): boolean { return false; }
}

describe('interrupt window', () => {
  // handler 0x30: mov [COUNT+4], ebx (EBX = 0 until the main code sets it); mov eax, [esp]; mov [COUNT+8], eax; hlt
  const handler = [0x89, 0x1d, ...le32(COUNT + 4), 0x8b, 0x04, 0x24, 0xa3, ...le32(COUNT + 8), 0xf4];

  function run(code: number[], steps: number) {
    const { vm, cpu } = machine(code, { 0x30: handler }, { sliceInstructions: 1_000_000 });
    const platform = new OneInterrupt();
    vm.platform = platform;
    vm.writePhys32(COUNT + 4, 0xdead);
    vm.core.exports.enter(0, 2);       // cli and the first instruction after it
    platform.held = 0x30;              // an interrupt arrives while IF = 0
    vm.offerInterrupt(cpu);
    expect(cpu.pendingInterrupt).toBe(-1); // not handed over while IF = 0
    const stop = vm.run({ maxInstructions: steps });
    return { vm, cpu, stop };
  }

  it('STI: the held interrupt is taken after the instruction that follows STI, not at the end of the slice', () => {
    const code = [
      0xfa,                          // cli
      0xb9, 50, 0, 0, 0,             // mov ecx, 50
      0xe2, 0xfe,                    // loop $
      0xfb,                          // sti
      0x90,                          // nop (the STI shadow)
      0xbb, 1, 0, 0, 0,              // mov ebx, 1  <- the interrupt comes before this
      0xeb, 0xfe,                    // jmp $
    ];
    const { vm } = run(code, 10_000);
    expect(vm.readPhys32(COUNT + 4)).toBe(0);          // EBX not yet set
    expect(vm.readPhys32(COUNT + 8)).toBe(CODE + 10);  // return address: the MOV EBX
    expect(vm.exitCounts[ExitReason.IrqWindow]).toBe(1);                 // one irq-window exit
  });

  it('IRET that sets IF: taken at the IRET\'s target', () => {
    const target = CODE + 0x40;
    const code = [
      0xfa,                          // cli
      0xb9, 50, 0, 0, 0,             // mov ecx, 50
      0xe2, 0xfe,                    // loop $
      0x68, ...le32(0x202),          // push dword 0x202 (IF)
      0x6a, 0x08,                    // push dword 8
      0x68, ...le32(target),         // push dword target
      0xcf,                          // iretd
    ];
    const full = [...code, ...new Array(0x40 - code.length).fill(0x90), 0xbb, 1, 0, 0, 0, 0xeb, 0xfe];
    const { vm } = run(full, 10_000);
    expect(vm.readPhys32(COUNT + 4)).toBe(0);
    expect(vm.readPhys32(COUNT + 8)).toBe(target);
  });
});

describe('model-specific registers of a P6', () => {
  const MOV_ECX = 0xb9, MOV_EAX = 0xb8, MOV_EDX = 0xba, RDMSR = [0x0f, 0x32], WRMSR = [0x0f, 0x30];
  const STORE_EAX = (a: number) => [0xa3, ...le32(a)], STORE_EDX = (a: number) => [0x89, 0x15, ...le32(a)];

  it('IA32_MISC_ENABLE (0x1A0) reads fast strings on, BTS and PEBS unavailable; writes keep bits 7, 11 and 12', () => {
    const { vm } = machine([
      MOV_ECX, ...le32(0x1a0), ...RDMSR, ...STORE_EAX(COUNT), ...STORE_EDX(COUNT + 4),
      MOV_EAX, ...le32(0x00c50889), MOV_EDX, ...le32(4), ...WRMSR, // bit 7 and 11 set, 12 clear: ignored
      ...RDMSR, ...STORE_EAX(COUNT + 8), ...STORE_EDX(COUNT + 12),
      0xf4,
    ], {});
    const stop = vm.run({ maxInstructions: 100 });
    expect(stop.kind).toBe('halted');
    expect([vm.readPhys32(COUNT), vm.readPhys32(COUNT + 4)]).toEqual([0x1801, 0]);
    expect([vm.readPhys32(COUNT + 8), vm.readPhys32(COUNT + 12)]).toEqual([0x00c51809, 4]);
  });

  it('IA32_PAT (0x277) resets to 0007040600070406, keeps a valid value and refuses memory type 2 with #GP', () => {
    const { vm } = machine([
      MOV_ECX, ...le32(0x277), ...RDMSR, ...STORE_EAX(COUNT), ...STORE_EDX(COUNT + 4),
      MOV_EAX, ...le32(0x07070707), MOV_EDX, ...le32(0x00010506), ...WRMSR,
      ...RDMSR, ...STORE_EAX(COUNT + 8), ...STORE_EDX(COUNT + 12),
      MOV_EAX, ...le32(0x02), ...WRMSR, // type 2 is reserved
      0xf4,
    ], { 13: [0xff, 0x05, ...le32(COUNT + 16), 0xf4] }); // #GP: inc dword [COUNT + 16]; hlt
    const stop = vm.run({ maxInstructions: 100 });
    expect(stop.kind).toBe('halted');
    expect([vm.readPhys32(COUNT), vm.readPhys32(COUNT + 4)]).toEqual([0x00070406, 0x00070406]);
    expect([vm.readPhys32(COUNT + 8), vm.readPhys32(COUNT + 12)]).toEqual([0x07070707, 0x00010506]);
    expect(vm.readPhys32(COUNT + 16)).toBe(1); // one #GP, from the last WRMSR
    expect(vm.vcpus[0].eip).toBe(HANDLER + 7);
  });
});

describe('several vCPUs share one exit record', () => {
  it('an IN completes with its own port\'s data when another vCPU exited for I/O in between', () => {
    const vm = new Vm({ memoryMiB: 2, vcpus: 2 });
    vm.ports.register({ name: 'a', read: () => 0x11, write: () => {} }, 0x70);
    vm.ports.register({ name: 'b', read: () => 0x22, write: () => {} }, 0x71);
    vm.writePhys(0x10000, Uint8Array.from([0xe4, 0x70, 0xf4])); // in al, 0x70; hlt
    vm.writePhys(0x20000, Uint8Array.from([0xe4, 0x71, 0xf4])); // in al, 0x71; hlt
    vm.vcpus.forEach((cpu, i) => {
      cpu.setSegment('cs', { selector: (i + 1) * 0x1000, base: (i + 1) * 0x10000, limit: 0xffff, attr: 0x9b });
      cpu.eip = 0;
      cpu.waitingForSipi = false;
    });
    vm.runSlice(vm.vcpus[0], 10); // exits for its IN
    vm.runSlice(vm.vcpus[1], 10); // exits for its own IN, writing the exit record
    vm.runSlice(vm.vcpus[0], 10);
    vm.runSlice(vm.vcpus[1], 10);
    expect(vm.vcpus[0].reg('eax') & 0xff).toBe(0x11);
    expect(vm.vcpus[1].reg('eax') & 0xff).toBe(0x22);
  });
});

describe('pause-loop exiting', () => {
  const spin = [0xf3, 0x90, 0xeb, 0xfc]; // pause; jmp back to the pause

  it('with several vCPUs, PAUSE ends the slice (the spinning vCPU yields)', () => {
    const vm = new Vm({ memoryMiB: 2, vcpus: 2 });
    const cpu = vm.vcpus[0];
    vm.writePhys(0x10000, Uint8Array.from(spin));
    cpu.setSegment('cs', { selector: 0x1000, base: 0x10000, limit: 0xffff, attr: 0x9b });
    cpu.eip = 0;
    expect(vm.runSlice(cpu, 1000)).toBe(1);           // one instruction, the PAUSE
    expect(vm.exitCounts[ExitReason.Pause]).toBe(1);                // a pause exit
    expect(cpu.eip).toBe(2);                          // retired: the next instruction is the JMP
    vm.initVcpu(0);                                   // INIT keeps it (the state block is reset)
    expect(cpu.get('pauseExit')).toBe(1);
  });

  it('with one vCPU, PAUSE is a plain NOP', () => {
    const vm = new Vm({ memoryMiB: 2 });
    const cpu = vm.vcpus[0];
    vm.writePhys(0x10000, Uint8Array.from(spin));
    cpu.setSegment('cs', { selector: 0x1000, base: 0x10000, limit: 0xffff, attr: 0x9b });
    cpu.eip = 0;
    const stop = vm.run({ maxInstructions: 1000 });
    expect(stop.kind).toBe('instruction-limit');
    expect(vm.exitCounts[ExitReason.Pause]).toBe(0);
  });
});
