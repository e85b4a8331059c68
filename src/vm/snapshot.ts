// Snapshot and restore of a whole machine: guest RAM, every vCPU's state
// block, the exit record and the string-I/O buffer (an exit may be half
// handled), device state, exit counts, and whatever the owner adds (the
// hypervisor adds its config and disk overlay references). Taken between
// exits, it is complete: a restored VM continues exactly where it stopped.
//
// File: gzip of "TRPZSNAP", u32 header length, the JSON header, then RAM,
// the vCPU blocks, the exit record and the I/O buffer.
//
// Format 2: each part of the machine is saved under its own name with its
// version (a platform names its parts: Pc.snapshotParts; a device may declare
// `snapshotVersion` and `migrateState` from an older one); exit counts by
// reason name. Format 1 (the whole platform as one object graph, exit counts
// by number) is read and converted. A part saved at a version this build
// cannot read, or with fields this build does not have, is refused by name.
import { Exit, EXIT_SIZE, IO_BUFFER, IO_BUFFER_SIZE, RAM_BASE, VCPU_STATE_SIZE, EXIT_REASON_NAMES, State, MXCSR_POWER_ON } from '../core/layout.js';
import type { Vm } from './vm.js';
import { TrapezeError } from '../errors.js';
import { host } from '../host/platform.js';

const MAGIC = 'TRPZSNAP';
const FORMAT = 3;
/** Formats this build reads. */
const READS = [1, 2, 3];
// Formats 1 and 2 saved 1 KiB vCPU blocks (before XMM0-7 and MXCSR): restored
// with those zero and MXCSR at its power-on value.
const OLD_VCPU_STATE_SIZE = 0x400;

/** A device may save its own state; otherwise its plain data fields are saved. */
export interface Snapshottable {
  saveState(): unknown;
  loadState(state: unknown): void;
}

/** What a part of the machine may declare about its saved state. */
export interface Versioned {
  /** The version of what it saves (default 1); bump it when its saved fields change. */
  readonly snapshotVersion?: number;
  /** Turn state saved at an older version into the current one (or throw why not). */
  migrateState?(state: unknown, version: number): unknown;
}

/** A platform (a PC) saved part by part: `parts()` names each device and the platform's own object. */
export interface SnapshotPlatform {
  root: object;
  /** Objects shared with other machines or reopened on restore (the VM, disks): never saved. */
  shared: object[];
  /** The parts to save, by name (every device, and the root itself for its own fields). */
  parts(): Record<string, object>;
}

/** One part as saved. */
export interface SavedPart { version: number; state: unknown }

/** Exit reasons by number in format 1 (before Breakpoint, which was never produced, left the list). */
const FORMAT1_EXIT_REASONS = ['none', 'io', 'mmio', 'hlt', 'shutdown', 'budget', 'cpuid', 'msr', 'breakpoint', 'error', 'fpu-error', 'irq-window', 'pause'];

