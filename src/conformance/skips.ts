// Tests we skip beyond what the data's metadata.json already marks for a
// 386+ core (skip386, divergent386). Each entry needs a reason; keep it short.
export interface ExtraSkip {
  /** File key as in metadata.json, e.g. "F6.7". */
  file: string;
  /** One test's idx; absent: the whole file. */
  idx?: number;
  reason: string;
}

export const EXTRA_SKIPS: readonly ExtraSkip[] = [];
