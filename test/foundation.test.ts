// The end-to-end path: the hello guest boots, prints over the UART and exits
// through the debug-exit port; the CLI maps every way a run ends to a status.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runGuest, IMAGES } from './support/guest.js';
import { kludgeImage, tempFile } from './support/image.js';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { describeStop, exitStatus } from '../src/commands/outcome.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
function trapeze(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'latin1' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runCode(code: number[], maxInstructions = 1_000_000) {
  let serial = '';
  const m = createMachine({ memoryMiB: 4, serial: (b) => { serial += String.fromCharCode(b); } });
  loadMultiboot(m.vm, kludgeImage(code), 'test');
  return { stop: m.vm.run({ maxInstructions }), serial, vm: m.vm };
}

describe('hello guest', () => {
  it('prints its greeting on COM1 and exits with status 1 through port 0xF4', () => {
    const r = runGuest('hello');
    expect(r.serial).toBe('Hello from a Trapeze guest!\n');
    expect(r.stop).toMatchObject({ kind: 'debug-exit', value: 0, code: 1 });
    // every byte is one OUT exit to the UART, plus the LSR polls and the exit write
    expect(r.vm.exitStats().io).toBeGreaterThan(28);
  });

  it('does the same from the command line', () => {
    const r = trapeze('run', `${IMAGES}hello.elf`);
    expect(r.stdout).toBe('Hello from a Trapeze guest!\n');
    expect(r.status).toBe(1);
  });
});

describe('model-specific registers', () => {
  it('IA32_BIOS_SIGN_ID (0x8B) exists as on a P6: cleared by WRMSR, CPUID, then RDMSR reads revision 0 (no #GP)', () => {
    const MOV_ECX = 0xb9, MOV_EAX = 0xb8, MOV_EDX = 0xba;
    const imm = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const r = runCode([
      MOV_ECX, ...imm(0x8b), 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, // wrmsr 0x8B, 0
      MOV_EAX, ...imm(1), 0x0f, 0xa2,                             // cpuid 1
      MOV_ECX, ...imm(0x8b), MOV_EAX, ...imm(0x1234), MOV_EDX, ...imm(0x5678), 0x0f, 0x32, // rdmsr 0x8B
      0xf4,
    ]);
    expect(r.stop.kind).toBe('halted'); // no IDT: a #GP would have been a triple fault
    expect([r.vm.vcpus[0].gpr(0), r.vm.vcpus[0].gpr(2)]).toEqual([0, 0]);
  });
});

describe('how a run ends', () => {
  it('halting with interrupts off ends the run with status 0', () => {
    const { stop } = runCode([0xfa, 0xf4]); // cli; hlt
    expect(stop).toMatchObject({ kind: 'halted' });
    expect(exitStatus(stop)).toBe(0);
  });

  it('the debug-exit value v gives status (v << 1) | 1', () => {
    const { stop } = runCode([0xb0, 0x21, 0xe6, 0xf4]); // mov al, 0x21; out 0xf4, al
    expect(stop).toMatchObject({ kind: 'debug-exit', code: 0x43 });
    expect(exitStatus(stop)).toBe(0x43);
  });

  it('an invalid opcode with no IDT is a triple fault that names the opcode and address', () => {
    const { stop } = runCode([0x90, 0x0f, 0x0b]); // nop; ud2
    expect(stop.kind).toBe('shutdown');
    expect(exitStatus(stop)).toBe(4);
    expect(describeStop(stop)).toContain('#UD (invalid opcode)');
    expect(describeStop(stop)).toContain('at 0x00100021');
    expect(describeStop(stop)).toContain('opcode 0F 0B');
  });

  it('an instruction limit stops a guest that never ends', () => {
    const { stop, vm } = runCode([0xeb, 0xfe], 5000); // jmp $
    expect(stop).toMatchObject({ kind: 'instruction-limit', limit: 5000 });
    expect(exitStatus(stop)).toBe(6);
    expect(vm.vcpus[0].instructionsRetired).toBe(5000);
  });
});

describe('command-line errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['a missing file', ['run', '/nonexistent/kernel.elf'], /kernel\.elf: no such file/],
    ['a file that is not a kernel', ['run', tempFile('junk.bin', new Uint8Array(300).fill(7))], /junk\.bin: no multiboot header/],
    ['a memory size that is not a number', ['run', `${IMAGES}hello.elf`, '--memory', 'lots'], /memory size must be a whole number of MiB/],
    ['a memory size that is too small', ['run', `${IMAGES}hello.elf`, '--memory', '1'], /memory size must be at least 2 MiB/],
    ['a kernel that does not fit', ['run', tempFile('big.elf', kludgeImage([0xf4], { loadAddr: 0x1ffff0 })), '--memory', '2'], /lies outside guest RAM \(2 MiB\)/],
    ['an unknown option', ['run', `${IMAGES}hello.elf`, '--frobnicate'], /unknown option '--frobnicate'/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: one line on stderr, status 2`, () => {
      const r = trapeze(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('--max-instructions ends a run with status 6 and says so', () => {
    const r = trapeze('run', `${IMAGES}hello.elf`, '--max-instructions', '200');
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/instruction limit reached \(200 instructions\)/);
  });
});
