// The incremental build (scripts/build.mjs): a step runs when it was never
// built, an output is missing, an input is newer than its last success, or
// its command changed; otherwise it is skipped.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, utimesSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script without types
import { staleReason, stamp } from '../scripts/build.mjs';

interface Step { name: string; inputs: string[]; outputs: string[]; cmd: string[] }

describe('the incremental build', () => {
  it('runs a step only when its inputs, outputs or command say so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trapeze-build-'));
    try {
      const step: Step = { name: 'gen', inputs: ['in'], outputs: ['out/x.txt'], cmd: ['gen', 'in'] };
      mkdirSync(join(dir, 'in/deep'), { recursive: true });
      mkdirSync(join(dir, 'out'));
      const src = join(dir, 'in/deep/a.txt');
      writeFileSync(src, 'a');
      const t = (s: number) => new Date(1_700_000_000_000 + s * 1000);
      utimesSync(src, t(0), t(0));
      expect(staleReason(step, dir)).toBe('not built yet');
      writeFileSync(join(dir, 'out/x.txt'), 'x');
      stamp(step, t(10), dir);
      expect(staleReason(step, dir)).toBeUndefined();
      utimesSync(src, t(20), t(20)); // an input edited after the last build (in a subfolder)
      expect(staleReason(step, dir)).toBe('inputs changed');
      stamp(step, t(30), dir);
      expect(staleReason(step, dir)).toBeUndefined();
      rmSync(join(dir, 'out/x.txt'));
      expect(staleReason(step, dir)).toBe('out/x.txt is missing');
      writeFileSync(join(dir, 'out/x.txt'), 'x');
      expect(staleReason({ ...step, cmd: ['gen', '--new', 'in'] }, dir)).toBe('its command changed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
