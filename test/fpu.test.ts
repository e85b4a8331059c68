// The x87 FPU, driven by guest code: the fpu guest image against QEMU's
// output, and hand-assembled programs (NASM source in the comments) for what
// QEMU does not model as the manuals say (stack faults, unmasked exceptions
// leaving their operands alone, #MF at the next FP instruction, FERR#).
import { describe, it, expect } from 'vitest';
import { runGuest, expected, significantLines } from './support/guest.js';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { kludgeImage, LOAD } from './support/image.js';
import { State, FPU_REG_SIZE } from '../src/core/layout.js';
import { Feature } from '../src/vm/cpuid.js';
import type { Vm } from '../src/vm/vm.js';
import { exitStatus } from '../src/commands/outcome.js';

const ENTRY = LOAD + 32;

function runCode(code: number[], setup?: (vm: Vm) => void) {
  const m = createMachine({ memoryMiB: 8 });
  loadMultiboot(m.vm, kludgeImage(code), 'test');
  setup?.(m.vm);
  const stop = m.vm.run({ maxInstructions: 1_000_000 });
  return { stop, vm: m.vm, cpu: m.vm.vcpus[0] };
}

/** ST(i) as the host sees it: [sign|exponent, significand]. */
function st(vm: Vm, i: number): [number, bigint] {
  const cpu = vm.vcpus[0];
  const sw = cpu.get('fpuSw');
  const phys = (((sw >> 11) & 7) + i) & 7;
  const at = vm.core.exports.stateOffset(0) + State.fpuRegs + phys * FPU_REG_SIZE;
  return [vm.core.view.getUint16(at + 8, true), vm.core.view.getBigUint64(at, true)];
}
const INDEFINITE: [number, bigint] = [0xffff, 0xc000000000000000n];
const ONE: [number, bigint] = [0x3fff, 0x8000000000000000n];

describe('fpu guest image', () => {
  it('prints what QEMU printed: formats, arithmetic, rounding, comparisons, functions, exceptions, #MF, #NM, FNSAVE', () => {
    const r = runGuest('fpu');
    const want = expected('fpu');
    expect(significantLines(r.serial)).toEqual(want.lines);
    expect(exitStatus(r.stop)).toBe(want.status);
  });
});

describe('x87 stack faults (masked)', () => {
  it('a ninth push overflows: IE, SF, C1 = 1, and ST(0) becomes the indefinite NaN', () => {
    // fninit; 9 x fld1; fnstsw ax; hlt
    const { cpu, vm } = runCode([0xdb, 0xe3, ...Array(9).fill([0xd9, 0xe8]).flat(), 0xdf, 0xe0, 0xf4]);
    expect(cpu.reg('eax') & 0xffff).toBe(0x3a41); // TOP 7, C1, SF, IE
    expect(st(vm, 0)).toEqual(INDEFINITE);
    expect(st(vm, 1)).toEqual(ONE);
  });

  it('an empty operand underflows: IE, SF, C1 = 0, and the destination becomes the indefinite NaN', () => {
    // fninit; fadd st0, st1; fnstsw ax; hlt
    const { cpu, vm } = runCode([0xdb, 0xe3, 0xd8, 0xc1, 0xdf, 0xe0, 0xf4]);
    expect(cpu.reg('eax') & 0xffff).toBe(0x0041);
    expect(st(vm, 0)).toEqual(INDEFINITE);
    expect(cpu.get('fpuEmpty')).toBe(0xfe); // ST(0) (physical 0) now holds a value
  });
});

