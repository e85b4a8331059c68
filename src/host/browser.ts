// The browser host (the playground page): files are the ones the page holds
// in memory (shipped guests it fetched, files the user picked), disks are
// in-memory copies of those, and the core's bytes were fetched before start.
import { installHost, type CoreBuild, type HostFiles, type HostPlatform } from './platform.js';
import { MemoryDisk } from '../storage/memory-disk.js';
import { TrapezeError } from '../errors.js';

/** The page's files by name. */
export class PageFiles implements HostFiles {
  private readonly files = new Map<string, Uint8Array>();

  add(name: string, bytes: Uint8Array): void { this.files.set(name, bytes); }
  has(name: string): boolean { return this.files.has(name); }

  read(path: string): Uint8Array {
    const f = this.files.get(path);
    if (!f) throw new TrapezeError(`${path}: no such file (load it on the page first)`);
    return f;
  }
  isFile(path: string): boolean { return this.files.has(path); }
  canonical(path: string): string { return path; }
  writeWhole(path: string, bytes: Uint8Array, overwrite: boolean): void {
    if (!overwrite && this.files.has(path)) throw new TrapezeError(`${path}: exists; not overwriting it`);
    this.files.set(path, bytes.slice());
  }
  remove(path: string): void { this.files.delete(path); }
  resolve(path: string, base?: string): string { return base && !path.startsWith('/') ? `${base}/${path}` : path; }
  dirname(path: string): string { const i = path.lastIndexOf('/'); return i <= 0 ? '' : path.slice(0, i); }
}

const SLEEPER = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

export function browserHost(wasm: Partial<Record<CoreBuild, Uint8Array>>, files = new PageFiles()): HostPlatform & { files: PageFiles } {
  return {
    name: 'browser',
    nowNs: () => Math.round(performance.now() * 1e6),
    sleepMs(ms) {
      if (ms <= 0) return;
      // a worker may block; the page's own thread may not, so it waits actively
      try { if (SLEEPER) { Atomics.wait(SLEEPER, 0, 0, ms); return; } } catch { /* the main thread */ }
      const end = performance.now() + ms;
      while (performance.now() < end) { /* wait */ }
    },
    coreWasm(build) {
      const bytes = wasm[build];
      if (!bytes) throw new TrapezeError(`the page did not load build/${build}.wasm`);
      return bytes;
    },
    tuneCore: (make) => make(),
    setting: (name) => new URLSearchParams(globalThis.location?.search ?? '').get(name) ?? undefined,
    files,
    openDiskImages(paths, snapshot) {
      if (paths.length > 2) throw new TrapezeError(`at most two disks fit on the primary IDE channel (got ${paths.length})`);
      // every page disk is a copy in memory: with or without `snapshot`, the picked file stays as it was
      void snapshot;
      return paths.map((p) => new MemoryDisk(p, files.read(p)));
    },
    openDisk(config) {
      throw new TrapezeError(`${config.file}: hypervisor disks (overlays, quotas) need the Node host (trapeze run --config)`);
    },
    gzip() { throw new TrapezeError('snapshot files need the Node host (trapeze ctl <vm> snapshot)'); },
    gunzip() { throw new TrapezeError('snapshot files need the Node host (trapeze run --restore)'); },
  };
}

/** Install the browser host with the core's bytes; returns it (its `files` take the page's files). */
export function installBrowserHost(wasm: Partial<Record<CoreBuild, Uint8Array>>): HostPlatform & { files: PageFiles } {
  const h = browserHost(wasm);
  installHost(h);
  return h;
}
