// Snapshot and restore of a whole machine: guest RAM, every vCPU's state
// block, the exit record and the string-I/O buffer (an exit may be half
// handled), device state, exit counts, and whatever the owner adds (the
// hypervisor adds its config and disk overlay references). Taken between
// exits, it is complete: a restored VM continues exactly where it stopped.
//
// File: gzip of "TRPZSNAP", u32 header length, the JSON header, then RAM,
// the vCPU blocks, the exit record and the I/O buffer.
import { Exit, EXIT_SIZE, IO_BUFFER, IO_BUFFER_SIZE, RAM_BASE, VCPU_STATE_SIZE, EXIT_REASON_NAMES } from '../core/layout.js';
import type { Vm } from './vm.js';
import { TrapezeError } from '../errors.js';
import { host } from '../host/platform.js';

const MAGIC = 'TRPZSNAP';
const FORMAT = 1;

/** A device may save its own state; otherwise its plain data fields are saved. */
export interface Snapshottable {
  saveState(): unknown;
  loadState(state: unknown): void;
}

export interface SnapshotHeader {
  format: number;
  name: string;
  ramBytes: number;
  vcpus: number;
  waitingForSipi: boolean[];
  devices: Record<string, unknown>;
  exitCounts: number[];
  /** The owner's data (the hypervisor: VM config, disks, scheduler figures). */
  extra: unknown;
}

export interface Snapshot {
  header: SnapshotHeader;
  ram: Uint8Array;
  vcpuBlocks: Uint8Array[];
  exitRecord: Uint8Array;
  ioBuffer: Uint8Array;
}

/**
 * Capture the machine. Call it between exits (the VM paused or stopped).
 * `platform` (a PC) is saved whole, timers and all: every data field reachable
 * from it except through `shared` objects (its VM, its disks).
 */
export function captureVm(vm: Vm, extra: unknown = null, platform?: { root: object; shared: object[] }): Snapshot {
  const bytes = vm.core.bytes;
  return {
    header: {
      format: FORMAT,
      name: vm.name,
      ramBytes: vm.ramBytes,
      vcpus: vm.vcpus.length,
      waitingForSipi: vm.vcpus.map((v) => v.waitingForSipi),
      devices: platform
        ? { platform: captureState(platform.root, new Set([vm, ...platform.shared])) }
        : Object.fromEntries(devicesOf(vm).map((d) => [d.name, saveDevice(d)])),
      exitCounts: Array.from(vm.exitCounts),
      extra,
    },
    ram: bytes.slice(RAM_BASE, RAM_BASE + vm.ramBytes),
    vcpuBlocks: vm.vcpus.map((v) => { const at = vm.core.exports.stateOffset(v.index); return bytes.slice(at, at + VCPU_STATE_SIZE); }),
    exitRecord: bytes.slice(Exit.reason, Exit.reason + EXIT_SIZE),
    ioBuffer: bytes.slice(IO_BUFFER, IO_BUFFER + IO_BUFFER_SIZE),
  };
}

/** Load a snapshot into a freshly made VM of the same shape (RAM size, vCPUs, devices, platform). */
export function restoreVm(vm: Vm, snap: Snapshot, platform?: { root: object; shared: object[] }): void {
  const h = snap.header;
  if (vm.ramBytes !== h.ramBytes || vm.vcpus.length !== h.vcpus) {
    throw new TrapezeError(`snapshot of ${h.name} needs ${h.ramBytes} bytes of RAM and ${h.vcpus} vCPUs (this VM has ${vm.ramBytes} and ${vm.vcpus.length})`);
  }
  const { bytes, exports } = vm.core;
  bytes.set(snap.ram, RAM_BASE);
  exports.invalidatePhys(0, vm.ramBytes);
  snap.vcpuBlocks.forEach((block, i) => bytes.set(block, exports.stateOffset(i)));
  // the core recomputes what it derives from each block (segment checks, TLB mode)
  for (let i = 0; i < h.vcpus; i++) exports.stateChanged(i);
  bytes.set(snap.exitRecord, Exit.reason);
  bytes.set(snap.ioBuffer, IO_BUFFER);
  vm.vcpus.forEach((v, i) => { v.waitingForSipi = h.waitingForSipi[i]; });
  vm.exitCounts.set(h.exitCounts.slice(0, EXIT_REASON_NAMES.length));
  if (platform) {
    if (!('platform' in h.devices)) throw new TrapezeError(`snapshot of ${h.name} has no platform state`);
    restoreState(platform.root, h.devices.platform, new Set([vm, ...platform.shared]));
    return;
  }
  const devices = new Map(devicesOf(vm).map((d) => [d.name, d]));
  for (const [name, state] of Object.entries(h.devices)) {
    const d = devices.get(name);
    if (!d) throw new TrapezeError(`snapshot of ${h.name} has state for a device "${name}" this VM does not have`);
    loadDevice(d, state);
  }
}

/**
 * Write a snapshot file whole or not at all: into a temporary file beside it,
 * then renamed over `path` (with `overwrite`) or linked to it (which fails
 * when it exists, so nothing is replaced by accident).
 */
