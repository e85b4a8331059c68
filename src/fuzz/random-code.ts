// Random x86 code for the decoder and robustness fuzzers: mostly shaped like
// instructions (prefixes, the 0F map, ModRM/SIB/displacement forms), the
// rest pure noise.

/** A seeded 32-bit generator (mulberry32): the same seed, the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];

/** Fill `out` with one random instruction-like string. */
export function randomCode(rnd: () => number, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) out[i] = rnd() & 0xff;
  const shape = rnd() % 100;
  if (shape < 20) return; // noise
  let i = 0;
  // prefixes: mostly none or a few, sometimes a run that makes it too long
  const p = rnd() % 100;
  const prefixes = p < 45 ? 0 : p < 70 ? 1 : p < 85 ? 2 : p < 95 ? 3 + (rnd() % 4) : 7 + (rnd() % 9);
  for (let k = 0; k < prefixes && i < out.length; k++) out[i++] = PREFIXES[rnd() % PREFIXES.length];
  if (i >= out.length) return;
  if (rnd() % 100 < 40) {
    out[i++] = 0x0f;
    if (i < out.length && rnd() % 100 < 5) out[i++] = rnd() & 1 ? 0x38 : 0x3a;
  }
  if (i >= out.length) return;
  out[i++] = rnd() & 0xff; // the opcode
  if (i >= out.length) return;
  // ModRM: every mod, with the SIB (rm=4) and disp-only (rm=5 / rm=6) forms often
  const mod = rnd() & 3;
  const r = rnd() % 10;
  const rm = r < 3 ? 4 : r < 5 ? 5 : r < 6 ? 6 : rnd() & 7;
  out[i++] = (mod << 6) | ((rnd() & 7) << 3) | rm;
  if (i < out.length && rnd() & 1) out[i] = (rnd() & 0xf8) | (rnd() & 1 ? 5 : rnd() & 7); // SIB, base=5 often
}
