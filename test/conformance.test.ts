// Real-silicon conformance: every applicable 80286 real-mode single-instruction
// test (../shared/conformance/80286-real) passes on the core, and the checker
// itself notices a wrong register, a wrong byte and a stray write.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runSuite } from '../src/conformance/runner.js';
import { Suite, type ConformanceTest } from '../src/conformance/suite.js';
import { Harness } from '../src/conformance/harness.js';
import { compare } from '../src/conformance/compare.js';
import { flagsMaskFor } from '../src/conformance/masks.js';
import { derive386 } from '../src/conformance/derive386.js';

// the data lives beside the repository (../shared); CONFORMANCE_DIR points elsewhere
const DATA = process.env.CONFORMANCE_DIR ?? fileURLToPath(new URL('../../shared/conformance/80286-real', import.meta.url));
// Without the data (a clone without ../shared), its tests are skipped, loudly.
const HAVE_DATA = existsSync(join(DATA, 'metadata.json'));
if (!HAVE_DATA) console.warn(`!!! SKIPPED: the 80286 conformance tests: no ${DATA}/metadata.json (the recorded tests live beside the repository in ../shared/conformance; set CONFORMANCE_DIR to use another copy)`);
const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));

function trapeze(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run `t` on a fresh state of `h` and return what differs. */
function differences(h: Harness, t: ConformanceTest, mask: number): string[] {
  h.run(t);
  const out = compare(t, h, mask);
  h.clear(t);
  return out;
}

/** One test of `file`, by idx. */
function testOf(file: string, idx: number): { t: ConformanceTest; mask: number } {
  const f = new Suite(DATA).files.find((x) => x.key === file)!;
  return { t: f.load().find((x) => x.idx === idx)!, mask: f.flagsMask };
}

describe.skipIf(!HAVE_DATA)('80286 real-mode conformance', () => {
  it('passes every applicable test of every file', () => {
    const results = runSuite(DATA, { keepFailures: 2 }, () => {});
    const failures = results.filter((r) => r.failed > 0)
      .map((r) => `${r.file.key}: ${r.failed} failed, first #${r.failures[0].test.idx} ${r.failures[0].test.name}: ${r.failures[0].problems.join('; ')}`);
    expect(failures).toEqual([]);
    const sum = (k: 'passed' | 'skipped' | 'derived') => results.reduce((a, r) => a + r[k], 0);
    expect(results.length).toBe(325);
    // 73,650 tests less the 1,981 that metadata.json marks for a 386+ (D8 included)
    // 73,650 tests less the 1,981 that metadata.json marks for a 386+; of those, the LOCK (#UD),
    // SS-relative (#SS), string and POP m16 faults run against the 386 outcome derived from them, and
    // `wrap` as recorded (this core wraps word by word); left: `length` 13, `sreg-fs-gs` 2, D8
    expect(sum('derived')).toBe(1716);
    expect(sum('skipped')).toBe(1981 - 1716);
    expect(sum('passed')).toBe(73650 - 1981 + 1716);
  });

  it('derives the 386 outcome of a locked register ADD: #UD through IVT entry 6, nothing else changed', () => {
    const h = new Harness();
    const { t, mask } = testOf('00', 480); // lock add cl,ah: the 286 ran it
    const d = derive386(['lock'], t)!;
    expect(d.exception?.vector).toBe(6);
    expect(d.final.regs).toMatchObject({ cs: 0x50, ip: 1, sp: (t.initial.regs.sp - 6) & 0xffff });
    expect(differences(h, t, mask)).not.toEqual([]); // the core does not run it as the 286 did
    expect(differences(h, d, mask)).toEqual([]);
  });

  it('derives the 386 outcome of REPE CMPSW faulting on its tenth item: SI, DI, CX as before that item', () => {
    const h = new Harness();
    const { t, mask } = testOf('A7', 660); // SI = FFED: items 0-8 compare, item 9 reads a word at FFFF
    const d = derive386(['string-fault'], t)!;
    expect(d.final.regs).toMatchObject({ si: 0xffff, di: t.initial.regs.di + 18, cx: t.initial.regs.cx - 9 });
    expect(d.exception?.vector).toBe(13);
    expect(differences(h, t, mask).join()).toMatch(/cx: got 001F, want 001E/); // the 286 had counted item 9 too
    expect(differences(h, d, mask)).toEqual([]);
  });

  it('reports a wrong register, a wrong final byte and a byte that should not have changed', () => {
    const h = new Harness();
    const { t, mask } = testOf('00', 0); // add [bx+0Eh],bl: writes one byte
    expect(h.run(t)).toEqual({ halted: true });
    expect(compare(t, h, mask)).toEqual([]);
    const wrongAx = { ...t, final: { ...t.final, regs: { ...t.final.regs, ax: t.initial.regs.ax ^ 1 } } };
    expect(compare(wrongAx, h, mask)).toEqual([expect.stringMatching(/^ax: got/)]);
    const [addr, b] = t.final.ram[0];
    const wrongByte = { ...t, final: { ...t.final, ram: [[addr, b ^ 0x80]] as [number, number][] } };
    expect(compare(wrongByte, h, mask)).toEqual([expect.stringMatching(/^ram\[.*want/)]);
    const unlisted = { ...t, final: { ...t.final, ram: [] } };
    expect(compare(unlisted, h, mask)).toEqual([expect.stringMatching(/want it unchanged/)]);
    h.clear(t);
  });

  it('masks only the flags the file leaves undefined, also in the FLAGS an exception pushed', () => {
    const h = new Harness();
    const div = new Suite(DATA).files.find((x) => x.key === 'F6.6')!;
    const t = div.load().find((x) => x.exception?.vector === 0)!; // #DE pushes undefined flags
    h.run(t);
    expect(compare(t, h, div.flagsMask)).toEqual([]);
    const at = t.exception!.flagsAddress;
    // flip CF in the expected pushed FLAGS: undefined after DIV, so still a pass
    const cfFlipped = t.final.ram.map(([a, v]) => [a, a === at ? v ^ 1 : v] as [number, number]);
    expect(compare({ ...t, final: { ...t.final, ram: cfFlipped } }, h, div.flagsMask)).toEqual([]);
    // flip DF: defined, so a failure
    const dfFlipped = t.final.ram.map(([a, v]) => [a, a === at + 1 ? v ^ 4 : v] as [number, number]);
    expect(compare({ ...t, final: { ...t.final, ram: dfFlipped } }, h, div.flagsMask)).toEqual([expect.stringContaining('pushed FLAGS')]);
    h.clear(t);
  });

  it('checks OF after a one-bit shift by an immediate, which the file mask leaves out', () => {
    const h = new Harness();
    const f = new Suite(DATA).files.find((x) => x.key === 'C0.4')!;
    const t = f.load().find((x) => x.bytes.endsWith('01f4') && !x.exception)!; // shl r/m8, 1
    const mask = flagsMaskFor(f.key, f.flagsMask, t);
    expect(mask & 0x800).toBe(0x800);
    h.run(t);
    expect(compare(t, h, mask)).toEqual([]);
    const want = { ...t.initial.regs, ...t.final.regs };
    const ofFlipped = { ...t, final: { ...t.final, regs: { ...t.final.regs, flags: want.flags ^ 0x800 } } };
    expect(compare(ofFlipped, h, mask)).toEqual([expect.stringMatching(/^flags: .*differ 800/)]);
    expect(compare(ofFlipped, h, f.flagsMask)).toEqual([]);
    h.clear(t);
  });
});

describe('trapeze conformance', () => {
  it.skipIf(!HAVE_DATA)('prints pass/fail per file and a total, and exits 0 when all pass', () => {
    const r = trapeze('conformance', DATA, '--only', '27,F6.7,D8');
    expect(r.stdout).toMatch(/^27 +daa +pass +250 passed, 0 failed/m);
    expect(r.stdout).toMatch(/^D8 +fdivr +skipped \(250 tests\): skip386/m);
    expect(r.stdout).toMatch(/^F6.7 +idiv +pass +250 passed, 0 failed \(5 divergent386\)/m);
    expect(r.stdout).toMatch(/^total: 500 applicable \(5 of them divergent386 tests, see derive386.ts\), 500 passed, 0 failed, 250 skipped; 3 files/m);
    expect(r.status).toBe(0);
  });

  it.skipIf(!HAVE_DATA)('exits non-zero and shows the differences with --verbose when a test fails', () => {
    const { t } = testOf('00', 0);
    const bad = { ...t, final: { ...t.final, regs: { ...t.final.regs, bx: t.initial.regs.bx ^ 0x100 } } };
    const dir = mkdtempSync(join(tmpdir(), 'trapeze-conf-'));
    writeFileSync(join(dir, '00.jsonl.gz'), gzipSync(JSON.stringify(bad) + '\n'));
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({
      revokedHashes: [], divergence386: {},
      files: { '00': { file: '00.jsonl.gz', mnemonic: 'add', flagsMask386: 4095, skip386: null, divergent386: {} } },
    }));
    const r = trapeze('conformance', dir, '--verbose');
    expect(r.stdout).toMatch(/^00 +add +FAIL +0 passed, 1 failed/m);
    expect(r.stdout).toContain(`bx: got ${t.initial.regs.bx.toString(16).toUpperCase().padStart(4, '0')}`);
    expect(r.status).toBe(1);
  });

  it('refuses --only with a key no file has (status 2), rather than running nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trapeze-conf-'));
    writeFileSync(join(dir, '27.jsonl.gz'), gzipSync(''));
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({
      revokedHashes: [], divergence386: {},
      files: { 27: { file: '27.jsonl.gz', mnemonic: 'daa', flagsMask386: 4095, skip386: null, divergent386: {} } },
    }));
    const r = trapeze('conformance', dir, '--only', '27,ZZ');
    expect(r.stderr).toBe(`trapeze: --only: no file for ZZ in ${dir} (keys are file names without .jsonl.gz, such as 27)\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('rejects a folder without metadata.json with a clear error', () => {
    const r = trapeze('conformance', tmpdir());
    expect(r.stderr).toMatch(/not a conformance folder/);
    expect(r.status).toBe(2);
  });
});