describe('unmasked exceptions', () => {
  // fninit; fldcw [cw] (0x37B: zero divide unmasked); mov eax, cr0; or eax, 0x22 (NE|MP); mov cr0, eax
  // fld1; fldz; div: fdivp st1, st0; fault: fld1; hlt
  // handler: pop ebx; fnstenv [0x7800]; fnstsw ax; hlt;   cw: dw 0x037B
  const code = [
    0xdb, 0xe3, 0xd9, 0x2d, 0x44, 0x00, 0x10, 0x00, 0x0f, 0x20, 0xc0, 0x83, 0xc8, 0x22, 0x0f, 0x22, 0xc0,
    0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xd9, 0xe8, 0xf4, 0x5b, 0xd9, 0x35, 0x00, 0x78, 0x00, 0x00, 0xdf,
    0xe0, 0xf4, 0x7b, 0x03,
  ];
  const DIV = ENTRY + 0x15, FAULT = ENTRY + 0x17, HANDLER = ENTRY + 0x1a;
  const IDT = 0x7000;
  const withIdt = (vm: Vm) => {
    // vector 16: a 32-bit interrupt gate to the handler
    vm.writePhys32(IDT + 16 * 8, (0x08 << 16) | (HANDLER & 0xffff));
    vm.writePhys32(IDT + 16 * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00);
    vm.vcpus[0].set('idtrBase', IDT);
    vm.vcpus[0].set('idtrLimit', 17 * 8 - 1);
  };

  it('leave the operands and the stack alone, and #MF comes at the next FP instruction (CR0.NE = 1)', () => {
    const { cpu, vm, stop } = runCode(code, withIdt);
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('ebx')).toBe(FAULT);                  // #MF is a fault on the waiting fld1
    expect(cpu.reg('eax') & 0xffff).toBe(0xb084);        // B, ES, ZE; TOP 6: fdivp did not pop
    expect(st(vm, 0)).toEqual([0, 0n]);                   // 0.0
    expect(st(vm, 1)).toEqual(ONE);                       // the destination still holds 1.0
    // FNSTENV saw the last non-control instruction: fdivp st1, st0 (DE F9) and its address
    const env = new DataView(vm.readPhys(0x7800, 28).buffer.slice(0));
    expect(env.getUint32(12, true)).toBe(DIV);
    expect(env.getUint16(16, true)).toBe(0x08);           // FCS
    expect(env.getUint16(18, true) & 0x7ff).toBe(0x6f9);  // FOP
    expect(env.getUint16(0, true)).toBe(0x037b);          // the control word as it was
    expect(cpu.get('fpuCw')).toBe(0x037f);                // FNSTENV then masks every exception
  });

  it('assert FERR# with CR0.NE = 0: an fpu-error exit for the host (IRQ 13 on a PC), and the instruction runs', () => {
    const legacy = [...code];
    legacy[13] = 0x02; // or eax, 0x02: MP only
    const { cpu, vm, stop } = runCode(legacy, withIdt);
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('ebx')).not.toBe(FAULT);               // no #MF
    expect(vm.exitStats()['fpu-error']).toBe(1);          // from the waiting fld1
    expect(st(vm, 0)).toEqual(ONE);                       // fld1 went ahead
  });
});

