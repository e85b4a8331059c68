// The hypervisor's config file: parsed and validated in one pass, every
// problem reported with its field path ("vms[1].disks[0].capacityMiB: ...").
// The names in the issue's example hold for good; the format may only grow.
import { TrapezeError } from '../errors.js';
import { host } from '../host/platform.js';
import { VIOLATION_ACTIONS, type PolicySpec, type Range, type ViolationAction, type CpuidRule } from './policy.js';
import type { SchedClock } from './scheduler.js';
import type { BucketSpec } from '../storage/token-bucket.js';

export interface DiskConfig {
  /** Raw image file (created if missing). */
  file: string;
  /** Largest the host file may grow (the disk quota); a write past it is an I/O error. */
  capacityMiB?: number;
  /** Size the guest sees; default: the capacity, or the file's size. */
  sizeMiB?: number;
  readOnly?: boolean;
  /** Copy-on-write overlay: writes go here, `file` is never written. */
  overlay?: string;
  /** Shorthands: a bucket refilled once a second. */
  bandwidthBytesPerSec?: number;
  opsPerSec?: number;
  /** Firecracker's token buckets (size, one-time burst, refill time). */
  bandwidth?: BucketSpec;
  ops?: BucketSpec;
}

export interface VmConfig {
  name: string;
  kernel: string;
  cmdline?: string;
  memoryMiB: number;
  vcpus: number;
  shares: number;
  capPercent?: number;
  /** This VM's time slice (instructions per dispatch); default: the hypervisor's. */
  sliceInstructions?: number;
  /** Boot disk (a raw image, no quotas). */
  disk?: string;
  disks: DiskConfig[];
  policy?: PolicySpec;
}

export interface HypervisorConfig {
  vms: VmConfig[];
  /** Host-wide memory budget for all VMs together. */
  hostMemoryMiB?: number;
  clock?: SchedClock;
  /** Time slice: instructions per dispatch. */
  sliceInstructions?: number;
}

/** Collects problems with their paths, so one run reports all of them. */
class Checker {
  readonly problems: string[] = [];
  bad(path: string, what: string): undefined { this.problems.push(`${path}: ${what}`); return undefined; }

  object(v: unknown, path: string, known: readonly string[]): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.bad(path, `must be an object (got ${show(v)})`);
    for (const k of Object.keys(v)) if (!known.includes(k)) this.bad(`${path}.${k}`, `unknown field (known: ${known.join(', ')})`);
    return v as Record<string, unknown>;
  }
  string(v: unknown, path: string): string | undefined {
    if (typeof v !== 'string' || v === '') return this.bad(path, `must be a non-empty string (got ${show(v)})`);
    return v;
  }
  number(v: unknown, path: string, min: number, max: number, integer = true): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      return this.bad(path, `must be a${integer ? ' whole' : ''} number (got ${show(v)})`);
    }
    if (v < min || v > max) return this.bad(path, `must be between ${readable(min)} and ${readable(max)} (got ${v})`);
    return v;
  }
  oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T | undefined {
    if (!options.includes(v as T)) return this.bad(path, `must be one of ${options.map((o) => `"${o}"`).join(', ')} (got ${show(v)})`);
    return v as T;
  }
  /** A number, or a string "0x3f8" / "1016", up to max. */
  address(v: unknown, path: string, max: number): number | undefined {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > max) return this.bad(path, `must be a number or "0x..." between 0 and 0x${max.toString(16)} (got ${show(v)})`);
    return n;
  }
  /** ["0x3f8-0x3ff", "0xf4", 0x80] → inclusive ranges. */
  ranges(v: unknown, path: string, max: number): Range[] | undefined {
    if (!Array.isArray(v)) return this.bad(path, `must be a list of addresses or "first-last" ranges (got ${show(v)})`);
    const out: Range[] = [];
    v.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const parts = typeof item === 'string' && item.includes('-') ? item.split('-') : [item];
      if (parts.length > 2) { this.bad(p, `must be "first-last" (got ${show(item)})`); return; }
      const a = this.address(parts[0], p, max), b = parts.length === 2 ? this.address(parts[1], p, max) : a;
      if (a === undefined || b === undefined) return;
      if (b < a) { this.bad(p, `range ends before it starts (${show(item)})`); return; }
      out.push([a, b]);
    });
    return out;
  }
}

