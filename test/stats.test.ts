// `trapeze run --stats`: exits by reason with counts and the share of time
// each took on the host, the core's share, and instructions per second.
import { describe, it, expect, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IMAGES } from './support/guest.js';
import { ExitTimer } from '../src/stats/exit-timer.js';
import type { Vm } from '../src/vm/vm.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));

describe('run --stats', () => {
  it('breaks the vmexit guest\'s run down by exit reason', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', `${IMAGES}vmexit.elf`, '--cmdline', 'iterations=100', '--stats'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const rows = new Map([...r.stderr.matchAll(/^ {2}(\w+) +([\d,]+) +([\d.]+) +([\d.]+)%/gm)].map((m) => [m[1], { count: Number(m[2].replace(/,/g, '')), share: Number(m[4]) }]));
    // 100 iterations each: an MMIO read and an MMIO write per iteration; CPUID is answered in the core
    expect(rows.get('mmio')?.count).toBe(200);
    expect(rows.has('cpuid')).toBe(false);
    // OUT + IN per iteration, 64-byte REP OUTSB as one exit each, plus the serial output
    expect(rows.get('io')!.count).toBeGreaterThan(300);
    const core = Number(/^ {2}in the core +[\d.]+ +([\d.]+)%/m.exec(r.stderr)![1]);
    const total = [...rows.values()].reduce((s, x) => s + x.share, core);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    const insns = /^instructions retired: ([\d,]+) in [\d.]+ ms \(([\d.]+) MIPS\)$/m.exec(r.stderr)!;
    expect(Number(insns[1].replace(/,/g, ''))).toBeGreaterThan(10_000);
    expect(Number(insns[2])).toBeGreaterThan(0);
  });

  it('counts every vCPU: the instructions are their sum, and the JIT\'s share is of that sum', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', `${IMAGES}smp.elf`, '--cpus', '2', '--stats'], { encoding: 'utf8' });
    const total = Number(/^instructions retired: ([\d,]+) in/m.exec(r.stderr)![1].replace(/,/g, ''));
    const each = [.../^vcpus: +(.*) instructions$/m.exec(r.stderr)![1].matchAll(/\d+: ([\d,]+)/g)].map((m) => Number(m[1].replace(/,/g, '')));
    expect(each.length).toBe(2);
    expect(each.every((n) => n > 100_000)).toBe(true); // both vCPUs ran
    expect(total).toBe(each[0] + each[1]);
    const share = /instructions compiled=\d+ \(([\d.]+)%\)/.exec(r.stderr);
    if (share) expect(Number(share[1])).toBeLessThanOrEqual(100);
  });

  it('counts the longest sampled exit once, not once per exit it stands for', () => {
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    type Hooks = { beforeExit(v: number, r: number): void; afterExit(v: number, r: number): void };
    let hooks: Hooks | undefined;
    const timer = new ExitTimer({ observeExits: (h: Hooks) => { hooks = h; } } as unknown as Vm);
    // 64 exits, one in 8 sampled: the first sampled one took 5 ms (a pause), the rest 1 us
    for (let i = 1; i <= 64; i++) { hooks!.beforeExit(0, 1); now += i === 8 ? 5 : 0.001; hooks!.afterExit(0, 1); }
    clock.mockRestore();
    expect(timer.hostMs(1)).toBeCloseTo(5 + 63 * 0.001, 9);
  });
});
