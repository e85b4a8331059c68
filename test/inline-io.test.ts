// Inline ports (assembly/cpu/io.ts, PortBus.inline): an IN or OUT to the open
// bus or to a device that says `inline` is answered from inside the core's run
// while nothing watches exits. The guest, the devices and the exit counts must
// see exactly what the full exit path gives them.
import { describe, it, expect, vi } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32 } from './support/flat32.js';
import { ExitReason } from '../src/core/layout.js';
import type { PortDevice, IoSize } from '../src/vm/portbus.js';
import { Pc } from '../src/platform/pc.js';
import type { AccessFilter } from '../src/vm/access-filter.js';

const ITERATIONS = 1000;
const le16 = (v: number) => [v & 0xff, v >> 8];
// ebx = sum of what the INs read, over ITERATIONS passes of five accesses:
// open bus 0x520 (OUT, IN), the inline device 0x600 (OUT, IN), the exiting device 0x700 (IN)
const body = [
  0x66, 0xba, ...le16(0x520), 0xee, 0xec, // mov dx, 0x520; out dx, al; in al, dx
  0x0f, 0xb6, 0xc0, 0x01, 0xc3,           // movzx eax, al; add ebx, eax
  0x66, 0xba, ...le16(0x600), 0xef, 0xed, // mov dx, 0x600; out dx, eax; in eax, dx
  0x01, 0xc3,                             // add ebx, eax
  0x66, 0xba, ...le16(0x700), 0x66, 0xed, // mov dx, 0x700; in ax, dx
  0x01, 0xc3,                             // add ebx, eax
  0x49,                                   // dec ecx
];
const loop = (b: number[]) => [
  0xb9, ...le16(ITERATIONS), 0, 0, 0x31, 0xdb, // mov ecx, ITERATIONS; xor ebx, ebx
  0xeb, 0x00,                                 // jmp L (the loop is a block of its own)
  ...b, 0x75, 0x100 - b.length - 2,           // L: ... jnz L
  0xf4,                                       // hlt
];
const CODE = loop(body);
// only the inline ports: the JIT compiles the whole loop (16-bit MOV, OUT, IN)
const INLINE_ONLY = loop([...body.slice(0, 19), 0x49]);

/** How many of the exits the host handled were port I/O. */
const ioExits = (calls: unknown[][]) => calls.filter(([, reason]) => reason === ExitReason.Io).length;

class Recorder implements PortDevice {
  readonly log: string[] = [];
  private reads = 0;
  constructor(readonly name: string, readonly inline: boolean, private readonly base: number) {}
  read(port: number, size: IoSize): number { this.log.push(`r${port.toString(16)}/${size}`); return this.base + this.reads++; }
  write(port: number, size: IoSize, value: number): void { this.log.push(`w${port.toString(16)}/${size}=${value.toString(16)}`); }
}

function run(opts: { observe?: boolean; filter?: AccessFilter; jit?: boolean; code?: number[]; slice?: number } = {}) {
  const vm = new Vm({ memoryMiB: 2, jit: { on: opts.jit ?? false, threshold: 2 }, sliceInstructions: opts.slice });
  const fast = new Recorder('fast', true, 0x100);
  const slow = new Recorder('slow', false, 0x1000);
  vm.ports.register(fast, 0x600);
  vm.ports.register(slow, 0x700);
  const cpu = vm.vcpus[0];
  enterFlat32(vm, opts.code ?? CODE);
  // the exits the host handles (a spy: attaching an observer would turn inline ports off)
  const handled = vi.spyOn(vm, 'handleExit');
  if (opts.observe) vm.observeExits({ afterExit: () => {} });
  if (opts.filter) vm.filter = opts.filter;
  const stop = vm.run({ maxInstructions: 1_000_000 });
  return {
    stop: stop.kind, ebx: cpu.gpr(3), eax: cpu.gpr(0), eip: cpu.eip, retired: cpu.instructionsRetired,
    exits: vm.exitStats(), fastLog: fast.log, slowLog: slow.log, unclaimed: vm.ports.unclaimed,
    handledIo: ioExits(handled.mock.calls), jit: vm.core.jit.stats().instructions, mem: [...vm.readPhys(0x5100, 8)],
  };
}

const ACCESSES = 5 * ITERATIONS;

