// Output files named on the command line: checked before the work that fills
// them (a long benchmark or run must not end in "cannot write"), written whole.
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TrapezeError, OutputClosed } from '../errors.js';

/** Refuse an output path that cannot be written: a missing or unwritable folder, or a folder itself. */
export function checkOutputPath(path: string, option: string): void {
  const dir = dirname(resolve(path));
  let isDir = false;
  try { isDir = statSync(path).isDirectory(); } catch { /* not there yet: fine */ }
  if (isDir) throw new TrapezeError(`${option} ${path}: is a directory`);
  try {
    if (!statSync(dir).isDirectory()) throw new Error();
    accessSync(dir, constants.W_OK);
  } catch {
    throw new TrapezeError(`${option} ${path}: cannot write there (${dir} is not a writable folder)`);
  }
}

export function writeOutput(path: string, text: string, option: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new TrapezeError(`${option} ${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Write to stdout; throws OutputClosed at once when the reader has gone, so a long run stops there. */
export function writeStdout(data: string | Uint8Array): void {
  const out = process.stdout;
  if (out.errored || out.destroyed) throw new OutputClosed();
  out.write(data);
  if (out.errored) throw new OutputClosed();
}
