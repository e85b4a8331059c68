// Architecture the core does not implement yet. Reaching it stops the VM with
// an Error exit naming the feature: never a silent wrong result.
import { EXIT_DETAIL_ERROR, ExitReason } from "../layout";
import { requestExit, raise, GP } from "./fault";

// Codes in EXIT_DETAIL_ERROR (after ErrorCode's own values); src/core/layout.ts names them.
export const enum Unsupported {
  // 100 and 101 named task switches and call gates, which the core now has
  CodeFromMmio = 102,
}

export function unsupported(what: u32): void {
  store<u32>(EXIT_DETAIL_ERROR, what);
  requestExit(ExitReason.Error);
  // stop the instruction: nothing it did so far is committed
  raise(GP, 0, true);
}
