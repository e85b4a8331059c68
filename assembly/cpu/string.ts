// String instructions: MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE. Each
// iteration commits its registers, so a fault restarts where it stopped. Long
// REP runs yield every CHUNK items so interrupts and the budget are honoured.
// REP MOVS/STOS forward over RAM pages run as bulk copies, a page at a time
// (a page without TLB entries yet gets them from its first item). An MMIO access
// ends the run at the item it reaches (one exit per item, each counted as
// retired like a yield), so the instruction budget bounds device-bound REPs.
import { R_ATTR, R_SEG, Attr } from "./decode";
import { reg32, setReg32, setRegSz, regSz, EAX, ECX, ESI, EDI, setEip, DF } from "./state";
import { getFlags } from "./flags";
import { segLinear, readSz, writeSz, dataAccess } from "./memory";
import { aborted, endBlock, abort, Abort, clearAbort, exitReason } from "./fault";
import { alu, ALU_CMP } from "./alu";
import { zero } from "./flags";
import { insnStart } from "./context";
import { SEG_ES, TLB_READ, TLB_WRITE, ExitReason } from "../layout";

const CHUNK: u32 = 4096;

export const enum StrOp { Movs = 0, Cmps = 1, Stos = 2, Lods = 3, Scas = 4 }

@inline function idx(a32: bool, r: u32): u32 { return a32 ? reg32(r) : reg32(r) & 0xFFFF; }
@inline function setIdx(a32: bool, r: u32, v: u32): void { if (a32) setReg32(r, v); else setRegSz(r, 1, v); }

export function stringOp(rec: u32, op: u32, sz: u32): void {
  const attr = load<u8>(rec + R_ATTR);
  const a32 = (attr & Attr.A32) != 0;
  const rep = (attr & (Attr.Rep | Attr.Repne)) != 0;
  const seg = load<u8>(rec + R_SEG);
  const bytes: u32 = 1 << sz;
  const step: u32 = (getFlags() & DF) ? <u32>(-<i32>bytes) : bytes;
  const compares = op == StrOp.Cmps || op == StrOp.Scas;
  let left: u32 = rep ? idx(a32, ECX) : 1;
  if (left == 0) return;
  let budget = CHUNK;
  let done: u32 = 0; // items this execution committed
  const bulkable = rep && (op == StrOp.Movs || op == StrOp.Stos);
  const down = step != bytes; // DF set: items go to lower addresses
  // the DI page where bulk declined after an item there filled the TLB (code, MMIO, #AC): items go one by one
  let declined: u32 = 0xFFFFFFFF;
  if (bulkable) {
    const n = bulk(op, sz, seg, a32, left, down);
    if (aborted()) return;
    left -= n;
    if (left == 0) return;
  }
  while (true) {
    if (done > 0 && exitReason == ExitReason.Mmio) { resumeLater(); return; } // the host does the write first
    const si = idx(a32, ESI), di = idx(a32, EDI);
    let a: u32 = 0, b: u32 = 0;
    switch (op) {
      case StrOp.Movs: {
        const v = readSz(segLinear(seg, si, bytes, false), sz);
        const dst = segLinear(SEG_ES, di, bytes, true);
        if (aborted()) { stopAtMmioRead(done); return; } // checked before any write: a failed check returns address 0
        writeSz(dst, sz, v);
        if (aborted()) return;
        setIdx(a32, ESI, si + step); setIdx(a32, EDI, di + step);
        break;
      }
      case StrOp.Cmps: {
        a = readSz(segLinear(seg, si, bytes, false), sz);
        b = readSz(segLinear(SEG_ES, di, bytes, false), sz);
        if (aborted()) { stopAtMmioRead(done); return; }
        alu(ALU_CMP, sz, a, b);
        setIdx(a32, ESI, si + step); setIdx(a32, EDI, di + step);
        break;
      }
      case StrOp.Stos: {
        const dst = segLinear(SEG_ES, di, bytes, true);
        if (aborted()) return;
        writeSz(dst, sz, regSz(EAX, sz));
        if (aborted()) return;
        setIdx(a32, EDI, di + step);
        break;
      }
      case StrOp.Lods: {
        const v = readSz(segLinear(seg, si, bytes, false), sz);
        if (aborted()) { stopAtMmioRead(done); return; }
        setRegSz(EAX, sz, v);
        setIdx(a32, ESI, si + step);
        break;
      }
      default: { // Scas
        b = readSz(segLinear(SEG_ES, di, bytes, false), sz);
        if (aborted()) { stopAtMmioRead(done); return; }
        alu(ALU_CMP, sz, regSz(EAX, sz), b);
        setIdx(a32, EDI, di + step);
        break;
      }
    }
    if (!rep) return;
    done++;
    left--;
    setIdx(a32, ECX, left);
    if (left == 0) return;
    if (compares) {
      const z = zero();
      if ((attr & Attr.Rep) && !z) return;   // REPE stops on a difference
      if ((attr & Attr.Repne) && z) return;  // REPNE stops on a match
    }
    if (--budget == 0) { resumeLater(); return; }
    // the item just done made the TLB entries a fresh page lacked: the rest of the page goes in bulk
    if (bulkable) {
      const page = idx(a32, EDI) >>> 12;
      if (page != declined) {
        const n = bulk(op, sz, seg, a32, left, down);
        if (aborted()) return;
        if (n == 0) declined = page;
        left -= n;
        done += n;
        if (left == 0) return;
        if (n >= budget) { resumeLater(); return; }
        budget -= n;
      }
    }
  }
}

