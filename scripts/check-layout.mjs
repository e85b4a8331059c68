#!/usr/bin/env node
// The layout probe, run by every build (scripts/build.mjs) and by
// test/layout.test.ts: the test core writes a value derived from each field's
// name at the address its generated layout gives it, and the host must find it
// at the address its own generated layout gives. A mismatch fails the build.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The fields whose value is not where the host expects it (empty when all agree). */
export async function layoutMismatches() {
  await import('../dist/host/node/index.js'); // installs the Node host the core loads through
  const { createCore, coreModule } = await import('../dist/core/core.js');
  const L = await import('../dist/core/layout.js');
  const fnv = (name) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) { h ^= name.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h >>> 0;
  };
  const core = createCore(1 << 20, 2, undefined, coreModule('core-test'));
  const written = core.exports.layoutProbe();
  const active = core.exports.stateOffset(0);
  const table1 = L.CPUID_TABLE + L.CPUID_TABLE_SIZE;
  const fields = [
    ...Object.entries(L.Exit).map(([k, off]) => [`exit.${k}`, off]),
    ...Object.entries(L.State).map(([k, off]) => [`state.${k}`, active + off]),
    ...Object.entries(L.Seg).map(([k, off]) => [`seg.${k}`, active + L.State.seg + L.SEG_SIZE + off]),
    ...Object.entries(L.CpuidTable).map(([k, off]) => [`cpuidTable.${k}`, table1 + off]),
    ...Object.entries(L.CpuidEntry).map(([k, off]) => [`cpuidEntry.${k}`, table1 + L.CpuidTable.entries + L.CPUID_ENTRY_SIZE + off]),
  ];
  const out = fields.filter(([name, off]) => core.view.getUint32(off, true) !== fnv(name)).map(([name]) => name);
  if (fields.length !== written) out.push(`(the core wrote ${written} fields, the host knows ${fields.length})`);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bad = await layoutMismatches();
  if (bad.length) {
    console.error(`layout-check: the core and the host disagree on ${bad.join(', ')}`);
    process.exit(1);
  }
  console.log('layout-check: core and host agree on every contract field');
}
