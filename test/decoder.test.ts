// The core's decoder agrees with iced-x86 on instruction length and on #UD,
// for random byte strings in 16- and 32-bit code. What counts as implemented
// by this CPU is documented in support/decoder-oracle.ts.
import { describe, it, expect } from 'vitest';
import { createCore, coreModule } from '../src/core/core.js';
import { IcedOracle, coreVerdict, agrees, type Verdict } from './support/decoder-oracle.js';
import { randomCode, prng } from '../src/fuzz/random-code.js';

const STRINGS_PER_MODE = 512 * 1024; // two modes: a million strings in all
const BATCH = 8192;

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}
function show(v: Verdict): string {
  return v.kind === 'ok' ? `length ${v.len}` : v.kind;
}

describe('decoder agrees with iced-x86', () => {
  const core = createCore(1 << 20, 1, undefined, coreModule('core-test'));
  const oracle = new IcedOracle();

  for (const bits of [16, 32] as const) {
    it(`${STRINGS_PER_MODE} random strings in ${bits}-bit code`, () => {
      const rnd = prng(bits === 16 ? 0x1234567 : 0x7654321);
      const bytes = new Uint8Array(BATCH * 15);
      const seen: Record<string, number> = { ok: 0, ud: 0, toolong: 0 };
      const lengths = new Set<number>();
      const mismatches: string[] = [];
      let mismatchCount = 0;
      for (let done = 0; done < STRINGS_PER_MODE; done += BATCH) {
        for (let k = 0; k < BATCH; k++) randomCode(rnd, bytes.subarray(k * 15, k * 15 + 15));
        const want = oracle.verdicts(bits, bytes, BATCH);
        for (let k = 0; k < BATCH; k++) {
          const got = coreVerdict(core, bits, bytes, k * 15);
          const w = want[k];
          seen[w.kind]++;
          if (w.kind === 'ok') lengths.add(w.len);
          if (!agrees(w, got)) {
            mismatchCount++;
            if (mismatches.length < 40) mismatches.push(`${hex(bytes.subarray(k * 15, k * 15 + 15))}: iced ${show(w)}, core ${show(got)}`);
          }
        }
      }
      console.log(`${bits}-bit: ${STRINGS_PER_MODE} strings: ${seen.ok} valid (lengths ${[...lengths].sort((a, b) => a - b).join(',')}), ${seen.ud} #UD, ${seen.toolong} too long; ${mismatchCount} disagree`);
      expect(mismatches, `${mismatchCount} disagreements`).toEqual([]);
      // the generator reached every kind of outcome and every length
      expect(seen.ok).toBeGreaterThan(STRINGS_PER_MODE / 4);
      expect(seen.ud).toBeGreaterThan(STRINGS_PER_MODE / 20);
      expect(seen.toolong).toBeGreaterThan(100);
      for (let len = 1; len <= 15; len++) expect(lengths.has(len), `length ${len}`).toBe(true);
    });
  }

  it('classifies known encodings as the manuals say', () => {
    const cases: [16 | 32, number[], Verdict][] = [
      [32, [0x0f, 0x20, 0x05], { kind: 'ok', len: 3 }],               // MOV r32,CR0: mod is ignored
      [32, [0x0f, 0x20, 0xc8], { kind: 'ud' }],                       // CR1
      [32, [0x8e, 0xc8], { kind: 'ud' }],                             // MOV CS,r
      [32, [0x8d, 0xc0], { kind: 'ud' }],                             // LEA with a register
      [32, [0xf0, 0x01, 0xc0], { kind: 'ud' }],                       // LOCK on a register destination
      [32, [0xf0, 0x01, 0x00], { kind: 'ok', len: 3 }],               // LOCK ADD [eax],eax
      [32, [0xf3, 0x90], { kind: 'ok', len: 2 }],                     // PAUSE is REP NOP
      [32, [0x0f, 0x6f, 0xc0], { kind: 'ok', len: 3 }],               // MMX MOVQ: decoded (the SSE space), #UD when run
      [32, [0xd9, 0x05, 1, 2, 3, 4], { kind: 'ok', len: 6 }],         // FLD m32: decodes, no FPU
      [16, [0x0f, 0x1f, 0x06, 0x34, 0x12], { kind: 'ok', len: 5 }],   // NOP with a disp16
      [32, [...Array(14).fill(0x66), 0x90], { kind: 'ok', len: 15 }],
      [32, [...Array(15).fill(0x66), 0x90], { kind: 'toolong' }],
      [32, [...Array(11).fill(0x2e), 0x81, 0xc0, 1, 2, 3, 4], { kind: 'toolong' }],
    ];
    for (const [bits, code, want] of cases) {
      const bytes = new Uint8Array(15);
      bytes.set(code.slice(0, 15));
      expect(show(coreVerdict(core, bits, bytes, 0)), hex(Uint8Array.from(code))).toBe(show(want));
      expect(show(oracle.verdicts(bits, bytes, 1)[0]), `iced: ${hex(Uint8Array.from(code))}`).toBe(show(want));
    }
  });
});
