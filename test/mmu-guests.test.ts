// The shipped paging guests: output as QEMU printed it, and shadow counters
// that match what the guest says it did.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runGuest, expected, significantLines, IMAGES } from './support/guest.js';
import { exitStatus } from '../src/commands/outcome.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));

function printed(serial: string, name: string): number {
  const m = new RegExp(`^${name}=(\\d+)$`, 'm').exec(serial);
  if (!m) throw new Error(`guest did not print ${name}`);
  return Number(m[1]);
}

/** Run a shipped image, check it printed what QEMU printed; its serial output and counters. */
function runMatchingQemu(name: string) {
  const { serial, stop, vm } = runGuest(name);
  const want = expected(name);
  expect(significantLines(serial)).toEqual(want.lines);
  expect(exitStatus(stop)).toBe(want.status);
  return { serial, lines: want.lines, c: vm.vcpus[0].counters() };
}

describe('paging guest (demand paging, A/D, WP, U/S, INVLPG, PSE, PGE)', () => {
  it('prints what QEMU printed, and its #PF count matches the counter', () => {
    const { lines, c } = runMatchingQemu('paging');
    // every exception this guest takes is a #PF (48 demand faults + the checked ones)
    const pfLines = lines.filter((l) => l.includes('vector=0E')).length;
    expect(c.guestPageFaults).toBe(48 + pfLines);
    expect(c.exceptions).toBe(c.guestPageFaults);
    expect(c.ptWriteTraps).toBeGreaterThan(0);
  });
});

describe('pagestress guest (2,560 pages, CR3 switches, PTE swaps)', () => {
  it('prints what QEMU printed; CR3 flushes, INVLPGs and PT-write traps equal what it reports', () => {
    const { serial, c } = runMatchingQemu('pagestress');
    expect(c.flushCr3).toBe(printed(serial, 'cr3_writes'));
    // each PTE rewrite is one guest write to a live page table, followed by INVLPG
    expect(c.ptWriteTraps).toBe(printed(serial, 'pte_rewrites'));
    expect(c.flushInvlpg).toBe(printed(serial, 'pte_rewrites'));
    // 100,000 random touches, most of them right after a CR3 flush: nearly each one walks and fills
    expect(c.guestWalks).toBeGreaterThan(100_000);
    expect(c.shadowFills).toBeGreaterThan(100_000);
  });

  it('`trapeze run --stats` prints counters that match what the guest did', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--stats', `${IMAGES}pagestress.elf`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('cr3_writes=1568');
    expect(r.stderr).toMatch(/^flushes: +CR3=1568, INVLPG=780,/m);
    expect(r.stderr).toMatch(/^shadow MMU: +fills=\d{6,}, guest walks=\d{6,}, guest #PF=0, PT-write traps=780,/m);
    expect(r.stderr).toMatch(/^exits\b/m);
  });

  it('`trapeze run --trace-mmu` logs fills, faults and invalidations', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--trace-mmu', `${IMAGES}paging.elf`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mmu #PF    lin=403fa000 guest=00000000 error=02 \(not present, write, supervisor\)$/m);
    expect(r.stderr).toMatch(/^mmu fill   lin=403fa000 guest=[0-9a-f]{5}06[37] -> shadow phys=[0-9a-f]{8} S(\+U)? write=direct$/m);
    expect(r.stderr).toMatch(/^mmu drop   lin=60002000 from=[0-9a-f]{8} \(pt-write\)/m);
    expect(r.stderr).toMatch(/^mmu flush  cr3: \d+ entries dropped, 0 global kept$/m);
  });
});
