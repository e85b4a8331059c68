// `trapeze trace`: the hello guest's first instructions and its first exits,
// line for line against a recorded trace (checked by hand against the NASM
// source: _start in lib/multiboot.inc, serial_init and putc in lib/serial.inc).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { traceImage, type TraceOptions } from '../src/trace/tracer.js';
import { IMAGES } from './support/guest.js';
import { tempFile } from './support/image.js';
import { bzImage } from './support/bzimage.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
const expectedTrace = (name: string) => readFileSync(new URL(`./expected/${name}`, import.meta.url), 'utf8').trimEnd().split('\n');

function trace(image: string, options: TraceOptions = {}) {
  const lines: string[] = [];
  const stop = traceImage(`${IMAGES}${image}.elf`, options, (l) => lines.push(l));
  return { lines, stop };
}

describe('trapeze trace', () => {
  it('shows the first instructions of hello with linear addresses and disassembly', () => {
    const { lines, stop } = trace('hello', { count: 30 });
    expect(lines).toEqual(expectedTrace('hello-start.trace'));
    expect(stop.kind).toBe('stopped');
  });

  it('interleaves instructions and exits from serial_init on (--from, --count)', () => {
    expect(trace('hello', { from: 0x100041, count: 60 }).lines).toEqual(expectedTrace('hello-serial.trace'));
  });

  it('with --exits shows only exits: the whole greeting goes out one byte per exit, then the debug exit', () => {
    const { lines, stop } = trace('hello', { exits: true });
    expect(lines.every((l) => l.startsWith('exit  '))).toBe(true);
    const sent = lines.filter((l) => l.startsWith('exit  io out port=0x03f8')).map((l) => String.fromCharCode(parseInt(/data=(0x[0-9a-f]+)/.exec(l)![1], 16)));
    expect(sent.join('')).toBe('\u0001Hello from a Trapeze guest!\n'); // the divisor latch byte, then the text
    expect(lines.at(-1)).toBe('exit  io out port=0x00f4 size=1 data=0x0');
    expect(stop.kind).toBe('debug-exit');
  });

  it('with --irq shows exceptions delivered, with the error code and CR2 of a page fault', () => {
    const { lines } = trace('exceptions', { irq: true });
    expect(lines[0]).toMatch(/^fault #DE \(divide error\)$/);
    expect(lines.some((l) => /^fault #PF \(page fault\) error=0x2 cr2=0x[0-9a-f]{8}$/.test(l))).toBe(true);
    expect(lines.some((l) => /^fault #GP \(general protection\) error=0x/.test(l))).toBe(true);
  });

  it('with --mmu shows the shadow page table at work: fills, flushes, and each guest #PF before its delivery', () => {
    const { lines } = trace('paging', { mmu: true, irq: true });
    expect(lines.some((l) => /^mmu fill {3}lin=[0-9a-f]{8} guest=[0-9a-f]{8} -> shadow phys=[0-9a-f]{8} /.test(l))).toBe(true);
    expect(lines).toContain('mmu flush  cr3: 18 entries dropped, 0 global kept');
    // the paging guest's demand-paging faults: the MMU reports the #PF, then the core delivers it with that CR2
    const i = lines.findIndex((l) => l.startsWith('mmu #PF'));
    const lin = /lin=([0-9a-f]{8})/.exec(lines[i])![1];
    expect(lines[i]).toMatch(/error=02 \(not present, write, supervisor\)$/);
    expect(lines[i + 1]).toBe(`fault #PF (page fault) error=0x2 cr2=0x${lin}`);
    expect(lines.filter((l) => l.startsWith('fault #PF')).length).toBeGreaterThanOrEqual(48);
  });

  it('runs from the command line and reports how the run ended', () => {
    const r = spawnSync(process.execPath, [BIN, 'trace', `${IMAGES}hello.elf`, '--count', '30'], { encoding: 'utf8' });
    expect(r.stdout.trimEnd().split('\n')).toEqual(expectedTrace('hello-start.trace'));
    expect(r.stderr).toBe('trapeze: trace stopped after 30 lines\n');
    expect(r.status).toBe(0);
    const bad = spawnSync(process.execPath, [BIN, 'trace', `${IMAGES}hello.elf`, '--from', 'nowhere'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/expected a linear address/);
  });

  it('traces a PC booting a disk: the reset vector in the ROM alias, the firmware, then the boot sector at 0x7C00', () => {
    const exits: string[] = [];
    const stop = traceImage(undefined, { disk: [`${IMAGES}pcboot.img`], snapshot: true, exits: true, count: 3 }, (l) => exits.push(l));
    expect(exits[0]).toBe('exit  io out port=0x00ef size=1 data=0x0'); // the ROM's POST stub calls the host
    expect(stop.kind).toBe('stopped');
    const first: string[] = [];
    traceImage(undefined, { disk: [`${IMAGES}pcboot.img`], snapshot: true, from: 0x7c00, count: 2 }, (l) => first.push(l));
    expect(first).toEqual(['insn  00007c00  cli', 'insn  00007c01  xor ax, ax']);
    const reset: string[] = [];
    traceImage(undefined, { disk: [`${IMAGES}pcboot.img`], snapshot: true, count: 2 }, (l) => reset.push(l));
    expect(reset[1]).toBe('insn  fffffff0  jmp 0xf000:0xe05b');
  });

  it('traces a --bios ROM from F000:FFF0 and a multiboot kernel on the PC (--boot kernel)', () => {
    // 2 KiB ROM: at its last 16 bytes, mov al, 0x42; out 0x80, al; cli; hlt
    const rom = new Uint8Array(2048);
    rom.set([0xb0, 0x42, 0xe6, 0x80, 0xfa, 0xf4], 2048 - 16);
    const lines: string[] = [];
    const stop = traceImage(undefined, { bios: tempFile('rom.bin', rom) }, (l) => { if (!l.startsWith('mmu')) lines.push(l); });
    expect(lines).toEqual([
      'insn  fffffff0  mov al, 0x42', 'insn  fffffff2  out 0x80, al', 'exit  io out port=0x0080 size=1 data=0x42 \'B\'',
      'insn  fffffff4  cli', 'insn  fffffff5  hlt', 'exit  hlt at eip=0x0000fff6',
    ]);
    expect(stop.kind).toBe('halted');
    const pc: string[] = [];
    traceImage(`${IMAGES}smp.elf`, { boot: 'kernel', exits: true }, (l) => pc.push(l));
    // fw_cfg answers on the PC: select NB_CPUS, then its two bytes (one vCPU)
    expect(pc.filter((l) => / port=0x051[01] /.test(l)).slice(0, 3)).toEqual(['exit  io out port=0x0510 size=2 data=0x5', 'exit  io in port=0x0511 size=1 data=0x1', 'exit  io in port=0x0511 size=1 data=0x0']);
  });

  it('traces a Linux bzImage (--kernel) from its 32-bit entry', () => {
    const lines: string[] = [];
    const stop = traceImage(undefined, { kernel: tempFile('bz', bzImage()), append: 'x' }, (l) => { if (l.startsWith('insn')) lines.push(l); });
    expect(lines).toEqual(['insn  00100000  mov al, [esi+0x210]', 'insn  00100006  mov ebx, [esi+0x228]', 'insn  0010000c  hlt']);
    expect(stop.kind).toBe('halted');
  });

  it('refuses a trace with nothing to run, or a disk that does not exist, in one line with status 2', () => {
    for (const [args, message] of [[[], 'nothing to trace: give a multiboot image, --disk, --bios or --kernel'], [['--disk', '/nonexistent.img'], '/nonexistent.img']] as const) {
      const r = spawnSync(process.execPath, [BIN, 'trace', ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
