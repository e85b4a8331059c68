// SSE state and data movement (cpu/sse-state.ts, cpu/sse-move.ts) on the `sse`
// CPU model, and its absence on the default P6 model. Each case runs NASM-assembled
// 32-bit code (source beside the bytes) in flat protected mode; an exception runs
// a stub that records its vector at VECTOR and halts.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { CPU_MODELS } from '../src/vm/cpuid.js';
import { PagedMachine } from './support/paged-machine.js';

const IDT = 0x3000, STUBS = 0x4000, VECTOR = 0x5000, DATA = 0x6000;
const hex = (s: string) => s.trim().split(/\s+/).flatMap((w) => w.match(/../g)!.map((b) => parseInt(b, 16)));

function run(code: string, opts: { model?: keyof typeof CPU_MODELS; cr0?: number; data?: number[] } = {}) {
  const vm = new Vm({ memoryMiB: 2 });
  vm.cpuid.features |= CPU_MODELS[opts.model ?? 'p6'];
  const cpu = vm.vcpus[0];
  vm.writePhys(0x1000, Uint8Array.from(hex(code)));
  // 32 interrupt gates to stubs: mov byte [VECTOR], v; hlt
  for (let v = 0; v < 32; v++) {
    const h = STUBS + v * 16;
    vm.writePhys(h, Uint8Array.from([0xc6, 0x05, VECTOR & 0xff, VECTOR >> 8, 0, 0, v, 0xf4]));
    vm.writePhys(IDT + v * 8, Uint8Array.from([h & 0xff, h >> 8, 0x08, 0, 0, 0x8e, 0, 0]));
  }
  vm.writePhys(VECTOR, Uint8Array.of(0xff));
  vm.writePhys(DATA, Uint8Array.from(opts.data ?? Array.from({ length: 256 }, (_, i) => i)));
  // GDT at 0x2000: null, flat code 0x08, flat data 0x10 (the gates load CS from it)
  vm.writePhys(0x2000, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0]));
  cpu.set('gdtrBase', 0x2000);
  cpu.set('gdtrLimit', 23);
  cpu.set('idtrBase', IDT);
  cpu.set('idtrLimit', 32 * 8 - 1);
  cpu.set('cr0', opts.cr0 ?? 0x11);
  cpu.setSegment('cs', { selector: 0x08, base: 0, limit: 0xffffffff, attr: 0xc09b });
  for (const s of ['ss', 'ds', 'es'] as const) cpu.setSegment(s, { selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc093 });
  cpu.setReg('esp', 0x8000);
  cpu.eflags = 2;
  cpu.eip = 0x1000;
  vm.core.exports.stateChanged(0);
  vm.run({ maxInstructions: 100 });
  const bytes = (at: number, n: number) => [...vm.readPhys(at, n)];
  const u32 = (at: number) => new DataView(vm.readPhys(at, 4).buffer.slice(0)).getUint32(0, true);
  return { vector: vm.readPhys(VECTOR, 1)[0], bytes, u32 };
}
const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

// mov eax, cr4 / or eax, 0x200 / mov cr4, eax
const OSFXSR = '0F20E0 0D00020000 0F22E0';

