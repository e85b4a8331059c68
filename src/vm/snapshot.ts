// Snapshot and restore of a whole machine: guest RAM, every vCPU's state
// block, the exit record and the string-I/O buffer (an exit may be half
// handled), the state each part of the platform declares, exit counts, and
// whatever the owner adds (the hypervisor adds its config and disk overlay
// references). Taken between exits, it is complete: a restored VM continues
// exactly where it stopped.
//
// File: gzip of "TRPZSNAP", u32 header length, the JSON header, then RAM,
// the vCPU blocks, the exit record and the I/O buffer.
//
// Format 4: each part (a device, the clock, the PC's own fields) is saved
// under its name with its version, as the fields it declares
// (snapshot-part.ts); a part saved at a version this build cannot read, or
// whose fields differ from the ones it declares, is refused by name. Formats
// 1-3 gathered each part by walking the object's fields: they are read by
// taking, for every declared field, the value saved under that name (a field
// a part did not have then keeps its power-on value; what a part no longer
// saves is left out). Format 1 saved the platform as one object graph and
// counted exits by number; formats 1 and 2 had 1 KiB vCPU blocks.
import { Exit, EXIT_SIZE, IO_BUFFER, IO_BUFFER_SIZE, RAM_BASE, VCPU_STATE_SIZE, EXIT_REASON_NAMES, State, MXCSR_POWER_ON } from '../core/layout.js';
import type { Vm } from './vm.js';
import { TrapezeError } from '../errors.js';
import { host } from '../host/platform.js';
import type { SnapshotPart } from './snapshot-part.js';

const MAGIC = 'TRPZSNAP';
const FORMAT = 4;
/** Formats this build reads. */
const READS = [1, 2, 3, 4];
// Formats 1 and 2 saved 1 KiB vCPU blocks (before XMM0-7 and MXCSR): restored
// with those zero and MXCSR at its power-on value.
const OLD_VCPU_STATE_SIZE = 0x400;

/** The parts of a platform (a PC) by name: Pc.snapshotParts(). */
export type SnapshotParts = Record<string, SnapshotPart>;

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
  /** Each part by name (format 1: { platform: the whole graph }, kept until the machine's parts split it). */
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

/** Capture the machine and its platform's parts. Call it between exits (the VM paused or stopped). */
export function captureVm(vm: Vm, parts: SnapshotParts, extra: unknown = null): Snapshot {
  const bytes = vm.core.bytes;
  const exitCounts: Record<string, number> = {};
  EXIT_REASON_NAMES.forEach((n, i) => { exitCounts[n] = vm.exitCounts[i]; });
  const devices: Record<string, SavedPart> = {};
  for (const [name, p] of Object.entries(withVm(vm, parts))) devices[name] = { version: p.snapshotVersion, state: p.saveState() };
  return {
    header: {
      format: FORMAT,
      name: vm.name,
      ramBytes: vm.ramBytes,
      vcpus: vm.vcpus.length,
      waitingForSipi: vm.vcpus.map((v) => v.waitingForSipi),
      devices,
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
export function restoreVm(vm: Vm, snap: Snapshot, parts: SnapshotParts): void {
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
  restoreParts(h, withVm(vm, parts));
}

/** The key a format-1 platform graph is kept under until the machine's parts split it. */
const FORMAT1_PLATFORM = '(format 1 platform)';

/** The VM's own part (its vCPUs' turns and parked exits) beside the platform's. */
function withVm(vm: Vm, parts: SnapshotParts): SnapshotParts {
  if ('vm' in parts) throw new TrapezeError('a platform part may not be named "vm": the VM saves its own state under that name');
  return { vm, ...parts };
}

/** Format 1 kept the PC's own fields at the top of its graph, and each device under the PC's field of its name. */
const FORMAT1_ROOT = 'pc';
/** Parts formats 1-3 saved that hold nothing a run changes (rebuilt with the machine). */
const RETIRED_PARTS = ['bios'];

function restoreParts(h: SnapshotHeader, parts: SnapshotParts): void {
  let saved = h.devices;
  if (FORMAT1_PLATFORM in saved) {
    const graph = saved[FORMAT1_PLATFORM].state as Record<string, unknown>;
    saved = {};
    for (const name of Object.keys(parts)) {
      const state = name === FORMAT1_ROOT ? graph : graph[name];
      if (state !== undefined) saved[name] = { version: 1, state };
    }
  } else if ('platform' in saved) {
    throw new TrapezeError(`snapshot of ${h.name} holds a whole platform graph outside format 1`);
  }
  const walked = h.format < 4; // saved by walking each part's fields, not as declared
  for (const name of Object.keys(saved)) {
    if (!(name in parts) && !(walked && RETIRED_PARTS.includes(name))) throw new TrapezeError(`snapshot of ${h.name} has state for a part "${name}" this machine does not have`);
  }
  for (const [name, p] of Object.entries(parts)) {
    if (!(name in saved)) continue; // a part added since the snapshot was taken keeps its power-on state
    const fresh = p.saveState(); // the declared fields, at their power-on values
    let state = stateAt(h.name, name, p, saved[name]);
    if (walked) {
      state = declaredOf(fresh, state);
    } else {
      const have = Object.keys(state as object), want = Object.keys(fresh);
      const extra = have.filter((k) => !want.includes(k)), missing = want.filter((k) => !have.includes(k));
      if (extra.length) throw new TrapezeError(`snapshot of ${h.name}: "${name}" (version ${saved[name].version}) has fields this build does not: ${extra.join(', ')}`);
      if (missing.length) throw new TrapezeError(`snapshot of ${h.name}: "${name}" (version ${saved[name].version}) lacks fields: ${missing.join(', ')}`);
    }
    try {
      p.loadState(state as object);
    } catch (e) {
      if (!(e instanceof TrapezeError)) throw e;
      throw new TrapezeError(`snapshot of ${h.name}: "${name}": ${e.message}`);
    }
  }
}

/**
 * A walked (format 1-3) part's state in its declared shape: each declared
 * field takes the value saved under its name, nested objects and arrays of
 * them field by field; a field or element not saved then keeps its power-on value.
 */
function declaredOf(fresh: unknown, saved: unknown): unknown {
  if (saved === undefined) return fresh;
  if (fresh === null || typeof fresh !== 'object' || saved === null || typeof saved !== 'object' || '$bytes' in fresh) return saved;
  if (Array.isArray(fresh)) {
    if (!Array.isArray(saved)) return fresh;
    // elements saved field by field; those it did not have then (a timer added since) at their power-on values
    return [...saved.map((x, i) => declaredOf(fresh[i] ?? (fresh.length ? fresh[0] : undefined), x)), ...fresh.slice(saved.length)];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fresh)) out[k] = declaredOf(v, (saved as Record<string, unknown>)[k]);
  return out;
}

/** The state of part `name` at the version `obj` has now, migrated when saved at an older one. */
function stateAt(snapshot: string, name: string, part: SnapshotPart, saved: SavedPart): unknown {
  const now = part.snapshotVersion;
  if (saved.version === now) return saved.state;
  const migrate = part.migrateState;
  if (saved.version > now || !migrate) {
    throw new TrapezeError(`snapshot of ${snapshot}: "${name}" was saved at version ${saved.version}; this build reads version ${now}${saved.version < now ? ' and cannot convert older ones' : ''}`);
  }
  return migrate.call(part, saved.state, saved.version);
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
