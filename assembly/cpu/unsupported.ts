// Architecture the core does not implement yet. Reaching it stops the VM with
// an Error exit naming the feature: never a silent wrong result.
import { EXIT_DETAIL_ERROR, ExitReason } from "../layout";
import { requestExit, raise, GP } from "./fault";

// what: an ErrorCode (contract/schema.mjs), which the host names in its message

export function unsupported(what: u32): void {
  store<u32>(EXIT_DETAIL_ERROR, what);
  requestExit(ExitReason.Error);
  // stop the instruction: nothing it did so far is committed
  raise(GP, 0, true);
}
