// An earlier Trapeze, for comparing with what it was: the whole tree of a git
// revision (its host and its core, since the contract between them changes),
// built once into .cache/ with this checkout's node_modules, and run through
// its own CLI like any other engine.
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TrapezeError } from '../../errors.js';

/** The path of REV's `bin/trapeze.js` under `root`/.cache, building that tree first when missing. */
export function baselineCli(root: string, rev: string, log: (line: string) => void): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const parsed = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  if (parsed.status !== 0) throw new TrapezeError(`--baseline ${rev}: not a commit of this repository`);
  const sha = parsed.stdout.trim().slice(0, 12);
  const dir = join(root, '.cache', `trapeze-${sha}`);
  const cli = join(dir, 'bin', 'trapeze.js');
  const done = join(dir, '.built');
  if (existsSync(done)) return cli;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`building Trapeze at ${rev} (${sha}) into ${dir}`);
  const archive = spawnSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) throw new TrapezeError(`--baseline ${rev}: cannot extract its tree (${archive.stderr.trim()})`);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: dir, encoding: 'utf8' });
  if (built.status !== 0 || !existsSync(join(dir, 'dist', 'cli.js'))) {
    throw new TrapezeError(`--baseline ${rev}: it did not build:\n${(built.stderr || built.stdout).trim().slice(-2000)}`);
  }
  mkdirSync(done);
  return cli;
}
