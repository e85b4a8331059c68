// Which way `trapeze run` runs, decided from its options alone, before any of
// the modes' modules load: every VM of a config under the hypervisor, a PC, or
// a bare multiboot machine.
import type { Command } from 'commander';
import { TrapezeError } from '../errors.js';

/** Options of `run` that a multi-VM run takes; the others are refused, with what to do instead. */
const MULTI_VM = new Set(['config', 'restore', 'seconds', 'statsJson', 'api', 'top']);
const INSTEAD: Record<string, string> = {
  timeout: 'use --seconds',
  maxInstructions: 'give a VM "policy": {"maxInstructions": n}',
  memory: 'give each VM "memoryMiB"',
  cmdline: 'give each VM "cmdline"',
  stats: 'use --stats-json or --top',
  snapshot: 'give each disk an "overlay": its file is then never written',
  disk: 'give each VM "disks"',
  kernel: 'give each VM "kernel"',
};
const SINGLE_ONLY = { seconds: '--seconds', statsJson: '--stats-json', api: '--api', top: '--top' } as const;

/**
 * Whether `trapeze run` runs many VMs (--config or --restore). Options given on
 * the command line that do not apply to that mode are refused, not ignored.
 */
export function configMode(image: string | undefined, opts: Record<string, unknown>, cmd?: Command): boolean {
  if (opts.config === undefined && opts.restore === undefined) {
    for (const [k, flag] of Object.entries(SINGLE_ONLY)) if (opts[k] !== undefined) throw new TrapezeError(`${flag} needs --config or --restore`);
    return false;
  }
  const mode = opts.config !== undefined ? '--config' : '--restore';
  if (opts.config !== undefined && opts.restore !== undefined) throw new TrapezeError('give either --config or --restore, not both');
  if (image !== undefined) throw new TrapezeError(`give either ${mode} or an image, not both`);
  for (const o of cmd?.options ?? []) {
    const key = o.attributeName();
    if (MULTI_VM.has(key) || cmd!.getOptionValueSource(key) !== 'cli') continue;
    const instead = INSTEAD[key];
    throw new TrapezeError(`${o.long} does not apply to ${mode}: ${mode === '--config' ? 'each VM\'s settings come from the config' : 'the VM is as its snapshot says'}${instead && mode === '--config' ? ` (${instead})` : ''}`);
  }
  return true;
}

/** Options that make `trapeze run` build a PC. */
const PC_FLAGS = ['disk', 'boot', 'bios', 'screen', 'debugcon', 'snapshot', 'clock', 'cpus', 'fwCfg', 'testdev'] as const;

export function pcMode(opts: Record<string, unknown>): boolean {
  return PC_FLAGS.some((k) => opts[k] !== undefined);
}

/** An option given more than once (--disk a --disk b). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The modules of a multiboot boot: --initrd first, as QEMU's -initrd, then each --module. */
export function multibootModules(opts: { initrd?: string; module?: string[] }): string[] {
  return [...(opts.initrd !== undefined ? [opts.initrd] : []), ...(opts.module ?? [])];
}
