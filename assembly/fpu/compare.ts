// x87 comparisons: FCOM/FUCOM (condition codes), FCOMI/FUCOMI (EFLAGS),
// FTST, FXAM. Ordering is exact on the 80-bit values.
import { mant, sexp } from "./stack";
import { Kind, kindOf, signOf, isSignaling } from "./format";
import { flag, setCC, IE, DE, C0, C1, C2, C3 } from "./status";
import { getFlags, setFlagsRaw } from "../cpu/flags";
import { CF, PF, ZF, SF, OF, AF } from "../cpu/state";

export const enum Order { Less = 0, Equal = 1, Greater = 2, Unordered = 3 }

// Compare a with b. `quiet`: only signaling NaNs are invalid (FUCOM*).
export function compare(a: u32, b: u32, quiet: bool): Order {
  const ka = kindOf(a), kb = kindOf(b);
  if (ka == Kind.Unsupported || kb == Kind.Unsupported) { flag(IE); return Order.Unordered; }
  if (ka == Kind.NaN || kb == Kind.NaN) {
    if (!quiet || (ka == Kind.NaN && isSignaling(a)) || (kb == Kind.NaN && isSignaling(b))) flag(IE);
    return Order.Unordered;
  }
  if (ka == Kind.Denormal || kb == Kind.Denormal) flag(DE);
  if (ka == Kind.Zero && kb == Kind.Zero) return Order.Equal;
  const sa = signOf(a), sb = signOf(b);
  if (ka == Kind.Zero) return sb ? Order.Greater : Order.Less;
  if (kb == Kind.Zero) return sa ? Order.Less : Order.Greater;
  if (sa != sb) return sa ? Order.Less : Order.Greater;
  const ea = sexp(a) & 0x7FFF, eb = sexp(b) & 0x7FFF;
  const ma = mant(a), mb = mant(b);
  if (ea == eb && ma == mb) return Order.Equal;
  const bigger = ea > eb || (ea == eb && ma > mb);
  return bigger != (sa != 0) ? Order.Greater : Order.Less;
}

// C3 C2 C0: 000 greater, 001 less, 100 equal, 111 unordered (C1 cleared).
export function setCompareCC(o: Order): void {
  switch (o) {
    case Order.Greater: setCC(0); break;
    case Order.Less: setCC(C0); break;
    case Order.Equal: setCC(C3); break;
    default: setCC(C3 | C2 | C0);
  }
}

// ZF PF CF the same way; OF SF AF cleared.
export function setCompareFlags(o: Order): void {
  let f = getFlags() & ~(CF | PF | ZF | SF | OF | AF);
  if (o == Order.Less) f |= CF;
  else if (o == Order.Equal) f |= ZF;
  else if (o == Order.Unordered) f |= ZF | PF | CF;
  setFlagsRaw(f);
}

// FXAM: the class of ST(0) in C3 C2 C0 and its sign in C1.
export function examine(a: u32, empty: bool): void {
  const s: u32 = signOf(a) ? C1 : 0;
  if (empty) { setCC(s | C3 | C0); return; }
  switch (kindOf(a)) {
    case Kind.Unsupported: setCC(s); break;
    case Kind.NaN: setCC(s | C0); break;
    case Kind.Normal: setCC(s | C2); break;
    case Kind.Inf: setCC(s | C2 | C0); break;
    case Kind.Zero: setCC(s | C3); break;
    default: setCC(s | C3 | C2); // denormal
  }
}
