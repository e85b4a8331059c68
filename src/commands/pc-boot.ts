// How a PC boots, from the options `trapeze run` and `trapeze trace` share:
// sector 0 of a disk through the BIOS, a --bios ROM, a Linux bzImage by its
// boot protocol, or a multiboot kernel loaded after the firmware's set-up.
import type { Pc } from '../platform/pc.js';
import { TrapezeError } from '../errors.js';
import { bootLinux } from '../machine.js';
import { multibootModules } from './run-mode.js';

export type PcBoot = 'disk' | 'kernel' | 'bios' | 'linux';

export interface PcBootOptions {
  disk?: string[];
  boot?: string;
  bios?: string;
  snapshot?: boolean;
  /** Linux by its boot protocol. */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Multiboot: the command line and modules (file[,args]). */
  cmdline?: string;
  module?: string[];
}

/** The way to boot these options ask for; contradictions are refused. */
export function choosePcBoot(image: string | undefined, opts: PcBootOptions): PcBoot {
  const boot = opts.kernel !== undefined ? 'linux' : opts.boot ?? (opts.bios ? 'bios' : image !== undefined ? 'kernel' : 'disk');
  if (boot !== 'disk' && boot !== 'kernel' && boot !== 'bios' && boot !== 'linux') throw new TrapezeError(`--boot must be disk or kernel (got "${opts.boot}")`);
  if (boot === 'kernel' && image === undefined) throw new TrapezeError('--boot kernel needs a multiboot image');
  if (boot === 'disk' && image !== undefined) throw new TrapezeError('--boot disk boots from --disk: leave out the kernel image');
  if (opts.snapshot && !opts.disk?.length) throw new TrapezeError('--snapshot needs --disk');
  return boot;
}

export function bootPc(pc: Pc, boot: PcBoot, image: string | undefined, opts: PcBootOptions): void {
  if (boot === 'disk') pc.bootDisk();
  else if (boot === 'bios') pc.bootBios(opts.bios!);
  else if (boot === 'linux') bootLinux(pc, opts.kernel!, opts.initrd, opts.append ?? '');
  else pc.bootMultiboot(image!, opts.cmdline ?? '', multibootModules(opts));
}
