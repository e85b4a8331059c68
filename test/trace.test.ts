// `trapeze trace`: the hello guest's first instructions and its first exits,
// line for line against a recorded trace (checked by hand against the NASM
// source: _start in lib/multiboot.inc, serial_init and putc in lib/serial.inc).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { traceImage, type TraceOptions } from '../src/trace/tracer.js';
import { IMAGES } from './support/guest.js';

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
});
