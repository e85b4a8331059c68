// What a part of the machine (a device, the clock, the platform's own fields)
// promises a snapshot: it names every field it saves, in a state object of its
// own type, and loads the same shape back. Nothing is gathered by walking an
// object, so renaming a private field cannot change what a snapshot holds: the
// saved names are the ones written in saveState() and loadState().
import { TrapezeError } from '../errors.js';

export interface SnapshotPart<S extends object = object> {
  /** The version of the state's shape; bump it when the saved fields change. */
  readonly snapshotVersion: number;
  /** The part's state now: plain data (numbers, strings, booleans, arrays, objects, SavedBytes). */
  saveState(): S;
  /** Put the part back in `state` (a freshly made part of the same machine). */
  loadState(state: S): void;
  /** Turn state saved at an older version into the current shape (or throw why not). */
  migrateState?(state: unknown, version: number): S;
}

/** A typed array's bytes in a snapshot (base64; the shape every format has used). */
export interface SavedBytes { $bytes: string }

export function saveBytes(a: ArrayBufferView): SavedBytes {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { $bytes: btoa(text) };
}

export function bytesOf(saved: SavedBytes): Uint8Array {
  const bin = atob(saved.$bytes);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Copy saved bytes into `into`, which must have the same size. */
export function loadBytes(into: ArrayBufferView, saved: SavedBytes): void {
  const bytes = bytesOf(saved);
  if (bytes.length !== into.byteLength) throw new TrapezeError(`saved bytes are ${bytes.length} long where ${into.byteLength} are expected`);
  new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(bytes);
}

/** A timer's deadline as saved (JSON has no Infinity: a disarmed timer is null). */
export const saveDeadline = (at: number): number | null => (at === Infinity ? null : at);
export const loadDeadline = (at: number | null): number => (at === null ? Infinity : at);
