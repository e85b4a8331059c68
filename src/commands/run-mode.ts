// Which way `trapeze run` runs, decided from its options alone, before any of
// the modes' modules load: every VM of a config under the hypervisor, a PC, or
// a bare multiboot machine.
import { TrapezeError } from '../errors.js';

const CONFIG_ONLY = { seconds: '--seconds', statsJson: '--stats-json', api: '--api', top: '--top' } as const;

/** Whether `trapeze run` was given --config; rejects options that need the other mode. */
export function configMode(image: string | undefined, opts: Record<string, unknown>): boolean {
  if (opts.config === undefined) {
    for (const [k, flag] of Object.entries(CONFIG_ONLY)) if (opts[k] !== undefined) throw new TrapezeError(`${flag} needs --config`);
    return false;
  }
  if (image !== undefined || opts.kernel !== undefined) throw new TrapezeError('give either --config or an image, not both');
  return true;
}

/** Options that make `trapeze run` build a PC. */
const PC_FLAGS = ['disk', 'boot', 'bios', 'screen', 'debugcon', 'snapshot', 'clock', 'cpus'] as const;

export function pcMode(opts: Record<string, unknown>): boolean {
  return PC_FLAGS.some((k) => opts[k] !== undefined);
}

/** An option given more than once (--disk a --disk b). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
