// MMIO reads leave to the host: the instruction is abandoned at the read, the
// host supplies the value, and the instruction runs again from its start. An
// instruction may read MMIO more than once (LDS, BOUND, a far pointer, POPA, a
// stack in MMIO), so each answer is kept in a log in the vCPU's state block and
// the re-run takes them in order; only a read past the log exits. The log is
// forgotten when that instruction ends (retires or faults) or is pre-empted by
// an interrupt. One answer per read, never a second device access.
import {
  ACTIVE, S_MMIO_REPLAY, EXIT_MMIO_ADDR, EXIT_MMIO_SIZE, EXIT_MMIO_DATA, MMIO_READS, MMIO_LOG, MMIO_LOG_MAX,
} from "../layout";

const ENTRY: u32 = 12; // addr, size, data

let cursor: u32 = 0;          // the next read of this run of the instruction
export let replayValue: u32 = 0;

// At entry: the host answered the read that exited; add it to the log.
// Returns whether an instruction is being replayed.
// Without an answer (the host injected an exception instead) there is nothing
// to replay.
export function mmioReplayStart(): bool {
  cursor = 0;
  if (!load<u32>(ACTIVE + S_MMIO_REPLAY)) return mmioReplayDone();
  store<u32>(ACTIVE + S_MMIO_REPLAY, 0);
  const n = load<u32>(ACTIVE + MMIO_READS);
  if (n >= MMIO_LOG_MAX) return mmioReplayDone(); // cannot happen: a full log does not exit
  const e = ACTIVE + MMIO_LOG + n * ENTRY;
  store<u32>(e, load<u32>(EXIT_MMIO_ADDR));
  store<u32>(e + 4, load<u32>(EXIT_MMIO_SIZE));
  store<u32>(e + 8, load<u32>(EXIT_MMIO_DATA));
  store<u32>(ACTIVE + MMIO_READS, n + 1);
  return true;
}

// The read the instruction makes now, if the log answers it (value in replayValue).
// A read that differs from the log means the instruction changed course: the
// log is dropped and the read exits afresh.
export function mmioReplayed(phys: u32, size: u32): bool {
  const n = load<u32>(ACTIVE + MMIO_READS);
  if (cursor >= n) return false;
  const e = ACTIVE + MMIO_LOG + cursor * ENTRY;
  if (load<u32>(e) != phys || load<u32>(e + 4) != size) { mmioReplayDone(); return false; }
  cursor++;
  replayValue = load<u32>(e + 8);
  return true;
}

// Whether the log can take one more answer.
export function mmioLogHasRoom(): bool { return load<u32>(ACTIVE + MMIO_READS) < MMIO_LOG_MAX; }

// The replayed instruction ended (or will start over from scratch).
export function mmioReplayDone(): bool {
  store<u32>(ACTIVE + MMIO_READS, 0);
  cursor = 0;
  return false;
}