describe('x87 arithmetic precision', () => {
  it('FPREM1 reports the quotient bits of a negative quotient (C0 C3 C1 = Q2 Q1 Q0)', () => {
    // fninit; fld qword [m7]; fld qword [eight]; fprem1; fnstsw ax; hlt; m7: dq -7.0; eight: dq 8.0
    const { cpu, vm } = runCode([
      0xdb, 0xe3, 0xdd, 0x05, 0x33, 0x00, 0x10, 0x00, 0xdd, 0x05, 0x3b, 0x00, 0x10, 0x00, 0xd9, 0xf5, 0xdf, 0xe0,
      0xf4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1c, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x40,
    ]);
    expect(cpu.reg('eax') & 0x4700).toBe(0x0200); // quotient -1: Q0 = 1, C2 = 0 (complete)
    expect(st(vm, 0)).toEqual(ONE);                 // 8 - (-1 * -7) = 1
  });

  it('add, sub, mul, div and sqrt of doubles give the correctly rounded double (1000 random pairs)', () => {
    // esi = 0x200000 (pairs), edi = 0x300000 (results), ecx = [count]; fninit
    // next: fld [esi]; fadd [esi+8]; fstp [edi]; ... fsub, fmul, fdiv; fld [esi]; fabs; fsqrt; fstp [edi+32]
    //       add esi, 16; add edi, 40; loop next; hlt; count: dd N
    const code = [
      0xbe, 0x00, 0x00, 0x20, 0x00, 0xbf, 0x00, 0x00, 0x30, 0x00, 0x8b, 0x0d, 0x63, 0x00, 0x10, 0x00, 0xdb, 0xe3,
      0xdd, 0x06, 0xdc, 0x46, 0x08, 0xdd, 0x1f, 0xdd, 0x06, 0xdc, 0x66, 0x08, 0xdd, 0x5f, 0x08, 0xdd, 0x06, 0xdc,
      0x4e, 0x08, 0xdd, 0x5f, 0x10, 0xdd, 0x06, 0xdc, 0x76, 0x08, 0xdd, 0x5f, 0x18, 0xdd, 0x06, 0xd9, 0xe1, 0xd9,
      0xfa, 0xdd, 0x5f, 0x20, 0x83, 0xc6, 0x10, 0x83, 0xc7, 0x28, 0xe2, 0xd0, 0xf4, 0x00, 0x00, 0x00, 0x00,
    ];
    const N = 1000;
    let seed = 12345;
    const rand = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
    const pairs = new Float64Array(N * 2);
    for (let i = 0; i < N * 2; i++) pairs[i] = (rand() - 0.5) * 2 ** Math.floor(rand() * 200 - 100);
    const { vm } = runCode(code, (vm) => {
      vm.writePhys(0x200000, new Uint8Array(pairs.buffer));
      vm.writePhys32(ENTRY + 0x43, N);
    });
    const out = new Float64Array(vm.readPhys(0x300000, N * 40).slice().buffer);
    for (let i = 0; i < N; i++) {
      const a = pairs[2 * i], b = pairs[2 * i + 1];
      expect([out[5 * i], out[5 * i + 1], out[5 * i + 2], out[5 * i + 3], out[5 * i + 4]])
        .toEqual([a + b, a - b, a * b, a / b, Math.sqrt(Math.abs(a))]);
    }
  });

  it('precision control 00 rounds FADD..FSQRT results to 24-bit significands', () => {
    // fninit; fldcw [cw] (0x007F); fld1; fidiv dword [three]; fstp qword [0x7000]; hlt; cw: dw 0x007F; three: dd 3
    const { vm } = runCode([
      0xdb, 0xe3, 0xd9, 0x2d, 0x37, 0x00, 0x10, 0x00, 0xd9, 0xe8, 0xda, 0x35, 0x39, 0x00, 0x10, 0x00, 0xdd, 0x1d,
      0x00, 0x70, 0x00, 0x00, 0xf4, 0x7f, 0x00, 0x03, 0x00, 0x00, 0x00,
    ]);
    expect(new Float64Array(vm.readPhys(0x7000, 8).slice().buffer)[0]).toBe(Math.fround(1 / 3));
  });

  it('80-bit values go through the registers bit for bit', () => {
    // fninit; fld tword [v]; fstp tword [0x7000]; hlt; v: the bytes below
    const values: [number, bigint][] = [
      [0x4000, 0xc90fdaa22168c235n], [0x8000, 0x12345n], [0x7fff, 0xc000000000abcdefn], [0x7ffe, 0xffffffffffffffffn],
      [0x0001, 0x8000000000000001n], [0xbffe, 0xfedcba9876543210n],
    ];
    for (const [se, m] of values) {
      const bytes = new Uint8Array(10);
      const dv = new DataView(bytes.buffer);
      dv.setBigUint64(0, m, true);
      dv.setUint16(8, se, true);
      const { vm } = runCode([0xdb, 0xe3, 0xdb, 0x2d, 0x2f, 0x00, 0x10, 0x00, 0xdb, 0x3d, 0x00, 0x70, 0x00, 0x00, 0xf4, ...bytes]);
      expect([se, m, ...vm.readPhys(0x7000, 10)]).toEqual([se, m, ...bytes]);
    }
  });
});

describe('power-on state', () => {
  it('is control word 0x40 with every register valid (+0): without FNINIT a load overflows, unmasked', () => {
    // fld1; fnstsw ax; hlt
    const { cpu, vm } = runCode([0xd9, 0xe8, 0xdf, 0xe0, 0xf4]);
    expect(cpu.reg('eax') & 0xffff).toBe(0x82c1); // B, ES, SF, IE, C1 (overflow); TOP unchanged
    expect(st(vm, 0)).toEqual([0, 0n]);
  });
});

describe('CPUID', () => {
  it('advertises the FPU, and neither MMX nor FXSR nor SSE', () => {
    const m = createMachine({ memoryMiB: 4 });
    const edx = m.vm.cpuid.leaf(1, 0)[3];
    expect(edx & Feature.fpu).toBe(Feature.fpu);
    expect(edx & ((1 << 23) | (1 << 24) | (1 << 25))).toBe(0);
  });
});
