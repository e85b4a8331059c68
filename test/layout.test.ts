// The exit record and vCPU state layouts are declared once on each side
// (assembly/layout.ts, src/core/layout.ts): the core writes a name-derived
// value at every field it knows, and the host must find it at its own offset.
import { describe, it, expect } from 'vitest';
import { createCore } from '../src/core/core.js';
import { Exit, State, Seg, SEG_SIZE, Cpuid, CpuidEntry, ACTIVE_FOR_TEST } from './support/layout-names.js';

function fnv(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) { h ^= name.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

describe('core/host layout agreement', () => {
  it('every field the core declares is at the offset the host declares', () => {
    const core = createCore(1 << 20, 1);
    const written = core.exports.layoutProbe();
    const active = core.exports.stateOffset(0);
    expect(active).toBe(ACTIVE_FOR_TEST);
    const fields: [string, number][] = [
      ...Object.entries(Exit).map(([k, off]) => [`exit.${k}`, off] as [string, number]),
      ...Object.entries(State).map(([k, off]) => [`state.${k}`, active + off] as [string, number]),
      ...Object.entries(Seg).map(([k, off]) => [`seg.${k}`, active + State.seg + SEG_SIZE + off] as [string, number]),
      // the CPUID table: vCPU 1's count and its second entry, so both strides are checked
      ['cpuid.control', Cpuid.control],
      ['cpuid.count', Cpuid.table + Cpuid.tableSize + Cpuid.count],
      ...Object.entries(CpuidEntry).map(([k, off]) => [`cpuidEntry.${k}`, Cpuid.table + Cpuid.tableSize + Cpuid.entries + Cpuid.entrySize + off] as [string, number]),
    ];
    // both sides name the same number of fields
    expect(fields.length).toBe(written);
    const mismatched = fields.filter(([name, off]) => core.view.getUint32(off, true) !== fnv(name)).map(([n]) => n);
    expect(mismatched).toEqual([]);
  });
});