describe('inline ports', () => {
  const full = run({ observe: true });

  it('the full exit path: every access leaves the core (an observer is attached)', () => {
    expect(full.stop).toBe('halted');
    expect(full.handledIo).toBe(ACCESSES);
    expect(full.exits.io).toBe(ACCESSES);
    // open bus 0xFF; the inline device counts 0x100.., the other 0x1000.. (IN AX: 16 bits)
    const sum = ITERATIONS * 0xff + (ITERATIONS * (2 * 0x100 + ITERATIONS - 1)) / 2 + (ITERATIONS * (2 * 0x1000 + ITERATIONS - 1)) / 2;
    expect(full.ebx).toBe(sum);
    expect(full.unclaimed).toBe(2 * ITERATIONS);
  });

  it('without observers, the open bus and the inline device are answered in the core; the guest, devices and counts see the same', () => {
    const fast = run();
    // only the device that is not inline made the core leave for its port
    expect(fast.handledIo).toBe(ITERATIONS);
    expect(fast).toEqual({ ...full, handledIo: ITERATIONS });
  });

  it('with the JIT: the same; a loop of inline ports only is compiled code that calls the host', () => {
    const fast = run({ jit: true });
    expect(fast.handledIo).toBe(ITERATIONS);
    expect({ ...fast, jit: 0 }).toEqual({ ...full, handledIo: ITERATIONS });
    // (the JIT installs what it compiled when the core next returns: a budget exit every 500 instructions)
    const watched = run({ code: INLINE_ONLY, observe: true, slice: 500 });
    const compiled = run({ code: INLINE_ONLY, jit: true, slice: 500 });
    expect(watched.handledIo).toBe(4 * ITERATIONS);
    expect(compiled.handledIo).toBe(0);
    expect(compiled.jit).toBeGreaterThan(0.9 * 11 * ITERATIONS); // 11 instructions a pass
    const seen = (r: typeof watched) => [r.stop, r.ebx, r.eax, r.eip, r.retired, r.exits.io, r.fastLog, r.unclaimed];
    expect(seen(compiled)).toEqual(seen(watched));
  });

  it('the open bus is answered by the core alone: the port bus is never asked for it, and it is still counted (Io exits, unclaimed)', () => {
    for (const jit of [false, true]) {
      const vm = new Vm({ memoryMiB: 2, jit: { on: jit, threshold: 2 }, sliceInstructions: 500 });
      const asked: number[] = [];
      const read = vm.ports.read.bind(vm.ports), write = vm.ports.write.bind(vm.ports);
      vm.ports.read = (port, size) => { asked.push(port); return read(port, size); };
      vm.ports.write = (port, size, value) => { asked.push(port); write(port, size, value); };
      vm.ports.register(new Recorder('fast', true, 0x100), 0x600);
      enterFlat32(vm, INLINE_ONLY);
      vm.run({ maxInstructions: 1_000_000 });
      expect(vm.vcpus[0].gpr(3)).toBe(ITERATIONS * 0xff + (ITERATIONS * (2 * 0x100 + ITERATIONS - 1)) / 2);
      expect(asked.filter((p) => p === 0x520)).toEqual([]);
      expect(asked.filter((p) => p === 0x600).length).toBe(2 * ITERATIONS);
      expect(vm.exitStats().io).toBe(4 * ITERATIONS);
      expect(vm.ports.unclaimed).toBe(2 * ITERATIONS);
      if (jit) expect(vm.core.jit.stats().instructions).toBeGreaterThan(0.9 * 11 * ITERATIONS);
    }
  });

  it('string I/O (INS/OUTS, REP) to inline ports still exits, with the same data', () => {
    const code = [
      0xbe, 0x00, 0x50, 0, 0, 0xbf, 0x00, 0x51, 0, 0, // mov esi, 0x5000; mov edi, 0x5100
      0x66, 0xba, ...le16(0x600), 0xb9, 4, 0, 0, 0,   // mov dx, 0x600; mov ecx, 4
      0xf3, 0x6e, 0xb9, 4, 0, 0, 0, 0xf3, 0x6c,       // rep outsb; mov ecx, 4; rep insb
      0x66, 0xba, ...le16(0x520), 0x6e, 0x6c,         // mov dx, 0x520; outsb; insb
      0xf4,
    ];
    const watched = run({ code, observe: true });
    expect(watched.handledIo).toBe(4);
    expect(watched.fastLog).toEqual([...Array(4).fill('w600/1=0'), ...Array(4).fill('r600/1')]); // (RAM at 0x5000 is zero)
    expect(watched.mem).toEqual([0x00, 0x01, 0x02, 0x03, 0xff, 0, 0, 0]); // the device's reads, then the open bus
    expect(run({ code })).toEqual(watched);
  });

  it('a filter (an isolation policy) sees every access, and its refusals apply as before', () => {
    let asked = 0;
    const filter: AccessFilter = {
      allowsPort: (port) => { asked++; return port !== 0x600; },
      allowsMmio: () => true,
      allowsMsr: () => true,
      refused: () => 'exit-and-log',
      applyToVcpu: () => {},
    };
    const r = run({ filter });
    expect(asked).toBe(ACCESSES);
    expect(r.handledIo).toBe(ACCESSES);
    expect(r.fastLog).toEqual([]); // refused: the device never sees it
    // refused INs of 0x600 read all ones: EAX = 0xFFFFFFFF, then IN AX keeps its top half
    const sum = ITERATIONS * (0xff + 0xffffffff + 0xffff0000) + (ITERATIONS * (2 * 0x1000 + ITERATIONS - 1)) / 2;
    expect(r.ebx).toBe(sum % 2 ** 32);
    // and when the filter goes, the inline path comes back
    const vm = new Vm({ memoryMiB: 2 });
    vm.filter = filter;
    const at = vm.core.exports.inlinePorts!();
    expect(vm.core.bytes[at + (0x520 >> 3)]).toBe(0);
    vm.filter = undefined;
    expect(vm.core.bytes[at + (0x520 >> 3)] & (1 << (0x520 & 7))).not.toBe(0);
  });

  it('ring 3: the I/O permission bitmap still decides (allowed: inline; denied: #GP, the device never called), with and without the JIT', () => {
    const watched = ring3({ observe: true });
    expect(watched).toMatchObject({ stop: 'halted', vector: 13, writes: 200, io: 200, handledIo: 200 });
    expect(ring3({})).toEqual({ ...watched, handledIo: 0 });
    // compiled, the loop leaves its region before each OUT (CPL 3 > IOPL: the bitmap is the interpreter's)
    const compiled = ring3({ jit: true });
    expect(compiled.jit).toBeGreaterThan(0);
    expect(compiled).toEqual({ ...watched, handledIo: 0, jit: compiled.jit });
  });
});