/** A bound as a person writes it: 1/1024 (one KiB in MiB), not 0.0009765625. */
function readable(n: number): string {
  return Number.isInteger(n) || !Number.isInteger(n * 1024) ? String(n) : `${n * 1024}/1024`;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

const TOP_FIELDS = ['vms', 'hostMemoryMiB', 'clock', 'sliceInstructions'] as const;
const VM_FIELDS = ['name', 'kernel', 'cmdline', 'memoryMiB', 'vcpus', 'shares', 'capPercent', 'sliceInstructions', 'disk', 'disks', 'policy'] as const;
const DISK_FIELDS = ['file', 'capacityMiB', 'sizeMiB', 'readOnly', 'overlay', 'bandwidthBytesPerSec', 'opsPerSec', 'bandwidth', 'ops'] as const;
const BUCKET_FIELDS = ['size', 'oneTimeBurst', 'refillTimeMs'] as const;
const POLICY_FIELDS = ['ioPorts', 'mmio', 'msrs', 'cpuid', 'maxInstructions', 'onViolation'] as const;
const CPUID_FIELDS = ['leaf', 'and', 'set'] as const;
const REGS = ['eax', 'ebx', 'ecx', 'edx'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/**
 * Validate a config object. Relative file names are resolved against `baseDir`
 * (the config file's directory). Throws a TrapezeError listing every problem.
 */
export function parseConfig(raw: unknown, baseDir = host().files.resolve('.')): HypervisorConfig {
  const c = new Checker();
  const top = c.object(raw, 'config', TOP_FIELDS);
  const config: HypervisorConfig = { vms: [] };
  if (top) {
    if (top.hostMemoryMiB !== undefined) config.hostMemoryMiB = c.number(top.hostMemoryMiB, 'hostMemoryMiB', 1, 1 << 20);
    if (top.clock !== undefined) config.clock = c.oneOf(top.clock, 'clock', ['instructions', 'wall'] as const);
    if (top.sliceInstructions !== undefined) config.sliceInstructions = c.number(top.sliceInstructions, 'sliceInstructions', 100, 1e9);
    if (!Array.isArray(top.vms) || top.vms.length === 0) c.bad('vms', `must be a non-empty list of VMs (got ${show(top.vms)})`);
    else top.vms.forEach((v, i) => { const vm = parseVm(c, v, `vms[${i}]`, baseDir); if (vm) config.vms.push(vm); });
    const seen = new Set<string>();
    config.vms.forEach((vm, i) => {
      if (seen.has(vm.name)) c.bad(`vms[${i}].name`, `"${vm.name}" is used by an earlier VM; names must be unique`);
      seen.add(vm.name);
    });
  }
  if (c.problems.length) throw new TrapezeError(`invalid config:\n  ${c.problems.join('\n  ')}`);
  return config;
}

function parseVm(c: Checker, raw: unknown, path: string, baseDir: string): VmConfig | undefined {
  const o = c.object(raw, path, VM_FIELDS);
  if (!o) return undefined;
  const name = c.string(o.name, `${path}.name`);
  if (name !== undefined && !NAME.test(name)) c.bad(`${path}.name`, `must be 1-32 letters, digits, "_", "." or "-" (got ${show(name)})`);
  const kernel = c.string(o.kernel, `${path}.kernel`);
  const vm: VmConfig = {
    name: name ?? '',
    kernel: kernel ? host().files.resolve(kernel, baseDir) : '',
    memoryMiB: o.memoryMiB === undefined ? 32 : c.number(o.memoryMiB, `${path}.memoryMiB`, 2, 2048) ?? 0,
    vcpus: o.vcpus === undefined ? 1 : c.number(o.vcpus, `${path}.vcpus`, 1, 16) ?? 0,
    shares: o.shares === undefined ? 1 : c.number(o.shares, `${path}.shares`, 1, 10000) ?? 0,
    disks: [],
  };
  if (o.cmdline !== undefined) vm.cmdline = typeof o.cmdline === 'string' ? o.cmdline : c.bad(`${path}.cmdline`, `must be a string (got ${show(o.cmdline)})`);
  if (o.capPercent !== undefined) vm.capPercent = c.number(o.capPercent, `${path}.capPercent`, 1, 100, false);
  if (o.sliceInstructions !== undefined) vm.sliceInstructions = c.number(o.sliceInstructions, `${path}.sliceInstructions`, 100, 1e9);
  if (o.disk !== undefined) { const d = c.string(o.disk, `${path}.disk`); if (d) vm.disk = host().files.resolve(d, baseDir); }
  if (o.disks !== undefined) {
    if (!Array.isArray(o.disks)) c.bad(`${path}.disks`, `must be a list (got ${show(o.disks)})`);
    else o.disks.forEach((d, i) => { const disk = parseDisk(c, d, `${path}.disks[${i}]`, baseDir); if (disk) vm.disks.push(disk); });
  }
  if (o.policy !== undefined) vm.policy = parsePolicy(c, o.policy, `${path}.policy`);
  return vm;
}

function parseDisk(c: Checker, raw: unknown, path: string, baseDir: string): DiskConfig | undefined {
  const o = c.object(raw, path, DISK_FIELDS);
  if (!o) return undefined;
  const file = c.string(o.file, `${path}.file`);
  const d: DiskConfig = { file: file ? host().files.resolve(file, baseDir) : '' };
  if (o.capacityMiB !== undefined) d.capacityMiB = c.number(o.capacityMiB, `${path}.capacityMiB`, 1 / 1024, 1 << 20, false);
  if (o.sizeMiB !== undefined) d.sizeMiB = c.number(o.sizeMiB, `${path}.sizeMiB`, 1 / 1024, 1 << 20, false);
  if (o.readOnly !== undefined) d.readOnly = typeof o.readOnly === 'boolean' ? o.readOnly : c.bad(`${path}.readOnly`, `must be true or false (got ${show(o.readOnly)})`);
  if (o.overlay !== undefined) { const f = c.string(o.overlay, `${path}.overlay`); if (f) d.overlay = host().files.resolve(f, baseDir); }
  if (o.bandwidthBytesPerSec !== undefined) d.bandwidthBytesPerSec = c.number(o.bandwidthBytesPerSec, `${path}.bandwidthBytesPerSec`, 1, 1e12);
  if (o.opsPerSec !== undefined) d.opsPerSec = c.number(o.opsPerSec, `${path}.opsPerSec`, 1, 1e9);
  if (o.bandwidth !== undefined) d.bandwidth = parseBucket(c, o.bandwidth, `${path}.bandwidth`);
  if (o.ops !== undefined) d.ops = parseBucket(c, o.ops, `${path}.ops`);
  if (d.bandwidth && d.bandwidthBytesPerSec !== undefined) c.bad(`${path}.bandwidthBytesPerSec`, 'give either bandwidthBytesPerSec or bandwidth, not both');
  if (d.ops && d.opsPerSec !== undefined) c.bad(`${path}.opsPerSec`, 'give either opsPerSec or ops, not both');
  return d;
}

function parseBucket(c: Checker, raw: unknown, path: string): BucketSpec | undefined {
  const o = c.object(raw, path, BUCKET_FIELDS);
  if (!o) return undefined;
  const size = c.number(o.size, `${path}.size`, 1, 1e12);
  const refill = c.number(o.refillTimeMs, `${path}.refillTimeMs`, 1, 1e9);
  const burst = o.oneTimeBurst === undefined ? 0 : c.number(o.oneTimeBurst, `${path}.oneTimeBurst`, 0, 1e12);
  if (size === undefined || refill === undefined || burst === undefined) return undefined;
  return { size, refillTimeMs: refill, oneTimeBurst: burst };
}

function parsePolicy(c: Checker, raw: unknown, path: string): PolicySpec | undefined {
  const o = c.object(raw, path, POLICY_FIELDS);
  if (!o) return undefined;
  const p: PolicySpec = {};
  if (o.ioPorts !== undefined) p.ioPorts = c.ranges(o.ioPorts, `${path}.ioPorts`, 0xffff);
  if (o.mmio !== undefined) p.mmio = c.ranges(o.mmio, `${path}.mmio`, 0xffffffff);
  if (o.msrs !== undefined) p.msrs = c.ranges(o.msrs, `${path}.msrs`, 0xffffffff);
  if (o.maxInstructions !== undefined) p.maxInstructions = c.number(o.maxInstructions, `${path}.maxInstructions`, 1, Number.MAX_SAFE_INTEGER);
  if (o.onViolation !== undefined) p.onViolation = c.oneOf<ViolationAction>(o.onViolation, `${path}.onViolation`, VIOLATION_ACTIONS);
  if (o.cpuid !== undefined) {
    if (!Array.isArray(o.cpuid)) c.bad(`${path}.cpuid`, `must be a list of {leaf, and?, set?} (got ${show(o.cpuid)})`);
    else p.cpuid = o.cpuid.map((r, i) => parseCpuid(c, r, `${path}.cpuid[${i}]`)).filter((r): r is CpuidRule => !!r);
  }
  return p;
}

function parseCpuid(c: Checker, raw: unknown, path: string): CpuidRule | undefined {
  const o = c.object(raw, path, CPUID_FIELDS);
  if (!o) return undefined;
  const leaf = c.address(o.leaf, `${path}.leaf`, 0xffffffff);
  const rule: CpuidRule = { leaf: leaf ?? 0 };
  for (const key of ['and', 'set'] as const) {
    if (o[key] === undefined) continue;
    const regs = c.object(o[key], `${path}.${key}`, REGS);
    if (!regs) continue;
    const out: Partial<Record<(typeof REGS)[number], number>> = {};
    for (const r of REGS) if (regs[r] !== undefined) out[r] = c.address(regs[r], `${path}.${key}.${r}`, 0xffffffff);
    rule[key] = out;
  }
  return rule;
}

/**
 * Check the files a validated config names, before anything is opened or
 * created: kernels, boot disks, read-only disks and overlays' bases exist;
 * no file written by one disk is used by another (a disk file or overlay
 * is one VM's alone unless every user opens it read-only); the VMs fit the
 * host memory budget together. Returns the files that opening will create,
 * so a failure later can remove them again.
 */
export function checkConfigFiles(config: HypervisorConfig): string[] {
  const problems: string[] = [];
  const isFile = (f: string) => host().files.isFile(f);
  const created: string[] = [];
  const users = new Map<string, { where: string; write: boolean }[]>();
  const use = (file: string, where: string, write: boolean) => {
    const key = host().files.canonical(file); // not there yet: its own name
    const list = users.get(key) ?? [];
    list.push({ where, write });
    users.set(key, list);
  };
  config.vms.forEach((vm, i) => {
    const at = `vms[${i}]`;
    if (vm.kernel && !isFile(vm.kernel)) problems.push(`${at}.kernel: ${vm.kernel}: no such file`);
    if (vm.disk) {
      if (!isFile(vm.disk)) problems.push(`${at}.disk: ${vm.disk}: no such disk image`);
      use(vm.disk, `${at}.disk`, true);
    }
    vm.disks.forEach((d, j) => {
      const where = `${at}.disks[${j}]`;
      const mustExist = d.overlay !== undefined || d.readOnly;
      if (!isFile(d.file)) {
        if (mustExist) problems.push(`${where}.file: ${d.file}: no such disk image${d.overlay ? ' (the base of an overlay must exist)' : ''}`);
        else created.push(d.file);
      }
      use(d.file, `${where}.file`, !d.overlay && !d.readOnly);
      if (d.overlay) {
        if (!isFile(d.overlay)) created.push(d.overlay);
        use(d.overlay, `${where}.overlay`, true);
      }
    });
  });
  for (const [file, list] of users) {
    if (list.length > 1 && list.some((u) => u.write)) {
      problems.push(`${list.map((u) => u.where).join(' and ')}: all name ${file}, written by ${list.filter((u) => u.write).map((u) => u.where).join(', ')}; a disk file written by one VM cannot be shared (give each VM an overlay, or make them all readOnly)`);
    }
  }
  const total = config.vms.reduce((n, vm) => n + vm.memoryMiB, 0);
  if (config.hostMemoryMiB !== undefined && total > config.hostMemoryMiB) {
    problems.push(`hostMemoryMiB: the VMs need ${total} MiB together, more than the host budget of ${config.hostMemoryMiB} MiB`);
  }
  if (problems.length) throw new TrapezeError(`invalid config:\n  ${problems.join('\n  ')}`);
  return [...new Set(created)];
}

/** Read and validate a config file; file names in it are relative to its directory. */
export function loadConfigFile(path: string): HypervisorConfig {
  const text = new TextDecoder().decode(host().files.read(path, 'a config file'));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TrapezeError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, host().files.dirname(host().files.resolve(path)));
}