export function writeSnapshot(path: string, snap: Snapshot, options: { overwrite?: boolean } = {}): void {
  const json = new TextEncoder().encode(JSON.stringify(snap.header));
  const parts = [new TextEncoder().encode(MAGIC), new Uint8Array(4), json, snap.ram, ...snap.vcpuBlocks, snap.exitRecord, snap.ioBuffer];
  new DataView(parts[1].buffer).setUint32(0, json.length, true);
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { body.set(p, at); at += p.length; }
  host().files.writeWhole(path, host().gzip(body), options.overwrite ?? false);
}

export function readSnapshot(path: string): Snapshot {
  let body: Uint8Array;
  try {
    body = host().gunzip(host().files.read(path, 'a snapshot'));
  } catch (e) {
    const why = e instanceof TrapezeError ? e.message.replace(`${path}: `, '') : (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new TrapezeError(`${path}: not a readable snapshot (${why})`);
  }
  const text = (from: number, to: number) => new TextDecoder().decode(body.subarray(from, to));
  if (body.length < 12 || text(0, 8) !== MAGIC) throw new TrapezeError(`${path}: not a Trapeze snapshot`);
  const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(8, true);
  const header = JSON.parse(text(12, 12 + len)) as SnapshotHeader;
  if (header.format !== FORMAT) throw new TrapezeError(`${path}: snapshot format ${header.format} is not supported (this build reads ${FORMAT})`);
  let at = 12 + len;
  const take = (n: number) => { const b = new Uint8Array(body.buffer, body.byteOffset + at, n); at += n; return b; };
  const ram = take(header.ramBytes);
  const vcpuBlocks = Array.from({ length: header.vcpus }, () => take(VCPU_STATE_SIZE));
  const exitRecord = take(EXIT_SIZE);
  const ioBuffer = take(IO_BUFFER_SIZE);
  if (at !== body.length) throw new TrapezeError(`${path}: snapshot is ${body.length - at > 0 ? 'longer' : 'shorter'} than its header says`);
  return { header, ram, vcpuBlocks, exitRecord, ioBuffer };
}

function devicesOf(vm: Vm): { name: string }[] {
  return [...vm.ports.devices(), ...vm.mmio.devices()];
}

// ---- generic state: every data field of an object graph ----
// Numbers, strings, booleans, arrays, typed arrays (base64) and nested objects
// are saved; functions, bigints and the `shared` objects are not. Restoring
// writes the values back into the same graph of a freshly made machine, so
// objects keep their identity (timers stay registered with their clock).
type Saved = null | number | string | boolean | Saved[] | { [k: string]: Saved } | { $bytes: string };

function captureState(obj: object, shared: Set<object>, seen = new Set<object>()): Saved {
  seen.add(obj);
  const out: { [k: string]: Saved } = {};
  for (const [k, v] of Object.entries(obj)) {
    const s = captureValue(v, shared, seen);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

function captureValue(v: unknown, shared: Set<object>, seen: Set<object>): Saved | undefined {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v !== 'object' || shared.has(v) || seen.has(v)) return undefined;
  if (ArrayBuffer.isView(v)) return { $bytes: toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  if (Array.isArray(v)) return v.map((x) => captureValue(x, shared, seen) ?? null);
  if (v instanceof Map || v instanceof Set || v instanceof WebAssembly.Memory || v instanceof WebAssembly.Instance) return undefined;
  return captureState(v, shared, seen);
}

function restoreState(obj: object, saved: unknown, shared: Set<object>): void {
  const target = obj as Record<string, unknown>;
  for (const [k, s] of Object.entries(saved as Record<string, Saved>)) {
    const cur = target[k];
    if (cur !== null && typeof cur === 'object' && !shared.has(cur) && s !== null && typeof s === 'object') {
      restoreInto(cur, s);
      continue;
    }
    if (typeof cur === 'function') continue;
    target[k] = s;
  }
  function restoreInto(cur: object, s: Saved & object): void {
    if (ArrayBuffer.isView(cur) && '$bytes' in s) {
      new Uint8Array(cur.buffer, cur.byteOffset, cur.byteLength).set(fromBase64((s as { $bytes: string }).$bytes));
    } else if (Array.isArray(cur) && Array.isArray(s)) {
      cur.length = s.length; // a queue may have grown or shrunk
      s.forEach((x, i) => {
        if (x !== null && typeof x === 'object' && cur[i] !== null && typeof cur[i] === 'object') restoreState(cur[i] as object, x, shared);
        else cur[i] = x;
      });
    } else {
      restoreState(cur, s, shared);
    }
  }
}

function saveDevice(d: object): unknown {
  if (isSnapshottable(d)) return d.saveState();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) if (isPlain(v)) out[k] = structuredClone(v);
  return out;
}

function loadDevice(d: object, state: unknown): void {
  if (isSnapshottable(d)) { d.loadState(state); return; }
  Object.assign(d, state);
}

function isSnapshottable(d: object): d is Snapshottable {
  return typeof (d as Partial<Snapshottable>).saveState === 'function' && typeof (d as Partial<Snapshottable>).loadState === 'function';
}

/** Data that survives JSON unchanged: numbers, strings, booleans, and arrays/objects of them. */
function isPlain(v: unknown): boolean {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.every(isPlain);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(isPlain);
  return false;
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
