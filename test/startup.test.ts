// `trapeze run` loads only what running needs: the benchmark library (with
// lodash and platform), the disassembler (iced-x86) and the trace core load
// only for the commands that use them.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IMAGES } from './support/guest.js';

const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
const RECORD = fileURLToPath(new URL('./support/record-loads.cjs', import.meta.url));
const HEAVY = ['benchmark', 'iced-x86', 'lodash', 'platform'];

function packagesLoaded(args: string[]): { stdout: string; packages: string[] } {
  const r = spawnSync(process.execPath, ['--require', RECORD, BIN, ...args], { encoding: 'utf8' });
  const line = /^loaded: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  const packages = HEAVY.filter((p) => line.split(' ').some((m) => m.includes(`node_modules/${p}/`)));
  return { stdout: r.stdout, packages };
}

describe('startup', () => {
  it('trapeze run loads none of the heavy packages', () => {
    const r = packagesLoaded(['run', `${IMAGES}hello.elf`]);
    expect(r.stdout).toContain('Hello from a Trapeze guest!');
    expect(r.packages).toEqual([]);
  });

  it('trapeze trace loads the disassembler when it runs', () => {
    const r = packagesLoaded(['trace', `${IMAGES}hello.elf`, '--count', '3']);
    expect(r.stdout).toMatch(/^insn .*\S/m);
    expect(r.packages).toContain('iced-x86');
  });
});
