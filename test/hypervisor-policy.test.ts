// Isolation policies and quotas, each limit hit on purpose: the defined
// outcome (inject #GP, exit and log, stop), the violation counted, and the
// guest's own work not lost.
import { describe, it, expect } from 'vitest';
import { Hypervisor, type Guest } from '../src/hypervisor/hypervisor.js';
import { ExitStatus, describeStop, exitStatus } from '../src/commands/outcome.js';
import { hypervisor, spinVm, SPIN } from './support/hypervisor.js';

const BLOB = 0x300000;

/** Let a spin guest set itself up (GDT, IDT, COM1), then run hand-assembled code in its place. */
function runBlob(hv: Hypervisor, g: Guest, code: number[]): void {
  hv.runFor(200_000);
  g.vm.writePhys(BLOB, Uint8Array.from(code));
  g.vm.vcpus[0].eip = BLOB;
  hv.runFor(1_000_000, () => !!g.vm.stopped);
}
const imm = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const MOV_EAX = 0xb8, MOV_ECX = 0xb9, MOV_EDX = 0xba;
const RDMSR = [0x0f, 0x32], CPUID = [0x0f, 0xa2], HLT = 0xf4;
const MOV_ESI_EAX = [0x89, 0xc6], MOV_EDI_EAX = [0x89, 0xc7], MOV_EBX_EDX = [0x89, 0xd3], MOV_ESI_EDX = [0x89, 0xd6], MOV_EDI_EBX = [0x89, 0xdf];

// RDMSR 0x10 (the TSC), then RDMSR 0x174 (SYSENTER_CS) with EAX:EDX preset
const MSR_PROBE = [
  MOV_ECX, ...imm(0x10), ...RDMSR, ...MOV_ESI_EAX,
  MOV_EAX, ...imm(0x1234), MOV_EDX, ...imm(0x5678),
  MOV_ECX, ...imm(0x174), ...RDMSR, ...MOV_EDI_EAX, ...MOV_EBX_EDX,
  HLT,
];

describe('I/O port policy', () => {
  const tail = 'report=100000 reports=1';

  it('stop: the VM stops at the first forbidden port, after its allowed output', () => {
    const hv = hypervisor([spinVm('p', { cmdline: tail, policy: { ioPorts: ['0x3f8-0x3ff'], onViolation: 'stop' } })]);
    hv.runFor(5_000_000);
    const g = hv.get('p');
    expect(g.state).toBe('stopped');
    expect(g.vm.stopped).toMatchObject({ kind: 'policy' });
    expect(exitStatus(g.vm.stopped!)).toBe(ExitStatus.policyViolation);
    expect(describeStop(g.vm.stopped!)).toContain('policy forbids port 0xf4 (1 byte)');
    expect(g.policy.counts).toEqual({ io: 1, mmio: 0, msr: 0, instructions: 0 });
    expect(g.console.transcript).toBe('spin 1 sum=5568F2BF\nPASS\n');
    hv.close();
  });

  it('exit-and-log: the write is dropped and logged, the guest goes on (and halts with IF=0)', () => {
    const logged: string[] = [];
    const hv = hypervisor([spinVm('p', { cmdline: tail, policy: { ioPorts: ['0x3f8-0x3ff'] } })], { log: (vm, m) => logged.push(`${vm}: ${m}`) });
    hv.runFor(5_000_000);
    const g = hv.get('p');
    expect(g.vm.stopped?.kind).toBe('halted');
    expect(g.policy.counts.io).toBe(1);
    expect(g.policy.log).toEqual([{ kind: 'io', detail: 'port 0xf4 (1 byte)', count: 1 }]);
    expect(logged[0]).toBe('p: policy violation (io): port 0xf4 (1 byte) → exit-and-log');
    expect(g.console.transcript).toBe('spin 1 sum=5568F2BF\nPASS\n');
    hv.close();
  });

  it('exit-and-log: a forbidden read sees all ones (the UART status port here), and is counted each time', () => {
    const hv = hypervisor([spinVm('p', { cmdline: tail, policy: { ioPorts: ['0x3f8', '0xf4'] } })]);
    hv.runFor(5_000_000);
    const g = hv.get('p');
    // polling LSR (0x3fd) reads 0xff: "transmitter empty", so every byte still goes out.
    // The LCR write that sets DLAB was refused, so the divisor byte (1) went out as data.
    expect(g.console.transcript).toBe('\x01spin 1 sum=5568F2BF\nPASS\n');
    expect(g.vm.stopped?.kind).toBe('debug-exit');
    // 6 setup writes to 0x3f9-0x3fc + one LSR read per byte printed
    expect(g.policy.counts.io).toBe(6 + g.console.transcript.length - 1);
    hv.close();
  });

  it('inject-gp: the guest takes #GP(0) at the OUT and reports it', () => {
    const hv = hypervisor([spinVm('p', { cmdline: tail, policy: { ioPorts: ['0x3f8-0x3ff'], onViolation: 'inject-gp' } })]);
    hv.runFor(3_000_000);
    const g = hv.get('p');
    expect(g.console.transcript).toContain('PASS\nunexpected exception vector=0D error=00000000');
    expect(g.policy.counts.io).toBeGreaterThanOrEqual(1);
    expect(g.vm.vcpus[0].counter('exceptions')).toBeGreaterThanOrEqual(1);
    hv.close();
  });
});