describe('SSE (the sse CPU model)', () => {
  it('moves 128, 64 and 32 bits between XMM and memory, aligned and not; FXSAVE/FXRSTOR and MXCSR round-trip', () => {
    const data = seq(0, 256);
    data.splice(0x74, 4, 0x80, 0x7f, 0, 0); // at 0x6074: MXCSR 0x7F80 (RC = 11, masks set)
    const r = run(`${OSFXSR}
      F30F6F0500600000   movdqu xmm0, [0x6000]
      0F290520600000     movaps [0x6020], xmm0
      0F100D03600000     movups xmm1, [0x6003]
      660F110D31600000   movupd [0x6031], xmm1
      F30F101504600000   movss xmm2, [0x6004]      (the upper 96 bits become 0)
      F20F110548600000   movsd [0x6048], xmm0
      660F28E0           movapd xmm4, xmm0
      F30F10E2           movss xmm4, xmm2          (register form: only the low 32 bits)
      660F7F2560600000   movdqa [0x6060], xmm4
      0FAE1D70600000     stmxcsr [0x6070]
      0FAE1574600000     ldmxcsr [0x6074]
      0FAE0500620000     fxsave [0x6200]
      0F100580600000     movups xmm0, [0x6080]
      0FAE0D00620000     fxrstor [0x6200]
      F30F7F0590600000   movdqu [0x6090], xmm0
      0FAE1DA0600000     stmxcsr [0x60a0]
      0F281D08600000     movaps xmm3, [0x6008]     (misaligned: #GP)
      F4`.replace(/\s[a-z(][^\n]*$/gm, ''), { model: 'sse', data });
    expect(r.bytes(0x6020, 16)).toEqual(seq(0, 16));
    expect(r.bytes(0x6031, 16)).toEqual(seq(3, 16));
    expect(r.bytes(0x6048, 8)).toEqual(seq(0, 8));
    expect(r.bytes(0x6060, 16)).toEqual([...seq(4, 4), ...seq(4, 12)]);
    expect(r.u32(0x6070)).toBe(0x1f80);               // power-on MXCSR
    expect(r.u32(0x6200 + 24)).toBe(0x7f80);          // FXSAVE: MXCSR
    expect(r.u32(0x6200 + 28)).toBe(0xffbf);          // MXCSR_MASK: no DAZ
    expect(r.u32(0x6200)).toBe(0x0040);               // FCW 0x40 at RESET, FSW 0
    expect(r.bytes(0x6200 + 160, 16)).toEqual(seq(0, 16)); // XMM0
    expect(r.bytes(0x6200 + 160 + 32, 16)).toEqual([...seq(4, 4), ...new Array(12).fill(0)]); // XMM2 (MOVSS m32 zeroes the rest)
    expect(r.bytes(0x6090, 16)).toEqual(seq(0, 16));  // FXRSTOR brought XMM0 back
    expect(r.u32(0x60a0)).toBe(0x7f80);
    expect(r.vector).toBe(13);
  });

  it('MOVUPS needs CR4.OSFXSR (#UD), and #NM with CR0.TS', () => {
    expect(run('0F100500600000 F4', { model: 'sse' }).vector).toBe(6);
    expect(run(`${OSFXSR} 0F100500600000 F4`, { model: 'sse', cr0: 0x11 | 8 }).vector).toBe(7);
  });

  it('the mandatory prefix picks the instruction: the last of F2/F3 wins over 66, undefined forms are #UD', () => {
    // 66 F2 0F 10: MOVSD (F2 wins over 66), 8 bytes, the rest of XMM0 zeroed; then movups [0x6040], xmm0
    let r = run(`${OSFXSR} 0F100500600000 66F20F100508600000 0F110540600000 F4`, { model: 'sse' });
    expect(r.bytes(0x6040, 16)).toEqual([...seq(8, 8), ...new Array(8).fill(0)]);
    // F2 F3 0F 10: the last (F3) counts: MOVSS, 4 bytes
    r = run(`${OSFXSR} 0F100500600000 F2F30F100510600000 0F110540600000 F4`, { model: 'sse' });
    expect(r.bytes(0x6040, 16)).toEqual([...seq(0x10, 4), ...new Array(12).fill(0)]);
    // F3 0F 6F: MOVDQU takes a misaligned operand, 66 0F 6F (MOVDQA) does not
    r = run(`${OSFXSR} F30F6F0501600000 0F110540600000 660F6F0501600000 F4`, { model: 'sse' });
    expect(r.bytes(0x6040, 16)).toEqual(seq(1, 16));
    expect(r.vector).toBe(13);
    // forms the SDM does not define: F3/F2 0F 28, F2 0F 6F, F2 0F 7F; 0F 6F is the MMX MOVQ (no MMX here)
    for (const code of ['F30F280500600000', 'F20F290500600000', 'F20F6F0500600000', 'F20F7F0500600000', '0F6F0500600000']) {
      expect(run(`${OSFXSR} ${code} F4`, { model: 'sse' }).vector, code).toBe(6);
    }
    // #UD for an undefined form comes before CR0.TS's #NM; a defined one takes #NM
    expect(run(`${OSFXSR} F30F280500600000 F4`, { model: 'sse', cr0: 0x11 | 8 }).vector).toBe(6);
    expect(run(`${OSFXSR} 660F280500600000 F4`, { model: 'sse', cr0: 0x11 | 8 }).vector).toBe(7);
  });

  it('LDMXCSR with a reserved bit (DAZ here) is #GP(0)', () => {
    const data = seq(0, 256);
    data.splice(0, 4, 0xc0, 0x1f, 0, 0); // 0x1FC0
    expect(run(`${OSFXSR} 0FAE1500600000 F4`, { model: 'sse', data }).vector).toBe(13);
  });

  it('the P6 model has no SSE: CR4.OSFXSR is reserved (#GP), FXSAVE and MOVUPS are #UD', () => {
    expect(run(`${OSFXSR} F4`).vector).toBe(13);
    expect(run('0FAE0500620000 F4').vector).toBe(6);
    expect(run('0F100500600000 F4').vector).toBe(6);
  });

  it('SSE instructions outside the moves are #UD on the sse model too (not silently wrong)', () => {
    // addps xmm0, xmm1 (0F 58 C1)
    expect(run(`${OSFXSR} 0F58C1 F4`, { model: 'sse' }).vector).toBe(6);
  });

  it('a page-crossing MOVUPS store whose second page is absent is one #PF (CR2 = that page) and writes nothing', () => {
    const m = new PagedMachine();
    m.vm.cpuid.features |= CPU_MODELS.sse;
    m.cpu.set('cr4', 0x200); // OSFXSR
    m.vm.core.exports.stateChanged(0);
    m.vm.writePhys(0x30ff8, Uint8Array.from(seq(0x40, 8)));
    m.map(0x31000, 0x31000, 0); // the second page: not present
    m.run(hex('0F1105F80F0300')); // movups [0x30ff8], xmm0
    expect(m.fault.count).toBe(1);
    expect(m.fault.cr2).toBe(0x31000);
    expect([...m.vm.readPhys(0x30ff8, 8)]).toEqual(seq(0x40, 8));
  });
});
