// Parsers for command-line option values: each rejects bad input with a clear message.
import { InvalidArgumentError } from 'commander';
import { CPU_MODELS } from '../vm/cpuid.js';

export function parseMemory(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`memory size must be a whole number of MiB (got "${v}")`);
  const n = Number(v);
  if (n < 2) throw new InvalidArgumentError(`memory size must be at least 2 MiB (got ${n})`);
  if (n > 2048) throw new InvalidArgumentError(`memory size must be at most 2048 MiB (got ${n})`);
  return n;
}

export function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`expected a positive whole number (got "${v}")`);
  return Number(v);
}

export function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds (got "${v}")`);
  return n;
}


export function parseCpus(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 16) throw new InvalidArgumentError(`expected a vCPU count from 1 to 16 (got "${v}")`);
  return Number(v);
}

/** --cpu: a model name (src/vm/cpuid.ts CPU_MODELS) -> the CPUID.1:EDX bits it adds. */
export function parseCpuModel(v: string): number {
  const bits = CPU_MODELS[v];
  if (bits === undefined) throw new InvalidArgumentError(`expected a CPU model: ${Object.keys(CPU_MODELS).join(' or ')} (got "${v}")`);
  return bits;
}

export function parseOnOff(v: string): boolean {
  if (v !== 'on' && v !== 'off') throw new InvalidArgumentError(`expected on or off (got "${v}")`);
  return v === 'on';
}
