// The JIT's CALL/JMP r/m32 emitter (assembly/jit/region.ts, FF /2 and /4): a
// loop that calls through a register and through a table in memory, and a
// function that returns through an indirect JMP, runs compiled and ends as
// interpreted; on the last pass the table entry is read from outside RAM, so
// the region leaves before the CALL (nothing pushed) and the interpreter does
// the MMIO read and jumps where it leads.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const BASE = 0x1000;
const TABLE = 0x3000;          // [TABLE] = F
const OUTSIDE_RAM = 0x200000;  // the VM has 2 MiB: reads as all ones there
const body = [
  0xb8, ...le32(0),               // L: mov eax, F (patched below)
  0xff, 0xd0,                     //    call eax
  0x83, 0xf9, 0x01,               //    cmp ecx, 1
  0xbe, ...le32(TABLE),           //    mov esi, TABLE
  0x75, 0x05,                     //    jne N
  0xbe, ...le32(OUTSIDE_RAM),     //    mov esi, OUTSIDE_RAM (the last pass)
  0xff, 0x16,                     // N: call [esi]
];
const tail = [
  0x49,                           //    dec ecx
];
const F = [
  0x01, 0xcb,                     // F: add ebx, ecx
  0x8b, 0x14, 0x24,               //    mov edx, [esp]
  0x83, 0xc4, 0x04,               //    add esp, 4
  0xff, 0xe2,                     //    jmp edx (return)
];
const HEAD = 14; // the bytes before L
function code(): number[] {
  const head = [0xb9, ...le32(3000), 0x31, 0xdb, 0xbc, ...le32(0x8000), 0xeb, 0x00]; // mov ecx, 3000; xor ebx, ebx; mov esp, 0x8000; jmp L
  const loop = [...body, ...tail];
  const c = [...head, ...loop, 0x75, 0x100 - loop.length - 2, 0xf4]; // jnz L; hlt
  const f = BASE + c.length;
  c.push(...F);
  c.splice(head.length + 1, 4, ...le32(f)); // mov eax, F
  while (c.length < TABLE - BASE) c.push(0x90);
  c.push(...le32(f)); // the table
  return c;
}

describe('JIT: CALL/JMP r/m32', () => {
  it('compiled, calls through a register and a table, and returns through JMP, as interpreted', () => {
    const c = code();
    const off = runFlat32(c, false).end;
    // the last CALL [esi] read all ones outside RAM and went there: no code, so the run ends in a fault
    expect(off.stop).not.toBe('halted');
    expect(off.regs[2] >>> 0).toBe(BASE + HEAD + 7); // EDX: F's last return address, after the last pass's CALL EAX
    expect(off.regs[4] >>> 0).toBe(0x8000 - 4); // ESP: the last CALL [esi] pushed its return address
    expectCompiledAsInterpreted(off, runFlat32(c, true).end);
  });
});
