// Protected mode with a 16-bit stack segment (SS.B = 0), case by case: the
// stack16 guest prints, for each stack instruction, ESP, EBP, EAX, ECX and the
// stack bytes it wrote; QEMU (TCG) printed the same into expected/stack16.txt.
import { describe, it, expect } from 'vitest';
import { runGuest, expected } from './support/guest.js';
import { exitStatus } from '../src/commands/outcome.js';

/** The output as cases: a line naming the case, then its indented lines. */
function cases(lines: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let name = '';
  for (const line of lines) {
    if (!line.startsWith(' ')) {
      name = line.split(' esp=')[0];
      if (out.has(name)) name += ' (again)';
      out.set(name, []);
    }
    out.get(name)!.push(line);
  }
  return out;
}

describe('16-bit stack segment', () => {
  const run = runGuest('stack16');
  const got = cases(run.serial.split('\n').filter((l) => l !== ''));
  const want = cases(expected('stack16').lines);

  it('runs every case to PASS', () => {
    expect(exitStatus(run.stop)).toBe(expected('stack16').status);
    expect([...got.keys()]).toEqual([...want.keys()]);
  });
  for (const [name, lines] of want) {
    if (name === 'PASS') continue;
    it(name, () => { expect(got.get(name)).toEqual(lines); });
  }
});
