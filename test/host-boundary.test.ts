// The core and the VMM run on any host: only the Node host (src/host/node/)
// and the Node-only front ends (the CLI, benchmarks, the conformance runner)
// may use Node's modules or its globals. Everything else asks host().
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const SRC = 'src';
/** Node-only: the Node host itself, and the programs that only run under Node. */
const NODE_SIDE = ['src/host/node/', 'src/cli.ts', 'src/commands/', 'src/bench/', 'src/conformance/'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const BUILTIN = new Set(builtinModules);
/** Module names a file imports (static and dynamic). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) out.push(m[1]);
  return out;
}
const isNodeModule = (name: string) => name.startsWith('node:') || BUILTIN.has(name.split('/')[0]);
/** Node globals outside the language and the web platform. */
const NODE_GLOBALS = /\b(process\.|Buffer\.|__dirname|__filename|require\()/;

describe('host boundary', () => {
  const vmm = sources(SRC).filter((f) => !NODE_SIDE.some((n) => f === n || f.startsWith(n)));

  it('finds the VMM sources it checks', () => {
    for (const f of ['src/core/core.ts', 'src/vm/vm.ts', 'src/machine.ts', 'src/hypervisor/hypervisor.ts', 'src/platform/pc.ts', 'src/host/platform.ts', 'src/host/browser.ts']) {
      expect(vmm).toContain(f);
    }
  });

  it('the core and the VMM import no Node module outside src/host/node/', () => {
    const offenders = vmm.flatMap((f) => importsOf(readFileSync(f, 'utf8')).filter(isNodeModule).map((m) => `${relative('.', f)} imports ${m}`));
    expect(offenders).toEqual([]);
  });

  it('the core and the VMM use no Node global (process, Buffer, require)', () => {
    const offenders = vmm.flatMap((f) => readFileSync(f, 'utf8').split('\n')
      .map((line, i) => ({ line: line.replace(/\/\*.*?\*\/|\/\/.*$|^\s*\*.*$/g, ''), i }))
      .filter(({ line }) => NODE_GLOBALS.test(line))
      .map(({ i }) => `${f}:${i + 1}`));
    expect(offenders).toEqual([]);
  });

  it('the check sees a Node import when there is one', () => {
    expect(importsOf("import { readFileSync } from 'node:fs';\nconst z = await import('zlib');").filter(isNodeModule)).toEqual(['node:fs', 'zlib']);
    expect(importsOf("import { x } from './y.js';").filter(isNodeModule)).toEqual([]);
  });
});