// End this execution at an item boundary; the instruction runs on from there.
function resumeLater(): void { setEip(insnStart); endBlock(); }

// An MMIO read after items were done: keep them, and let the next execution
// of the instruction take the exit for this item.
function stopAtMmioRead(done: u32): void {
  if (done > 0 && abort == Abort.MmioRead) { clearAbort(); resumeLater(); }
}

// Bulk REP MOVS/STOS: as many whole items as fit in the current source and
// destination pages (above the index, or with DF set below it), when both
// have TLB entries and the segments allow it. Returns the items done (0 =
// take the careful path).
function bulk(op: u32, sz: u32, seg: u32, a32: bool, count: u32, down: bool): u32 {
  const bytes: u32 = 1 << sz;
  const di = idx(a32, EDI);
  const dlin = segLinear(SEG_ES, di, bytes, true);
  if (aborted()) return 0;
  const dEntry = load<u32>(TLB_WRITE + ((dlin >>> 12) << 2));
  if (!(dEntry & dataAccess)) return 0; // none under alignment checking: items go one by one
  let n = itemsInPage(dlin, di, bytes, a32, down);
  if (n > count) n = count;
  if (n == 0) return 0;
  // the whole run must pass the segment check
  const dlast = down ? di - (n - 1) * bytes : di + (n - 1) * bytes;
  segLinear(SEG_ES, dlast, bytes, true);
  if (aborted()) return 0;
  let dhost = (dEntry & 0xFFFFF000) + (dlin & 0xFFF);
  if (op == StrOp.Stos) {
    if (down) dhost -= (n - 1) * bytes;
    const v = regSz(EAX, sz);
    if (sz == 0) memory.fill(dhost, <u8>v, n);
    else for (let i: u32 = 0; i < n; i++) { if (sz == 2) store<u32>(dhost + i * 4, v); else store<u16>(dhost + i * 2, v); }
  } else {
    const si = idx(a32, ESI);
    const slin = segLinear(seg, si, bytes, false);
    if (aborted()) return 0;
    const sEntry = load<u32>(TLB_READ + ((slin >>> 12) << 2));
    if (!(sEntry & dataAccess)) return 0;
    const sn = itemsInPage(slin, si, bytes, a32, down);
    if (sn < n) n = sn;
    if (n == 0) return 0;
    segLinear(seg, down ? si - (n - 1) * bytes : si + (n - 1) * bytes, bytes, false);
    if (aborted()) return 0;
    let shost = (sEntry & 0xFFFFF000) + (slin & 0xFFF);
    const len = n * bytes;
    if (down) { dhost -= len - bytes; shost -= len - bytes; }
    // item by item, a copy onto itself replicates a pattern when the writes
    // run ahead of the reads (forward with the destination above the source,
    // backward with it below); memory.copy would not
    if (down ? dhost < shost && dhost + len > shost : dhost > shost && dhost < shost + len) return 0;
    memory.copy(dhost, shost, len);
    setIdx(a32, ESI, down ? si - len : si + len);
  }
  setIdx(a32, EDI, down ? di - n * bytes : di + n * bytes);
  setIdx(a32, ECX, count - n);
  return n;
}

// Whole items from the one at lin (index i) to the end of its page, or with
// `down` to its start; a 16-bit index also stops where it would wrap.
@inline function itemsInPage(lin: u32, i: u32, bytes: u32, a32: bool, down: bool): u32 {
  if (!down) {
    let n: u32 = (0x1000 - (lin & 0xFFF)) / bytes;
    if (!a32) { const r: u32 = (<u32>0x10000 - i) / bytes; if (r < n) n = r; }
    return n;
  }
  if ((lin & 0xFFF) + bytes > 0x1000) return 0; // the first item crosses into the next page
  let n: u32 = (lin & 0xFFF) / bytes + 1;
  if (!a32) { const r: u32 = i / bytes + 1; if (r < n) n = r; }
  return n;
}
