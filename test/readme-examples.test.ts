// The README's examples run as written: each `$ trapeze ...` line of a shown
// session runs (with `trapeze` on the PATH, as `npm link` puts it) and prints
// the lines shown under it, up to a "..." line. The tour's sessions elide more
// ("..." anywhere, varying figures): its lines must appear in order, figures
// compared by shape.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = mkdtempSync(join(tmpdir(), 'trapeze-path-'));
writeFileSync(join(bin, 'trapeze'), `#!/bin/sh\nexec "${process.execPath}" "${resolve('bin/trapeze.js')}" "$@"\n`);
chmodSync(join(bin, 'trapeze'), 0o755);
const scratch = mkdtempSync(join(tmpdir(), 'trapeze-readme-'));
afterAll(() => { rmSync(bin, { recursive: true, force: true }); rmSync(scratch, { recursive: true, force: true }); });

interface Example { command: string; shown: string[] }

/** Sessions in ``` blocks: a `$ trapeze` line and the lines shown under it. */
function examples(file: string): Example[] {
  const out: Example[] = [];
  let inBlock = false;
  let current: Example | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) { inBlock = !inBlock; current = undefined; continue; }
    if (!inBlock) continue;
    if (line.startsWith('$ trapeze ')) out.push(current = { command: line.slice(2), shown: [] });
    else if (current && line !== '') current.shown.push(line);
  }
  return out;
}

/** Figures that differ from run to run (rates, shares) are compared by shape. */
const shape = (s: string) => s.replace(/\d+(\.\d+)?[kMG]?%?/g, '#').replace(/ +/g, ' ');

describe('README examples', () => {
  const all = examples('README.md');
  it('has the examples this test expects', () => {
    expect(all.map((e) => e.command.split(' ').slice(0, 3).join(' '))).toEqual([
      'trapeze run guest-images/hello.elf;', 'trapeze run --disk', 'trapeze run --config',
    ]);
  });
  for (const ex of all) {
    it(ex.command, () => {
      // run in the repository; files an example writes (stats.json) go to a scratch copy's place
      const command = ex.command.replace(/--stats-json (\S+)/, (_, f) => `--stats-json ${join(scratch, f)}`);
      const r = spawnSync('bash', ['-c', command], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
      expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
      const end = ex.shown.indexOf('...');
      const want = end < 0 ? ex.shown : ex.shown.slice(0, end);
      const got = (r.stdout + r.stderr).split('\n').filter((l) => l !== '');
      if (ex.command.includes('--top')) {
        for (const line of want) expect(got.map(shape), line).toContain(shape(line));
      } else {
        expect(got.slice(0, want.length)).toEqual(want);
      }
    });
  }
  it('the example config created its own disks beside it (file names are relative to the config)', () => {
    expect(existsSync('guest-images/web-data.img')).toBe(true);
    expect(existsSync('guest-images/db.cow')).toBe(true);
  });
});

describe('docs/tour.md sessions', () => {
  // trapeze bench takes minutes; its output is the README's figures run
  for (const ex of examples('docs/tour.md').filter((e) => !e.command.startsWith('trapeze bench'))) {
    it(ex.command, () => {
      const r = spawnSync('bash', ['-c', ex.command], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 120_000 });
      expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
      const got = (r.stdout + r.stderr).split('\n').map(shape);
      let at = 0;
      for (const line of ex.shown.filter((l) => l !== '...')) {
        const i = got.indexOf(shape(line), at);
        expect(i, `"${line}" (in order)`).toBeGreaterThanOrEqual(0);
        at = i + 1;
      }
    });
  }
});
