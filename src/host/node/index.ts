// The Node host: files through node:fs, disk images as raw files and
// copy-on-write overlays, the core read from build/, zlib for snapshots.
// Importing this module installs it (the CLI, benchmarks and tests do).
import { readFileSync, statSync, realpathSync, writeFileSync, renameSync, linkSync, rmSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';
import { setFlagsFromString } from 'node:v8';
import { installHost, type CoreBuild, type HostFiles, type HostPlatform } from '../platform.js';
import { TrapezeError } from '../../errors.js';
import { openDiskImages } from './disks.js';
import { openDisk } from './open-disk.js';
import { moduleCompiler } from './module-compiler.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

const files: HostFiles = {
  read(path, kind = 'a kernel image') {
    try {
      return readFileSync(path);
    } catch (e) {
      if (code(e) === 'ENOENT') throw new TrapezeError(`${path}: no such file`);
      if (code(e) === 'EISDIR') throw new TrapezeError(`${path}: is a directory, not ${kind}`);
      throw new TrapezeError(`${path}: cannot read (${code(e) ?? String(e)})`);
    }
  },
  isFile(path) {
    try { return statSync(path).isFile(); } catch { return false; }
  },
  canonical(path) {
    try { return realpathSync(path); } catch { return path; }
  },
  writeWhole(path, bytes, overwrite) {
    // into a temporary file beside it, then renamed over `path` (overwrite) or
    // linked to it, which fails when it exists: nothing is replaced by accident
    if (!overwrite && existsSync(path)) throw new TrapezeError(`${path}: exists; not overwriting it (ask for overwrite, e.g. trapeze ctl ... --force)`);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, bytes);
      if (overwrite) renameSync(tmp, path);
      else linkSync(tmp, path);
    } catch (e) {
      throw new TrapezeError(`${path}: cannot write (${code(e) === 'EEXIST' ? 'it exists' : code(e) ?? String(e)})`);
    } finally {
      rmSync(tmp, { force: true });
    }
  },
  remove(path) { rmSync(path, { force: true }); },
  resolve(path, base) { return base === undefined ? resolve(path) : resolve(base, path); },
  dirname(path) { return dirname(path); },
};

function wasmPath(build: CoreBuild): string {
  return fileURLToPath(new URL(`../../../build/${build}.wasm`, import.meta.url));
}

// V8 moves a wasm function up to its optimizing tier once it has run about
// this many bytes of its code. The core's run loop is one large function
// whose optimization takes 50-150 ms on a background thread; with V8's
// default budget (1.8 MB) it starts within the first few hundred blocks, so a
// short run (hello: 1,450 instructions) then waits for it at exit. With this
// budget it starts after some ten thousand blocks: still within the first
// milliseconds of a long run (the compute and pagestress guests use the same
// CPU time), while hello's process ends 30-50 ms sooner. V8 takes the budget
// when a module is compiled and instantiated, so it is set around the core's
// alone; the JIT's region modules, compiled after it, get theirs.
const CORE_TIERING_BUDGET = 400_000_000;
// A region starts in V8's baseline tier too. Most of Linux's boot's 2015
// regions run only for a while: with V8's default budget (1.8 MB) the worker
// threads spent 3.4-3.9 s optimizing them, on a 2-core machine beside the
// main thread's 5.4-6 s; with this one 2.0 s, and the boot to its shell ran
// 5.53-5.79 s against 6.06-6.61 s (alternating runs). The compute guest's
// loops still reach the optimizing tier within its first milliseconds.
const REGION_TIERING_BUDGET = 40_000_000;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
const ORIGIN = process.hrtime.bigint();

export const nodeHost: HostPlatform = {
  name: 'node',
  nowNs: () => Number(process.hrtime.bigint() - ORIGIN),
  sleepMs(ms) { if (ms > 0) Atomics.wait(SLEEPER, 0, 0, ms); },
  coreWasm(build) {
    try {
      return readFileSync(wasmPath(build));
    } catch {
      throw new TrapezeError(`core not built: ${wasmPath(build)} is missing (run \`npm run build\`)`);
    }
  },
  tuneCore(make) {
    // the JIT's region modules mark their slow paths unlikely (assembly/jit/region.ts);
    // V8 reads that section only with this flag, and ignores it without
    setFlagsFromString('--experimental-wasm-branch-hinting');
    setFlagsFromString(`--wasm-tiering-budget=${CORE_TIERING_BUDGET}`);
    try { return make(); } finally { setFlagsFromString(`--wasm-tiering-budget=${REGION_TIERING_BUDGET}`); }
  },
  moduleCompiler,
  setting: (name) => process.env[name],
  files,
  openDiskImages,
  openDisk,
  gzip: (bytes) => gzipSync(bytes, { level: 1 }),
  gunzip: (bytes) => gunzipSync(bytes),
};

installHost(nodeHost);
