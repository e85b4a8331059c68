export { Exit, State, Seg, SEG_SIZE, Cpuid, CpuidEntry } from '../../src/core/layout.js';
/** The core keeps the running vCPU's state here (assembly/layout.ts ACTIVE). */
export const ACTIVE_FOR_TEST = 0x3000;
