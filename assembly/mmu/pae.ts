// PAE paging (CR4.PAE): the second format of the walker. 64-bit entries, a
// 4-entry page-directory-pointer table that the CPU loads from CR3 into
// registers (S_PDPTE) on MOV CR3 and when paging turns on, 2 MiB pages by
// PDE.PS, MAXPHYADDR 36. Without EFER.NXE, bit 63 is reserved like the other
// high bits. Frames above 4 GiB are beyond this machine: a clear core error.
import { ACTIVE, S_PDPTE, S_CR0, S_CR3, S_CR4, EXIT_DETAIL_ERROR, ErrorCode, ExitReason } from "../layout";
import { raise, GP, requestExit } from "../cpu/fault";
import { readEntry, pageFault, accessCode, completeWalk, P, PS, PF_PRESENT, PF_RESERVED } from "./paging";

const HIGH_RESERVED: u32 = 0xFFFFFFF0;  // bits 63:36 of any entry
const PDPTE_RESERVED: u32 = 0x1E6;      // bits 8:5 and 2:1 of a PDPTE
const BIG_RESERVED: u32 = 0x001FE000;   // bits 20:13 of a 2 MiB PDE
const CR0_PG: u32 = 0x80000000;
const CR4_PSE: u32 = 1 << 4;
const CR4_PAE: u32 = 1 << 5;
const CR4_PGE: u32 = 1 << 7;

@inline export function paePaging(): bool {
  return (load<u32>(ACTIVE + S_CR0) & CR0_PG) != 0 && (load<u32>(ACTIVE + S_CR4) & CR4_PAE) != 0;
}

// CR0/CR4 are about to change from (oldCr0, oldCr4) to (cr0, cr4): with PAE
// paging on afterwards, turning paging on or changing PAE/PGE/PSE loads the
// PDPTEs. False (with #GP raised) when they are invalid: nothing changes.
export function pdptesForModeChange(cr0: u32, cr4: u32, oldCr0: u32, oldCr4: u32): bool {
  if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)) return true;
  if (!((cr0 ^ oldCr0) & CR0_PG) && !((cr4 ^ oldCr4) & (CR4_PAE | CR4_PGE | CR4_PSE))) return true;
  return loadPdptes(load<u32>(ACTIVE + S_CR3));
}

// Load the PDPTEs CR3 points at; #GP(0) (and false) when a present one has
// reserved bits set, leaving the registers as they were.
export function loadPdptes(cr3: u32): bool {
  const base = cr3 & 0xFFFFFFE0;
  for (let i: u32 = 0; i < 4; i++) {
    const lo = readEntry(base + (i << 3));
    if ((lo & P) && ((lo & PDPTE_RESERVED) || (readEntry(base + (i << 3) + 4) & HIGH_RESERVED))) {
      raise(GP, 0, true);
      return false;
    }
  }
  for (let i: u32 = 0; i < 4; i++) {
    const a = base + (i << 3);
    store<u64>(ACTIVE + S_PDPTE + (i << 3), <u64>readEntry(a) | (<u64>readEntry(a + 4) << 32));
  }
  return true;
}

function above4G(): u32 {
  store<u32>(EXIT_DETAIL_ERROR, ErrorCode.PhysAbove4G);
  requestExit(ExitReason.Error);
  return 0;
}

export function translatePae(lin: u32, write: bool, user: bool, cr4: u32): u32 {
  const access = accessCode(write, user);
  const pdpte = load<u64>(ACTIVE + S_PDPTE + ((lin >>> 30) << 3));
  if (!(<u32>pdpte & P)) return pageFault(lin, access, <u32>pdpte);
  if (pdpte >> 32) return above4G();
  const pdeAddr = (<u32>pdpte & 0xFFFFF000) + (((lin >>> 21) & 0x1FF) << 3);
  const pde = readEntry(pdeAddr);
  if (!(pde & P)) return pageFault(lin, access, pde);
  const pdeHigh = readEntry(pdeAddr + 4);
  const rsvd = access | PF_PRESENT | PF_RESERVED;
  if ((pdeHigh & HIGH_RESERVED) || ((pde & PS) && (pde & BIG_RESERVED))) return pageFault(lin, rsvd, pde);
  if (pdeHigh) return above4G();
  if (pde & PS) return completeWalk(lin, write, user, cr4, pdeAddr, pde, true, pdeAddr, pde, (pde & 0xFFE00000) | (lin & 0x1FF000));
  const pteAddr = (pde & 0xFFFFF000) + (((lin >>> 12) & 0x1FF) << 3);
  const pte = readEntry(pteAddr);
  if (!(pte & P)) return pageFault(lin, access, pte);
  const pteHigh = readEntry(pteAddr + 4);
  if (pteHigh & HIGH_RESERVED) return pageFault(lin, rsvd, pte);
  if (pteHigh) return above4G();
  return completeWalk(lin, write, user, cr4, pdeAddr, pde, false, pteAddr, pte, pte & 0xFFFFF000);
}
