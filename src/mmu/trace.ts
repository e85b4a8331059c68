// The MMU teaching view: what the shadow page table does, event by event.
// The core reports each fill, guest #PF, invalidation and flush through its
// env.mmuEvent import while `traceMmu(1)` is on (assembly/mmu/trace.ts defines
// the numbers decoded here). `trapeze run --trace-mmu` prints them; any other
// view (e.g. `trapeze trace --mmu`) can subscribe with traceMmu().
import type { Vm } from '../vm/vm.js';
import { RAM_BASE, MmuEvent as Kind, DropCause, FlushCause, ShadowWrite } from '../core/layout.js';

/** A shadow entry as the event carries it. */
export interface ShadowEntry {
  /** Guest-physical frame the linear page maps to. */
  phys: number;
  /** Readable at CPL 0-2 / CPL 3. */
  supervisor: boolean;
  user: boolean;
  /** How writes go: straight to RAM, through a trap (the frame holds page tables or code), or by a walk (no write entry yet). */
  write: 'direct' | 'trapped' | 'walk';
}

export type MmuEvent =
  | { kind: 'fill'; lin: number; entry: number; shadow: ShadowEntry }
  | { kind: 'fault'; lin: number; entry: number; error: number }
  | { kind: 'drop'; cause: 'invlpg' | 'pt-write'; lin: number; source: number; shadow: ShadowEntry }
  | { kind: 'flush'; cause: 'cr3' | 'cr0/cr4' | 'full'; dropped: number; globalsKept: number }
  | { kind: 'code-write'; phys: number };

const DROP_CAUSES = { [DropCause.Invlpg]: 'invlpg', [DropCause.PtWrite]: 'pt-write' } as const;
const FLUSH_CAUSES = { [FlushCause.Cr3]: 'cr3', [FlushCause.Control]: 'cr0/cr4', [FlushCause.Full]: 'full' } as const;

function shadowEntry(e: number): ShadowEntry {
  return {
    phys: ((e & ~0xfff) - RAM_BASE) >>> 0,
    supervisor: (e & 1) !== 0,
    user: (e & 2) !== 0,
    write: e & ShadowWrite.Trapped ? 'trapped' : e & ShadowWrite.Direct ? 'direct' : 'walk',
  };
}

/** The event the core's four numbers describe. */
export function decodeMmuEvent(code: number, lin: number, entry: number, shadow: number): MmuEvent {
  const cause = code >>> 4;
  lin >>>= 0; entry >>>= 0; shadow >>>= 0;
  switch (code & 15) {
    case Kind.Fill: return { kind: 'fill', lin, entry, shadow: shadowEntry(shadow) };
    case Kind.Fault: return { kind: 'fault', lin, entry, error: shadow };
    case Kind.Drop:
      return { kind: 'drop', cause: DROP_CAUSES[cause as DropCause], lin, source: entry, shadow: shadowEntry(shadow) };
    case Kind.Flush:
      return { kind: 'flush', cause: FLUSH_CAUSES[cause as FlushCause], dropped: entry, globalsKept: shadow };
    case Kind.CodeWrite: return { kind: 'code-write', phys: lin };
    default: throw new Error(`core reported unknown MMU event ${code}`);
  }
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

function formatShadow(s: ShadowEntry): string {
  const who = s.user ? 'S+U' : s.supervisor ? 'S' : '-';
  return `phys=${hex(s.phys)} ${who} write=${s.write}`;
}

/** What a #PF error code says, in words. */
export function describePfError(error: number): string {
  const words = [error & 1 ? 'protection' : 'not present', error & 2 ? 'write' : 'read', error & 4 ? 'user' : 'supervisor'];
  if (error & 8) words.push('reserved bit');
  return words.join(', ');
}

/** One line per event, for a student to read. */
export function formatMmuEvent(ev: MmuEvent): string {
  switch (ev.kind) {
    case 'fill': return `mmu fill   lin=${hex(ev.lin)} guest=${hex(ev.entry)} -> shadow ${formatShadow(ev.shadow)}`;
    case 'fault': return `mmu #PF    lin=${hex(ev.lin)} guest=${hex(ev.entry)} error=${ev.error.toString(16).padStart(2, '0')} (${describePfError(ev.error)})`;
    case 'drop': return `mmu drop   lin=${hex(ev.lin)} from=${hex(ev.source)} (${ev.cause}) shadow ${formatShadow(ev.shadow)}`;
    case 'flush': return `mmu flush  ${ev.cause}: ${ev.dropped} entries dropped, ${ev.globalsKept} global kept`;
    case 'code-write': return `mmu code   phys=${hex(ev.phys)} written: its decoded blocks dropped`;
  }
}

/** Send `vm`'s MMU events to `sink` until the returned function is called. */
export function traceMmu(vm: Vm, sink: (ev: MmuEvent) => void): () => void {
  const core = vm.core;
  core.mmuHooks.event = (k, l, e, s) => sink(decodeMmuEvent(k, l, e, s));
  core.exports.traceMmu(1);
  return () => {
    core.exports.traceMmu(0);
    core.mmuHooks.event = undefined;
  };
}