// Ring 3 with IOPL 0: the TSS bitmap allows port 0x600 only. OUT 0x600 goes
// through; OUT 0x520 (inline too, but denied) is #GP, which lands in a ring-0
// handler that stores the vector and halts.
function ring3(opts: { observe?: boolean; jit?: boolean }) {
  const TSS = 0x3000, IDT = 0x2800, VECTOR = 0x2700, GP_STUB = 0x2600;
  // (short slices: the JIT installs its regions when the core returns)
  const vm = new Vm({ memoryMiB: 2, jit: { on: opts.jit ?? false, threshold: 2 }, sliceInstructions: 50 });
  const fast = new Recorder('fast', true, 0x100);
  vm.ports.register(fast, 0x600);
  const cpu = vm.vcpus[0];
  const flat = (type: number) => [0xff, 0xff, 0, 0, 0, type, 0xcf, 0];
  // GDT: null, code 0x08 and data 0x10 (ring 0), code 0x1B and data 0x23 (ring 3), TSS 0x28
  const limit = 0x68 + 8192;
  vm.writePhys(0x2000, Uint8Array.from([
    0, 0, 0, 0, 0, 0, 0, 0, ...flat(0x9a), ...flat(0x92), ...flat(0xfa), ...flat(0xf2),
    limit & 0xff, limit >> 8, TSS & 0xff, TSS >> 8, 0, 0x8b, 0, 0,
  ]));
  const tss = new Uint8Array(limit + 1).fill(0xff); // every port denied ...
  tss.fill(0, 0, 0x68);
  tss.set([0x00, 0x70, 0, 0, 0x10, 0], 4); // ESP0 0x7000, SS0 0x10
  tss.set([0x68, 0], 0x66); // the bitmap right after the TSS
  tss[0x68 + (0x600 >> 3)] &= ~1; // ... but 0x600
  vm.writePhys(TSS, tss);
  vm.writePhys(GP_STUB, Uint8Array.from([0xc6, 0x05, VECTOR & 0xff, VECTOR >> 8, 0, 0, 13, 0xf4])); // mov byte [VECTOR], 13; hlt
  vm.writePhys(IDT + 13 * 8, Uint8Array.from([GP_STUB & 0xff, GP_STUB >> 8, 0x08, 0, 0, 0x8e, 0, 0]));
  vm.writePhys(VECTOR, Uint8Array.of(0xff));
  const allowed = [0x66, 0xba, ...le16(0x600), 0xee, 0x49]; // mov dx, 0x600; out dx, al; dec ecx
  vm.writePhys(0x1000, Uint8Array.from([
    0xb0, 0x5a, 0xb9, 200, 0, 0, 0, 0xeb, 0x00,          // mov al, 0x5A; mov ecx, 200; jmp L
    ...allowed, 0x75, 0x100 - allowed.length - 2,        // L: ...; jnz L
    0x66, 0xba, ...le16(0x520), 0xee,                    // mov dx, 0x520; out dx, al (denied: #GP)
    0xeb, 0xfe,
  ]));
  cpu.set('gdtrBase', 0x2000); cpu.set('gdtrLimit', 47);
  cpu.set('idtrBase', IDT); cpu.set('idtrLimit', 32 * 8 - 1);
  cpu.set('cr0', 0x11);
  cpu.setSegment('cs', { selector: 0x1b, base: 0, limit: 0xffffffff, attr: 0xc0fb });
  for (const sg of ['ss', 'ds', 'es'] as const) cpu.setSegment(sg, { selector: 0x23, base: 0, limit: 0xffffffff, attr: 0xc0f3 });
  cpu.setSegment('tr', { selector: 0x28, base: TSS, limit, attr: 0x8b });
  cpu.set('cpl', 3);
  cpu.setReg('esp', 0x8000);
  cpu.eflags = 2; // IOPL 0
  cpu.eip = 0x1000;
  vm.core.exports.stateChanged(0);
  const handled = vi.spyOn(vm, 'handleExit');
  if (opts.observe) vm.observeExits({ afterExit: () => {} });
  const stop = vm.run({ maxInstructions: 1000 });
  return { stop: stop.kind, vector: vm.readPhys(VECTOR, 1)[0], writes: fast.log.length, io: vm.exitStats().io, handledIo: ioExits(handled.mock.calls), jit: vm.core.jit.stats().instructions };
}

