// The region modules' branch hints (assembly/jit/region.ts unlikelyIf,
// jit/tier.ts hintSection): the module the core hands over carries a
// "metadata.code.branch_hint" section whose every hint names a region and
// points at an `if` in that region's body, marked unlikely. (V8 drops a
// section it cannot read without a word, so a wrong offset would only show
// as lost speed.)
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

// a loop that reads and writes memory: TLB lookups, each with its slow path
const body = [
  0x8b, 0x04, 0x8d, ...le32(0x4000), // mov eax, [ecx*4 + 0x4000]
  0x01, 0xc3,                        // add ebx, eax
  0x89, 0x1c, 0x8d, ...le32(0x8000), // mov [ecx*4 + 0x8000], ebx
  0x49,                              // dec ecx
];
const CODE = [0xb9, ...le32(2000), 0xeb, 0x00, ...body, 0x75, 0x100 - body.length - 2, 0xf4];

function uleb(b: Uint8Array, at: { p: number }): number {
  let v = 0, shift = 0, x: number;
  do { x = b[at.p++]; v += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80);
  return v;
}

function sections(b: Uint8Array): Map<number | string, Uint8Array> {
  const out = new Map<number | string, Uint8Array>();
  const at = { p: 8 };
  while (at.p < b.length) {
    const id = b[at.p++];
    const size = uleb(b, at);
    let content = b.subarray(at.p, at.p + size);
    at.p += size;
    if (id === 0) {
      const c = { p: 0 };
      const len = uleb(content, c);
      const name = new TextDecoder().decode(content.subarray(c.p, c.p + len));
      content = content.subarray(c.p + len);
      out.set(name, content);
    } else out.set(id, content);
  }
  return out;
}

describe('JIT: branch hints', () => {
  it('every hint of a region module points at an `if` of a region, marked unlikely', () => {
    const modules: Uint8Array[] = [];
    const vm = new Vm({ memoryMiB: 2, jit: { on: true, threshold: 2, demote: false }, sliceInstructions: 1000 });
    vm.core.jit.onModule = (bytes) => modules.push(bytes);
    enterFlat32(vm, CODE);
    vm.core.exports.stateChanged(0);
    expect(vm.run({ maxInstructions: 100_000 }).kind).toBe('halted');
    expect(modules.length).toBeGreaterThan(0);
    let checked = 0;
    for (const m of modules) {
      const s = sections(m);
      const hints = s.get('metadata.code.branch_hint');
      const code = s.get(10)!;
      expect(hints).toBeDefined();
      // the bodies: function index = imported functions + position in the code section
      const imported = WebAssembly.Module.imports(new WebAssembly.Module(new Uint8Array(m))).filter((i) => i.kind === 'function').length;
      const bodies: Uint8Array[] = [];
      const c = { p: 0 };
      for (let n = uleb(code, c); n > 0; n--) { const size = uleb(code, c); bodies.push(code.subarray(c.p, c.p + size)); c.p += size; }
      const h = { p: 0 };
      for (let f = uleb(hints!, h); f > 0; f--) {
        const body = bodies[uleb(hints!, h) - imported];
        expect(body).toBeDefined();
        let last = -1;
        for (let n = uleb(hints!, h); n > 0; n--) {
          const offset = uleb(hints!, h);
          expect(uleb(hints!, h)).toBe(1); // the hint's size
          expect(hints![h.p++]).toBe(0); // unlikely
          expect(offset).toBeGreaterThan(last);
          expect(body[offset]).toBe(0x04); // `if`
          last = offset;
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2);
  });
});