describe('MMIO policy', () => {
  const vmexit = { name: 'm', kernel: 'guest-images/vmexit.elf', cmdline: 'iterations=5', memoryMiB: 32 };

  it('exit-and-log: every access outside RAM is refused and counted, the guest still passes', () => {
    const hv = hypervisor([{ ...vmexit, policy: { mmio: [] } }]);
    hv.runFor(50_000_000, () => !!hv.get('m').vm.stopped);
    const g = hv.get('m');
    expect(g.vm.stopped?.kind).toBe('debug-exit');
    expect(g.console.transcript).toContain('vmexit done\nPASS\n');
    expect(g.policy.counts.mmio).toBe(g.vm.exitCounts[2]);
    expect(g.policy.counts.mmio).toBeGreaterThanOrEqual(10);
    hv.close();
  });

  it('stop: the first access to a range outside the allowed one stops the VM', () => {
    const hv = hypervisor([{ ...vmexit, policy: { mmio: ['0xfec00000-0xfec00fff'], onViolation: 'stop' } }]);
    hv.runFor(50_000_000, () => !!hv.get('m').vm.stopped);
    const g = hv.get('m');
    expect(describeStop(g.vm.stopped!)).toContain('policy forbids MMIO 0xfebf0000 (4 bytes)');
    expect(g.policy.counts.mmio).toBe(1);
    hv.close();
  });
});

describe('MSR filter', () => {
  it('exit-and-log: an allowed MSR reads normally, a filtered one reads as zero', () => {
    const hv = hypervisor([spinVm('x', { policy: { msrs: ['0x10'] } })]);
    const g = hv.get('x');
    runBlob(hv, g, MSR_PROBE);
    expect(g.vm.stopped?.kind).toBe('halted');
    const r = g.vm.vcpus[0].registers();
    expect(r.esi).toBeGreaterThan(200_000); // the TSC counts retired instructions
    expect(r.edi).toBe(0);
    expect(r.ebx).toBe(0);
    expect(g.policy.log).toEqual([{ kind: 'msr', detail: 'RDMSR 0x174', count: 1 }]);
    hv.close();
  });

  it('without a filter the same MSR reads its value', () => {
    const hv = hypervisor([spinVm('x')]);
    const g = hv.get('x');
    g.vm.vcpus[0].set('sysenterCs', 0x42);
    runBlob(hv, g, MSR_PROBE);
    expect(g.vm.vcpus[0].registers().edi).toBe(0x42);
    expect(g.policy.violations).toBe(0);
    hv.close();
  });

  it('inject-gp: the filtered RDMSR raises #GP(0) in the guest', () => {
    const hv = hypervisor([spinVm('x', { policy: { msrs: ['0x10'], onViolation: 'inject-gp' } })]);
    const g = hv.get('x');
    runBlob(hv, g, MSR_PROBE);
    expect(g.console.transcript).toContain('unexpected exception vector=0D error=00000000 eip=00300018');
    expect(g.policy.counts.msr).toBe(1);
    hv.close();
  });
});

describe('CPUID policy', () => {
  it('masks clear feature bits and overrides replace registers', () => {
    const hv = hypervisor([spinVm('c', {
      policy: { cpuid: [{ leaf: 1, and: { edx: '0xffffffef' } }, { leaf: '0x0', set: { ebx: '0x12345678' } }] },
    })]);
    const g = hv.get('c');
    runBlob(hv, g, [MOV_EAX, ...imm(1), ...CPUID, ...MOV_ESI_EDX, MOV_EAX, ...imm(0), ...CPUID, ...MOV_EDI_EBX, HLT]);
    const r = g.vm.vcpus[0].registers();
    expect(r.esi & (1 << 4)).toBe(0); // TSC masked
    expect(r.esi & (1 << 3)).not.toBe(0); // PSE still there
    expect(r.edi).toBe(0x12345678);
    expect(r.eax).toBe(1); // the rest of leaf 0 is unchanged: max leaf 1
    hv.close();
  });
});