// A timer's reads are inline too (PortDevice.timedReads): the PIT's count and
// port B's OUT2 status are a function of the machine's time, which then counts
// the instructions the run has retired with the IN, exactly as after an exit
// there. Linux polls port B ~140k times while it times 30 ms.
describe('inline reads of a timer', () => {
  // PIT counter 2, mode 0, count 0x400 (858 us of PIT time), its gate on; poll
  // port B until OUT2 rises (ECX: the polls); latch and read counter 2 (EBX)
  const poll = [
    0xe4, 0x61, 0x24, 0xfc, 0x0c, 0x01, 0xe6, 0x61, // in al, 0x61; and al, 0xfc; or al, 1; out 0x61, al
    0xb0, 0xb0, 0xe6, 0x43,                         // mov al, 0xb0; out 0x43, al: counter 2, lo/hi, mode 0
    0xb0, 0x00, 0xe6, 0x42, 0xb0, 0x04, 0xe6, 0x42, // count 0x0400
    0x31, 0xc9, 0x31, 0xdb,                         // xor ecx, ecx; xor ebx, ebx
    0xe4, 0x61, 0x41, 0xa8, 0x20, 0x74, 0xf9,       // L: in al, 0x61; inc ecx; test al, 0x20; jz L
    0xb0, 0x80, 0xe6, 0x43,                         // mov al, 0x80; out 0x43, al: latch counter 2
    0xe4, 0x42, 0x88, 0xc3, 0xe4, 0x42, 0x88, 0xc7, // in al, 0x42; mov bl, al; in al, 0x42; mov bh, al
    0xf4,                                           // hlt
  ];
  function timed(opts: { observe?: boolean; jit?: boolean }) {
    const pc = new Pc({ memoryMiB: 2, jit: { on: opts.jit ?? false, threshold: 2 }, sliceInstructions: 500 });
    const cpu = pc.vm.vcpus[0];
    enterFlat32(pc.vm, poll);
    const handled = vi.spyOn(pc.vm, 'handleExit');
    if (opts.observe) pc.vm.observeExits({ afterExit: () => {} });
    const stop = pc.vm.run({ maxInstructions: 1_000_000 });
    return {
      stop: stop.kind, polls: cpu.gpr(1), count: cpu.gpr(3), retired: cpu.instructionsRetired, now: pc.clock.now(),
      io: pc.vm.exitStats().io, handledIo: ioExits(handled.mock.calls), jit: pc.vm.core.jit.stats().instructions,
    };
  }

  it('an IN of the PIT is answered in the core, at the same machine time as through an exit', () => {
    const full = timed({ observe: true });
    expect(full.stop).toBe('halted');
    // 1024 PIT ticks at 1.193182 MHz are 85,821 instructions of 10 ns; a pass is 4
    expect(full.polls).toBeGreaterThan(21_000);
    expect(full.polls).toBeLessThan(21_500);
    expect(full.handledIo).toBe(full.io);
    for (const jit of [false, true]) {
      const fast = timed({ jit });
      expect({ ...fast, handledIo: 0, jit: 0 }).toEqual({ ...full, handledIo: 0, jit: 0 });
      // only the five OUTs leave
      expect(fast.handledIo).toBe(5);
      if (jit) expect(fast.jit).toBeGreaterThan(0.9 * 4 * full.polls);
    }
  });
});