export interface SnapshotHeader {
  format: number;
  name: string;
  ramBytes: number;
  vcpus: number;
  waitingForSipi: boolean[];
  /** Format 2: each part by name; format 1: each device's state, or { platform: the whole graph }. */
  devices: Record<string, SavedPart>;
  /** Exits by reason name. */
  exitCounts: Record<string, number>;
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
export function captureVm(vm: Vm, extra: unknown = null, platform?: SnapshotPlatform): Snapshot {
  const bytes = vm.core.bytes;
  const exitCounts: Record<string, number> = {};
  EXIT_REASON_NAMES.forEach((n, i) => { exitCounts[n] = vm.exitCounts[i]; });
  return {
    header: {
      format: FORMAT,
      name: vm.name,
      ramBytes: vm.ramBytes,
      vcpus: vm.vcpus.length,
      waitingForSipi: vm.vcpus.map((v) => v.waitingForSipi),
      devices: platform ? capturePlatform(vm, platform) : Object.fromEntries(devicesOf(vm).map((d) => [d.name, part(d, saveDevice(d))])),
      exitCounts,
      extra,
    },
    ram: bytes.slice(RAM_BASE, RAM_BASE + vm.ramBytes),
    vcpuBlocks: vm.vcpus.map((v) => { const at = vm.core.exports.stateOffset(v.index); return bytes.slice(at, at + VCPU_STATE_SIZE); }),
    exitRecord: bytes.slice(Exit.reason, Exit.reason + EXIT_SIZE),
    ioBuffer: bytes.slice(IO_BUFFER, IO_BUFFER + IO_BUFFER_SIZE),
  };
}

/** Load a snapshot into a freshly made VM of the same shape (RAM size, vCPUs, devices, platform). */
export function restoreVm(vm: Vm, snap: Snapshot, platform?: SnapshotPlatform): void {
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
  EXIT_REASON_NAMES.forEach((n, i) => { vm.exitCounts[i] = h.exitCounts[n] ?? 0; });
  if (platform) {
    restorePlatform(vm, h, platform);
    return;
  }
  const devices = new Map(devicesOf(vm).map((d) => [d.name, d]));
  for (const [name, saved] of Object.entries(h.devices)) {
    const d = devices.get(name);
    if (!d) throw new TrapezeError(`snapshot of ${h.name} has state for a device "${name}" this VM does not have`);
    loadDevice(d, stateAt(h.name, name, d, saved));
  }
}

function versionOf(obj: object): number { return (obj as Versioned).snapshotVersion ?? 1; }
function part(obj: object, state: unknown): SavedPart { return { version: versionOf(obj), state }; }

/** Every part the platform names, each walked on its own (the others and the shared objects left out). */
function capturePlatform(vm: Vm, platform: SnapshotPlatform): Record<string, SavedPart> {
  const parts = Object.entries(platform.parts());
  const out: Record<string, SavedPart> = {};
  for (const [name, obj] of parts) {
    const others = parts.filter(([, o]) => o !== obj).map(([, o]) => o);
    out[name] = part(obj, captureState(obj, new Set<object>([vm, ...platform.shared, ...others])));
  }
  return out;
}

/** The key a format-1 platform graph is kept under until the machine's parts split it. */
const FORMAT1_PLATFORM = '(format 1 platform)';

function restorePlatform(vm: Vm, h: SnapshotHeader, platform: SnapshotPlatform): void {
  const parts = Object.entries(platform.parts());
  let saved = h.devices;
  if (FORMAT1_PLATFORM in saved) {
    // format 1 saved the platform as one graph: a part is the root's field of its name, the root's own fields the rest
    const graph = saved[FORMAT1_PLATFORM].state as Record<string, unknown>;
    saved = {};
    for (const [name, obj] of parts) {
      const state = obj === platform.root ? graph : graph[name];
      if (state !== undefined) saved[name] = { version: 1, state };
    }
  } else if ('platform' in saved) {
    throw new TrapezeError(`snapshot of ${h.name} holds a whole platform graph outside format 1`);
  }
  for (const name of Object.keys(saved)) {
    if (!parts.some(([n]) => n === name)) throw new TrapezeError(`snapshot of ${h.name} has state for a part "${name}" this machine does not have`);
  }
  for (const [name, obj] of parts) {
    if (!(name in saved)) continue; // a part added since the snapshot was taken keeps its power-on state
    const others = parts.filter(([, o]) => o !== obj).map(([, o]) => o);
    const state = stateAt(h.name, name, obj, saved[name]);
    const unknown = Object.keys(state as object).filter((k) => !(k in obj));
    if (unknown.length) throw new TrapezeError(`snapshot of ${h.name}: "${name}" (version ${saved[name].version}) has fields this build does not: ${unknown.join(', ')}`);
    restoreState(obj, state, new Set<object>([vm, ...platform.shared, ...others]));
  }
}

/** The state of part `name` at the version `obj` has now, migrated when saved at an older one. */
function stateAt(snapshot: string, name: string, obj: object, saved: SavedPart): unknown {
  const now = versionOf(obj);
  if (saved.version === now) return saved.state;
  const migrate = (obj as Versioned).migrateState;
  if (saved.version > now || !migrate) {
    throw new TrapezeError(`snapshot of ${snapshot}: "${name}" was saved at version ${saved.version}; this build reads version ${now}${saved.version < now ? ' and cannot convert older ones' : ''}`);
  }
  return migrate.call(obj, saved.state, saved.version);
}

/** A format-1 header in format 2's shape: the platform graph split into parts, exit counts by name. */
function fromFormat1(h: SnapshotHeader): SnapshotHeader {
  const counts = h.exitCounts as unknown as number[];
  const exitCounts: Record<string, number> = {};
  counts.forEach((n, i) => { if (FORMAT1_EXIT_REASONS[i] !== undefined) exitCounts[FORMAT1_EXIT_REASONS[i]] = n; });
  const old = h.devices as Record<string, unknown>;
  const devices: Record<string, SavedPart> = 'platform' in old
    ? { [FORMAT1_PLATFORM]: { version: 1, state: old.platform } } // split by the machine's parts on restore
    : Object.fromEntries(Object.entries(old).map(([k, v]) => [k, { version: 1, state: v }]));
  return { ...h, format: 2, devices, exitCounts };
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
  let header = JSON.parse(text(12, 12 + len)) as SnapshotHeader;
  if (!READS.includes(header.format)) throw new TrapezeError(`${path}: snapshot format ${header.format} is not supported (this build reads formats ${READS.slice(0, -1).join(', ')} and ${READS[READS.length - 1]})`);
  if (header.format === 1) header = fromFormat1(header);
  let at = 12 + len;
  const take = (n: number) => { const b = new Uint8Array(body.buffer, body.byteOffset + at, n); at += n; return b; };
  const ram = take(header.ramBytes);
  const vcpuBlocks = Array.from({ length: header.vcpus }, () => header.format >= 3 ? take(VCPU_STATE_SIZE) : widenBlock(take(OLD_VCPU_STATE_SIZE)));
  const exitRecord = take(EXIT_SIZE);
  const ioBuffer = take(IO_BUFFER_SIZE);
  if (at !== body.length) throw new TrapezeError(`${path}: snapshot is ${body.length - at > 0 ? 'longer' : 'shorter'} than its header says`);
  return { header, ram, vcpuBlocks, exitRecord, ioBuffer };
}

function widenBlock(old: Uint8Array): Uint8Array {
  const block = new Uint8Array(VCPU_STATE_SIZE);
  block.set(old);
  new DataView(block.buffer).setUint32(State.mxcsr, MXCSR_POWER_ON, true);
  return block;
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
    if (cur !== null && typeof cur === 'object' && shared.has(cur)) continue; // another part, or an object the machine shares
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
