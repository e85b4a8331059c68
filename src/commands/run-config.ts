// `trapeze run --config vms.json`: every VM of the config runs at once under
// the hypervisor, each console line prefixed with its VM's name; optionally
// for --seconds, with the control API on --api, a live --top table, and the
// figures written to --stats-json at the end.
import { writeFileSync } from 'node:fs';
import { Hypervisor, type HypervisorStats } from '../hypervisor/hypervisor.js';
import { ApiServer } from '../hypervisor/api.js';
import { formatTop } from '../hypervisor/top.js';
import { TrapezeError } from '../errors.js';
import { ExitStatus } from '../vm/vm.js';

export interface RunConfigOptions {
  config: string;
  seconds?: number;
  statsJson?: string;
  api?: string;
  top?: boolean;
}

export async function runConfig(opts: RunConfigOptions): Promise<void> {
  const out = process.stdout, err = process.stderr;
  const hv = Hypervisor.fromConfig(opts.config, {
    console: (vm, line) => out.write(`[${vm}] ${line}\n`),
    log: (vm, message) => err.write(`trapeze: ${vm}: ${message}\n`),
  });
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
    if (opts.statsJson) {
      try {
        writeFileSync(opts.statsJson, JSON.stringify(stats, null, 2) + '\n');
      } catch (e) {
        throw new TrapezeError(`${opts.statsJson}: cannot write stats (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
    const crashed = stats.vms.some((v) => v.stop && (v.stop.kind === 'shutdown' || v.stop.kind === 'error'));
    process.exitCode = crashed ? ExitStatus.crash : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await api?.close();
    hv.close();
  }
}
