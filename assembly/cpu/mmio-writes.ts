// An instruction may write MMIO more than once (PUSHA onto a stack in MMIO, a
// far CALL, an interrupt frame): the first write leaves in the exit record,
// the others wait in a queue in the vCPU's state block, and each following
// entry leaves with the next one before running anything, so the host sees
// every write once and in order. An instruction that faults or starts over
// (an MMIO read) drops its queued writes: they never happened.
import { ACTIVE, EXIT_MMIO_ADDR, EXIT_MMIO_SIZE, EXIT_MMIO_DIR, EXIT_MMIO_DATA, MMIO_WRITES, MMIO_QUEUE, MMIO_QUEUE_MAX, ExitReason } from "../layout";
import { requestExit } from "./fault";

const ENTRY: u32 = 12; // addr, size, data

// Queue a write behind the one in the exit record; false when the queue is full.
export function mmioQueueWrite(phys: u32, size: u32, v: u32): bool {
  const n = load<u32>(ACTIVE + MMIO_WRITES);
  if (n >= MMIO_QUEUE_MAX) return false;
  const e = ACTIVE + MMIO_QUEUE + n * ENTRY;
  store<u32>(e, phys);
  store<u32>(e + 4, size);
  store<u32>(e + 8, v);
  store<u32>(ACTIVE + MMIO_WRITES, n + 1);
  return true;
}

// At entry: leave with the next queued write, if one waits.
export function mmioNextWrite(): void {
  const n = load<u32>(ACTIVE + MMIO_WRITES);
  if (n == 0) return;
  const e = ACTIVE + MMIO_QUEUE;
  store<u32>(EXIT_MMIO_ADDR, load<u32>(e));
  store<u32>(EXIT_MMIO_SIZE, load<u32>(e + 4));
  store<u32>(EXIT_MMIO_DIR, 0);
  store<u32>(EXIT_MMIO_DATA, load<u32>(e + 8));
  memory.copy(e, e + ENTRY, (n - 1) * ENTRY);
  store<u32>(ACTIVE + MMIO_WRITES, n - 1);
  requestExit(ExitReason.Mmio);
}

export function mmioDropWrites(): void { store<u32>(ACTIVE + MMIO_WRITES, 0); }
