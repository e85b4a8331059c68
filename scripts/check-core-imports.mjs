// Lint for the core (assembly/), which ESLint and tsc do not see: every name
// a core file imports must be used in that file. Prints each unused import
// as file:line name and exits 1 when there is one.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);

// generated files (the layout from contract/schema.mjs, the opcode tables) are checked by their generators
const GENERATED = /(^|\/)(layout|probe)\.ts$|\.generated\.ts$/;
let unused = 0;
for (const file of files('assembly')) {
  if (GENERATED.test(file)) continue;
  const text = readFileSync(file, 'utf8');
  const importRe = /^import\s*\{([^}]*)\}\s*from\s*["'][^"']+["'];?/gm;
  const body = text.replace(importRe, (m) => ' '.repeat(m.length)).replace(/\/\/.*$/gm, '');
  for (const m of text.matchAll(importRe)) {
    const line = text.slice(0, m.index).split('\n').length;
    for (const spec of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      const local = spec.split(/\s+as\s+/).pop();
      if (!new RegExp(`\\b${local.replace('$', '\\$')}\\b`).test(body)) {
        console.log(`${file}:${line} ${local}`);
        unused++;
      }
    }
  }
}
if (unused) { console.log(`check-core-imports: ${unused} unused import${unused > 1 ? 's' : ''} in assembly/`); process.exit(1); }
console.log('check-core-imports: no unused import in assembly/');
