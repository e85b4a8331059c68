// A task switch through an IDT task gate, set up by hand in guest memory:
// the state each TSS receives, and a fault after the commit point, raised in
// the new task with the EXT bit of what started the switch (SDM vol. 3, 6.13,
// 7.3). Guest images cannot inject a hardware interrupt; the host can.
import { describe, it, expect } from 'vitest';
import { createMachine } from '../src/machine.js';

const GDT = 0x1000, IDT = 0x2000, CODE = 0x3000, NP_HANDLER = 0x3100, TASK_B_ENTRY = 0x3200;
const TSS_A = 0x4000, TSS_B = 0x4100, STACK_A = 0x7000, STACK_B = 0x8000;
const SEL_CODE = 0x08, SEL_DATA = 0x10, SEL_TSS_A = 0x18, SEL_TSS_B = 0x20, SEL_ABSENT = 0x28;
const VECTOR = 0x40, NP = 11, GP = 13;

/** A segment descriptor: base, 20-bit limit, access byte, flags nibble. */
function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

/**
 * Task A loops at CODE with the entry code `code`; IDT[0x40] is a task gate
 * to task B, whose DS names a not-present segment; #NP goes to a handler that
 * halts (so does #GP's). Returns the VM after it stopped.
 */
function run(code: number[], eflags: number, inject: boolean, busyB = false) {
  const { vm } = createMachine({ memoryMiB: 1 });
  const w32 = (a: number, v: number) => vm.writePhys32(a, v);
  const gdt: [number, number][] = [
    [0, 0],
    descriptor(0, 0xfffff, 0x9a, 0xc),
    descriptor(0, 0xfffff, 0x92, 0xc),
    descriptor(TSS_A, 0x67, 0x8b, 0), // busy: the current task
    descriptor(TSS_B, 0x67, busyB ? 0x8b : 0x89, 0),
    descriptor(0, 0xfffff, 0x12, 0xc), // data, not present
  ];
  gdt.forEach(([lo, hi], i) => { w32(GDT + i * 8, lo); w32(GDT + i * 8 + 4, hi); });
  w32(IDT + VECTOR * 8, SEL_TSS_B << 16);
  w32(IDT + VECTOR * 8 + 4, 0x8500); // present task gate, DPL 0
  w32(IDT + NP * 8, ((SEL_CODE << 16) | NP_HANDLER) >>> 0);
  w32(IDT + NP * 8 + 4, 0x8e00); // present 32-bit interrupt gate
  w32(IDT + GP * 8, ((SEL_CODE << 16) | NP_HANDLER) >>> 0);
  w32(IDT + GP * 8 + 4, 0x8e00);
  vm.writePhys(CODE, Uint8Array.from([...code, 0xeb, 0xfe])); // then jmp $
  vm.writePhys(NP_HANDLER, Uint8Array.from([0xf4])); // hlt
  // task B: flat ring 0, but DS not present
  const segs = [SEL_DATA, SEL_CODE, SEL_DATA, SEL_ABSENT, SEL_DATA, SEL_DATA]; // ES CS SS DS FS GS
  w32(TSS_B + 0x20, TASK_B_ENTRY);
  w32(TSS_B + 0x24, 0x2);
  w32(TSS_B + 0x38, STACK_B);
  segs.forEach((s, i) => w32(TSS_B + 0x48 + i * 4, s));
  w32(TSS_A + 0x66, 0x68 << 16);
  w32(TSS_B + 0x66, 0x68 << 16);

  const cpu = vm.vcpus[0];
  cpu.set('cr0', 0x11);
  cpu.set('gdtrBase', GDT); cpu.set('gdtrLimit', gdt.length * 8 - 1);
  cpu.set('idtrBase', IDT); cpu.set('idtrLimit', 0x7ff);
  const flat = { base: 0, limit: 0xffffffff };
  cpu.setSegment('cs', { selector: SEL_CODE, ...flat, attr: 0xc09b });
  for (const s of ['ds', 'es', 'fs', 'gs', 'ss'] as const) cpu.setSegment(s, { selector: SEL_DATA, ...flat, attr: 0xc093 });
  cpu.setSegment('tr', { selector: SEL_TSS_A, base: TSS_A, limit: 0x67, attr: 0x8b });
  cpu.eflags = eflags;
  cpu.setReg('esp', STACK_A);
  cpu.eip = CODE;
  if (inject) cpu.injectInterrupt(VECTOR);
  const stop = vm.run({ maxInstructions: 1000 });
  return { vm, cpu, stop };
}

describe('task switch through an IDT task gate', () => {
  for (const how of ['hardware interrupt', 'int 0x40'] as const) {
    it(`${how}: task B's #NP is raised in task B, EXT = ${how === 'hardware interrupt' ? 1 : 0}`, () => {
      const hw = how === 'hardware interrupt';
      const { vm, cpu, stop } = run(hw ? [] : [0xcd, VECTOR], hw ? 0x202 : 0x2, hw);
      expect(stop.kind).toBe('halted');
      expect(cpu.eip).toBe(NP_HANDLER + 1);
      expect(cpu.segment('tr').selector).toBe(SEL_TSS_B);
      // the #NP frame on task B's stack: error code, EIP, CS, EFLAGS
      const frame = [0, 4, 8, 12].map((o) => vm.readPhys32(STACK_B - 16 + o));
      expect(frame[0]).toBe(SEL_ABSENT | (hw ? 1 : 0));
      expect(frame[1]).toBe(TASK_B_ENTRY); // the new task's first instruction
      expect(frame[2]).toBe(SEL_CODE);
      expect(frame[3] & 0x4000).toBe(0x4000); // NT: B was entered by an interrupt
      expect(frame[3] & 0x10000).toBe(0x10000); // RF: #NP is a fault
      // task B's selectors are loaded even where the descriptor was refused
      expect(cpu.segment('ds').selector).toBe(SEL_ABSENT);
      // task A saved where it resumes, with the flags it had
      expect(vm.readPhys32(TSS_A + 0x20)).toBe(hw ? CODE : CODE + 2);
      expect(vm.readPhys32(TSS_A + 0x24) & 0x200).toBe(hw ? 0x200 : 0);
      expect(vm.readPhys32(TSS_A + 0x38)).toBe(STACK_A);
      // back link, busy bits, CR0.TS
      expect(vm.readPhys32(TSS_B) & 0xffff).toBe(SEL_TSS_A);
      expect((vm.readPhys32(GDT + SEL_TSS_A + 4) >> 9) & 1).toBe(1);
      expect((vm.readPhys32(GDT + SEL_TSS_B + 4) >> 9) & 1).toBe(1);
      expect(cpu.get('cr0') & 8).toBe(8);
    });
  }

  it('a busy target task: #GP(selector | EXT) in task A, nothing switched', () => {
    const { vm, cpu, stop } = run([], 0x202, true, true);
    expect(stop.kind).toBe('halted');
    expect(cpu.segment('tr').selector).toBe(SEL_TSS_A);
    const frame = [0, 4, 8].map((o) => vm.readPhys32(STACK_A - 16 + o));
    expect(frame).toEqual([SEL_TSS_B | 1, CODE, SEL_CODE]);
    expect(vm.readPhys32(TSS_A + 0x20)).toBe(0); // nothing saved
    expect(vm.readPhys32(TSS_B) & 0xffff).toBe(0); // no back link
    expect(cpu.get('cr0') & 8).toBe(0);
  });
});
