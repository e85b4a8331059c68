// `trapeze run --config vms.json` (or `--restore file.snap`): every VM runs at
// once under the hypervisor, each console line prefixed with its VM's name;
// optionally for --seconds, with the control API on --api, a live --top table,
// and the figures written to --stats-json at the end. The process's status is
// the highest of the VMs' (a VM still running when the run ends counts as a
// timeout, 8).
import { Hypervisor, type HypervisorStats, type VmStats } from '../hypervisor/hypervisor.js';
import { ApiServer, checkSocketPath } from '../host/node/api.js';
import { formatTop } from '../hypervisor/top.js';
import { ExitStatus, exitStatus } from './outcome.js';
import { checkOutputPath, writeOutput, writeStdout } from './output.js';

export interface RunConfigOptions {
  config?: string;
  restore?: string;
  seconds?: number;
  statsJson?: string;
  api?: string;
  top?: boolean;
}

/** A VM's share of the process status. */
export function vmStatus(v: VmStats): number {
  return v.stop ? exitStatus(v.stop) : ExitStatus.timeout; // still running or paused at the end
}

/** The status of a multi-VM run: the highest of its VMs'. */
export function runStatus(stats: HypervisorStats): number {
  return stats.vms.reduce((worst, v) => Math.max(worst, vmStatus(v)), 0);
}

export async function runConfig(opts: RunConfigOptions): Promise<void> {
  const err = process.stderr;
  if (opts.statsJson) checkOutputPath(opts.statsJson, '--stats-json');
  if (opts.api) checkSocketPath(opts.api);
  const hooks = {
    console: (vm: string, line: string) => writeStdout(`[${vm}] ${line}\n`),
    log: (vm: string, message: string) => err.write(`trapeze: ${vm}: ${message}\n`),
  };
  const progress = setupProgress();
  let hv: Hypervisor;
  if (opts.restore !== undefined) {
    hv = new Hypervisor(hooks);
    try {
      const g = hv.restore(opts.restore);
      hv.resume(g.name);
    } catch (e) {
      hv.close();
      throw e;
    }
  } else {
    hv = Hypervisor.fromConfig(opts.config!, { ...hooks, onCreate: progress.step });
  }
  progress.done(hv.guests.size);
  const api = opts.api ? new ApiServer(hv, opts.api) : undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await api?.listen();
    hv.start();
    let last: HypervisorStats | undefined;
    const startedAt = Date.now();
    let lastAt = startedAt;
    let drawn = 0;
    const top = () => {
      const now = Date.now();
      if (now - lastAt < 1000 && last) return;
      const stats = hv.stats();
      const table = formatTop(last, stats, Math.max(0.001, (now - lastAt) / 1000));
      // redraw in place on a terminal, one table after another otherwise
      if (drawn && err.isTTY) err.write(`\x1b[${drawn}A\x1b[J`);
      err.write(table + '\n');
      drawn = table.split('\n').length;
      last = stats;
      lastAt = now;
    };
    await hv.runAsync({ seconds: opts.seconds, signal: stop.signal, onQuantum: opts.top ? top : undefined });
    for (const g of hv.guests.values()) g.console.flush();
    if (opts.top) { last = undefined; lastAt = startedAt; top(); } // the whole run's rates
    const stats = hv.stats();
    if (opts.statsJson) writeOutput(opts.statsJson, JSON.stringify(stats, null, 2) + '\n', '--stats-json');
    process.exitCode = runStatus(stats);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await api?.close();
    hv.close();
  }
}

/**
 * Progress while a large config's VMs are created (a thousand take many
 * seconds): nothing for the first second, then a line redrawn in place on a
 * terminal, or a line every 5 s otherwise, and the total at the end.
 */
export function setupProgress(err: { isTTY?: boolean; write(s: string): unknown } = process.stderr, now: () => number = Date.now): { step: (i: number, total: number, name: string) => void; done: (n: number) => void } {
  const started = now();
  let lastAt = started, shown = false;
  return {
    step(i, total, name) {
      const t = now();
      if (t - started < 1000 || (shown && t - lastAt < (err.isTTY ? 100 : 5000))) return;
      lastAt = t;
      shown = true;
      const text = `trapeze: creating VM ${i + 1} of ${total} (${name})`;
      err.write(err.isTTY ? `\r\x1b[K${text}` : `${text}\n`);
    },
    done(n) {
      if (!shown) return;
      const s = ((now() - started) / 1000).toFixed(1);
      err.write(`${err.isTTY ? '\r\x1b[K' : ''}trapeze: ${n} VMs created in ${s} s\n`);
    },
  };
}
