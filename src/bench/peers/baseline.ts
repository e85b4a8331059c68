// An earlier build of Trapeze's core, for comparing the interpreter with what
// it was: the core of a git revision, built once into .cache/ with this
// checkout's AssemblyScript compiler and that revision's own asconfig.json.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TrapezeError } from '../../errors.js';

/** The path of REV's core.wasm under `root`/.cache, building it first when missing. */
export function baselineCore(root: string, rev: string, log: (line: string) => void): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const parsed = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  if (parsed.status !== 0) throw new TrapezeError(`--baseline ${rev}: not a commit of this repository`);
  const sha = parsed.stdout.trim().slice(0, 12);
  const wasm = join(root, '.cache', `core-${sha}.wasm`);
  if (existsSync(wasm)) return wasm;
  const src = join(root, '.cache', `core-src-${sha}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  log(`building the core of ${rev} (${sha}) into ${wasm}`);
  const archive = spawnSync('sh', ['-c', `git archive ${sha} assembly asconfig.json | tar -x -C "${src}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) throw new TrapezeError(`--baseline ${rev}: cannot extract its core sources (${archive.stderr.trim()})`);
  const asc = join(root, 'node_modules', '.bin', 'asc');
  const built = spawnSync(asc, ['assembly/index.ts', '--target', 'release', '-o', wasm, '-t', join(src, 'core.wat')], { cwd: src, encoding: 'utf8' });
  if (built.status !== 0 || !existsSync(wasm)) throw new TrapezeError(`--baseline ${rev}: its core did not build:\n${built.stderr.trim()}`);
  rmSync(src, { recursive: true, force: true });
  return wasm;
}
