// A folder of single-instruction tests (../shared/conformance/README.md):
// metadata.json plus one gzipped JSON-lines file per opcode. Reads a file's
// tests and decides, from the metadata and our own skip list, which apply.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TrapezeError } from '../errors.js';
import { EXTRA_SKIPS } from './skips.js';

export const REG16_NAMES = ['ax', 'bx', 'cx', 'dx', 'cs', 'ss', 'ds', 'es', 'sp', 'bp', 'si', 'di', 'ip', 'flags'] as const;
export type Reg16Name = (typeof REG16_NAMES)[number];
export type Regs16 = Record<Reg16Name, number>;
/** [linear address, byte] */
export type RamPair = [number, number];

export interface ConformanceTest {
  idx: number;
  name: string;
  bytes: string;
  initial: { regs: Regs16; ram: RamPair[] };
  final: { regs: Partial<Regs16>; ram: RamPair[] };
  exception?: { vector: number; flagsAddress: number };
  hash: string;
}

interface FileMeta {
  file: string;
  mnemonic: string;
  flagsMask386: number;
  skip386: string | null;
  divergent386: Record<string, number[]>;
}

interface Metadata {
  revokedHashes: string[];
  divergence386: Record<string, string>;
  files: Record<string, FileMeta>;
}

/** One test file: its tests and the reason each skipped one is skipped. */
export interface SuiteFile {
  /** The file's key, e.g. "F6.7". */
  key: string;
  mnemonic: string;
  flagsMask: number;
  /** Set when the whole file does not apply to this CPU. */
  skipReason?: string;
  /** Reason per skipped test idx. */
  skips: Map<number, string>;
  /** The divergent386 categories of each skipped test that has them. */
  divergent: Map<number, string[]>;
  load(): ConformanceTest[];
}

export class Suite {
  readonly files: SuiteFile[];
  private readonly revoked: Set<string>;

  constructor(readonly dir: string) {
    let meta: Metadata;
    try {
      meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Metadata;
    } catch (e) {
      throw new TrapezeError(`${dir}: not a conformance folder (cannot read metadata.json: ${(e as Error).message})`);
    }
    if (!meta.files || typeof meta.files !== 'object') throw new TrapezeError(`${dir}/metadata.json: no "files" table`);
    this.revoked = new Set(meta.revokedHashes ?? []);
    const present = new Set(readdirSync(dir));
    const listed = Object.entries(meta.files);
    if (!listed.some(([, m]) => present.has(m.file))) throw new TrapezeError(`${dir}: metadata.json lists no test file that is present`);
    this.files = listed
      .map(([key, m]) => this.describe(key, m, meta.divergence386 ?? {}, present.has(m.file)))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private describe(key: string, m: FileMeta, reasons: Record<string, string>, present: boolean): SuiteFile {
    const skips = new Map<number, string>();
    const divergent = new Map<number, string[]>();
    for (const [category, idxs] of Object.entries(m.divergent386 ?? {})) {
      for (const idx of idxs) {
        skips.set(idx, `divergent386 ${category}: ${reasons[category] ?? category}`);
        divergent.set(idx, [...(divergent.get(idx) ?? []), category]);
      }
    }
    let skipReason = !present ? 'listed in metadata.json, but the file is missing' : m.skip386 ? `skip386: ${m.skip386}` : undefined;
    for (const s of EXTRA_SKIPS) {
      if (s.file !== key) continue;
      if (s.idx === undefined) skipReason ??= `skips.ts: ${s.reason}`;
      else { skips.set(s.idx, `skips.ts: ${s.reason}`); divergent.delete(s.idx); }
    }
    const path = join(this.dir, m.file);
    const revoked = this.revoked;
    return {
      key, mnemonic: m.mnemonic, flagsMask: m.flagsMask386, skipReason, skips, divergent,
      load: () => (present ? readTests(path).filter((t) => !revoked.has(t.hash)) : []),
    };
  }
}

function readTests(path: string): ConformanceTest[] {
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString('utf8');
  } catch (e) {
    throw new TrapezeError(`${path}: cannot read (${(e as Error).message})`);
  }
  const tests: ConformanceTest[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      tests.push(JSON.parse(line) as ConformanceTest);
    } catch {
      throw new TrapezeError(`${path}:${i + 1}: not valid JSON`);
    }
  });
  return tests;
}