describe('instruction and memory quotas', () => {
  it('maxInstructions: the VM stops after exactly that many, counted as a violation', () => {
    const hv = hypervisor([spinVm('q', { policy: { maxInstructions: 1_234_567 } }), spinVm('other')]);
    hv.runFor(10_000_000);
    const g = hv.get('q');
    expect(g.vm.instructionsRetired).toBe(1_234_567);
    expect(g.vm.stopped?.kind).toBe('instruction-limit');
    expect(g.policy.counts.instructions).toBe(1);
    expect(hv.get('other').state).toBe('running');
    hv.close();
  });

  it('the host memory budget refuses a VM that would pass it, and frees a stopped VM\'s memory', () => {
    expect(() => Hypervisor.fromConfig({ hostMemoryMiB: 10, vms: [spinVm('a'), spinVm('b'), spinVm('c')] }))
      .toThrow('hostMemoryMiB: the VMs need 12 MiB together, more than the host budget of 10 MiB');
    const hv = Hypervisor.fromConfig({ hostMemoryMiB: 10, vms: [spinVm('a'), spinVm('b')] });
    expect(() => hv.create(spinVm('c'))).toThrow('only 2 MiB of the host budget');
    expect([...hv.guests.keys()]).toEqual(['a', 'b']);
    hv.stop('a');
    expect(hv.create(spinVm('c')).state).toBe('created');
    hv.close();
  });

  it('one VM cannot reach another\'s memory: a store past its RAM is open bus, never the neighbour', () => {
    const hv = hypervisor([spinVm('a'), spinVm('b', { memoryMiB: 16 })]);
    const a = hv.get('a'), b = hv.get('b');
    expect(a.vm.core.memory).not.toBe(b.vm.core.memory);
    const before = b.vm.readPhys(0x800000, 4096);
    // mov dword [0x800000], 0xdeadbeef ; mov eax, [0x800000] ; hlt
    runBlob(hv, a, [0xc7, 0x05, ...imm(0x800000), ...imm(0xdeadbeef), 0xa1, ...imm(0x800000), HLT]);
    expect(a.vm.vcpus[0].registers().eax).toBe(0xffffffff);
    expect(a.vm.mmio.unclaimed).toBe(2);
    expect(Buffer.compare(b.vm.readPhys(0x800000, 4096), before)).toBe(0);
    hv.close();
  });
});

describe('config validation', () => {
  it('reports every problem with its field path', () => {
    let message = '';
    try {
      Hypervisor.fromConfig({
        vms: [
          { name: 'a', kernel: SPIN, memoryMiB: 1, shares: 0, capPercent: 150 },
          { name: 'a', kernel: SPIN, vcpus: 'two', disks: [{ capacityMiB: -1, bandwidthBytesPerSec: 1.5 }] },
          { name: 'c', kernel: SPIN, policy: { ioPorts: ['0x3ff-0x3f8', 'x'], onViolation: 'explode' }, colour: 'red' },
        ],
      });
    } catch (e) { message = (e as Error).message; }
    expect(message.split('\n').map((l) => l.trim())).toEqual([
      'invalid config:',
      'vms[0].memoryMiB: must be between 2 and 2048 (got 1)',
      'vms[0].shares: must be between 1 and 10000 (got 0)',
      'vms[0].capPercent: must be between 1 and 100 (got 150)',
      'vms[1].vcpus: must be a whole number (got "two")',
      'vms[1].disks[0].file: must be a non-empty string (got nothing)',
      'vms[1].disks[0].capacityMiB: must be between 1/1024 and 1048576 (got -1)',
      'vms[1].disks[0].bandwidthBytesPerSec: must be a whole number (got 1.5)',
      'vms[2].colour: unknown field (known: name, kernel, cmdline, memoryMiB, vcpus, shares, capPercent, sliceInstructions, disk, disks, policy)',
      'vms[2].policy.ioPorts[0]: range ends before it starts ("0x3ff-0x3f8")',
      'vms[2].policy.ioPorts[1]: must be a number or "0x..." between 0 and 0xffff (got "x")',
      'vms[2].policy.onViolation: must be one of "inject-gp", "exit-and-log", "stop" (got "explode")',
      'vms[1].name: "a" is used by an earlier VM; names must be unique',
    ]);
  });

  it('accepts the issue\'s example names', () => {
    const hv = Hypervisor.fromConfig({ vms: [{ name: 'a', kernel: SPIN, memoryMiB: 16, vcpus: 1, shares: 1 }] });
    expect(hv.get('a').config).toMatchObject({ memoryMiB: 16, vcpus: 1, shares: 1 });
    hv.close();
  });
});
