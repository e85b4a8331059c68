// The instruction being executed: where it started (for faults and restarts),
// and how many instructions this entry has retired so far.
export let insnStart: u32 = 0;
export function setInsnStart(v: u32): void { insnStart = v; }
export let retired: u32 = 0;
export function setRetired(v: u32): void { retired = v; }
