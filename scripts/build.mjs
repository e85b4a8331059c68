#!/usr/bin/env node
// The incremental build: `npm run build` (`-- --force` rebuilds all).
// Each step names its inputs and outputs and runs only when an input is newer
// than the step's last success (a stamp in build/.stamps/) or an output is
// missing; it says which it did. A failed step leaves no stamp, so it runs
// again next time. To add a step, add one line to STEPS (they run in order).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (tool) => join(root, 'node_modules', '.bin', tool);
const asc = bin('asc');

/** name, inputs (files or folders, searched whole), outputs, command. */
// The contract files the first step writes (gitignored: edit contract/schema.mjs).
const CONTRACT = ['assembly/layout.ts', 'assembly/probe.ts', 'src/core/layout.ts'];
export const STEPS = [
  { name: 'contract', inputs: ['contract', 'scripts/gen-contract.mjs'], outputs: CONTRACT, cmd: [process.execPath, 'scripts/gen-contract.mjs'] },
  { name: 'opcodes', inputs: ['assembly/cpu/opcodes.mjs', 'scripts/gen-opcodes.mjs'], outputs: ['assembly/cpu/opcodes.generated.ts', 'assembly/cpu/dispatch.generated.ts'], cmd: [process.execPath, 'scripts/gen-opcodes.mjs'] },
  { name: 'core', inputs: ['assembly', 'asconfig.json', 'node_modules/assemblyscript/package.json'], outputs: ['build/core.wasm', 'build/core.wat'], cmd: [asc, 'assembly/index.ts', '--target', 'release'] },
  { name: 'core-trace', inputs: ['assembly', 'asconfig.json', 'node_modules/assemblyscript/package.json'], outputs: ['build/core-trace.wasm'], cmd: [asc, 'assembly/index.ts', '--target', 'release', '--use', 'TRACE=1', '-o', 'build/core-trace.wasm', '-t', 'build/core-trace.wat'] },
  { name: 'core-test', inputs: ['assembly', 'asconfig.json', 'node_modules/assemblyscript/package.json'], outputs: ['build/core-test.wasm'], cmd: [asc, 'assembly/index-test.ts', '--target', 'release', '--use', 'SELF_CHECKS=1', '-o', 'build/core-test.wasm', '-t', 'build/core-test.wat'] },
  { name: 'host', inputs: ['src', 'tsconfig.json', 'node_modules/typescript/package.json'], outputs: ['dist/cli.js'], cmd: [bin('tsc'), '-p', 'tsconfig.json'] },
  { name: 'cli', inputs: ['dist/cli.js', 'scripts/build-cli.mjs', 'bin/trapeze.js', 'node_modules/commander/package.json', 'node_modules/esbuild/package.json'], outputs: ['build/cli/cli.cjs'], cmd: [process.execPath, 'scripts/build-cli.mjs'] },
  // the probe: the compiled core and the host agree on every field of the contract
  { name: 'layout-check', inputs: ['build/core-test.wasm', 'dist/core/layout.js', 'scripts/check-layout.mjs'], outputs: [], cmd: [process.execPath, 'scripts/check-layout.mjs'] },
  { name: 'web', inputs: ['src', 'web', 'build/core.wasm', 'guest-images', 'docs/tour.md', 'docs/mmu.md', 'scripts/build-web.mjs', 'node_modules/esbuild/package.json'], outputs: ['dist/web/index.html', 'dist/web/worker.js'], cmd: [process.execPath, 'scripts/build-web.mjs'] },
];

const commandLine = (step) => step.cmd.map((a) => (a === process.execPath ? 'node' : a.replace(root + '/', ''))).join(' ');
const stampOf = (dir, step) => join(dir, 'build', '.stamps', step.name);

/** The newest modification time under these paths (0 when none exists). */
function newest(dir, paths) {
  let t = 0;
  const visit = (p) => {
    let st;
    try { st = statSync(p); } catch { return; }
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
    else t = Math.max(t, st.mtimeMs);
  };
  for (const p of paths) visit(join(dir, p));
  return t;
}

/** Mark a step built as of `time` (its start). */
export function stamp(step, time, dir = root) {
  const path = stampOf(dir, step);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, commandLine(step) + '\n');
  utimesSync(path, time, time);
}

/** Why a step must run, or undefined when it is up to date. */
export function staleReason(step, dir = root) {
  const stamp = stampOf(dir, step);
  if (!existsSync(stamp)) return 'not built yet';
  if (readFileSync(stamp, 'utf8') !== commandLine(step) + '\n') return 'its command changed';
  const missing = step.outputs.find((o) => !existsSync(join(dir, o)));
  if (missing) return `${missing} is missing`;
  if (newest(dir, step.inputs) > statSync(stamp).mtimeMs) return 'inputs changed';
  return undefined;
}

function main(argv) {
  const force = argv.includes('--force');
  const started = Date.now();
  mkdirSync(join(root, 'build', '.stamps'), { recursive: true });
  let ran = 0;
  for (const step of STEPS) {
    const why = force ? 'forced' : staleReason(step);
    if (!why) { console.log(`build: ${step.name} up to date (${step.outputs.join(', ')})`); continue; }
    rmSync(stampOf(root, step), { force: true });
    console.log(`build: ${step.name} (${why}): ${commandLine(step)}`);
    const t0 = Date.now();
    const r = spawnSync(step.cmd[0], step.cmd.slice(1), { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`build: ${step.name} FAILED${r.error ? ` (${r.error.message})` : ` (status ${r.status})`}`);
      process.exit(1);
    }
    // the stamp's time is the step's start: an input edited while it ran is seen next time
    stamp(step, new Date(t0));
    console.log(`build: ${step.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    ran++;
  }
  if (ran) console.log(`build: ${ran} of ${STEPS.length} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
