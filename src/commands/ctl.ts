// `trapeze ctl <socket> <action> [vm]`: drive a running `trapeze run --config
// --api <socket>` over its control API, and print the JSON answer.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { TrapezeError } from '../errors.js';
import { ExitStatus } from './outcome.js';

/** vm: whether the action takes a VM name (true), may take one ('optional'), or takes none. */
const ACTIONS: Record<string, { vm: boolean | 'optional'; path?: boolean; request: (vm: string, path: string, force: boolean) => [string, string, unknown?] }> = {
  list: { vm: false, request: () => ['GET', '/vms'] },
  stats: { vm: false, request: () => ['GET', '/stats'] },
  state: { vm: true, request: (vm) => ['GET', `/vms/${encodeURIComponent(vm)}`] },
  pause: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Paused' }] },
  resume: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Resumed' }] },
  stop: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Stopped' }] },
  snapshot: { vm: true, path: true, request: (vm, path, force) => ['PUT', `/vms/${encodeURIComponent(vm)}/snapshot`, { snapshot_path: path, overwrite: force }] },
  // a new paused VM from a snapshot file ([vm] renames it); `resume` runs it
  restore: { vm: 'optional', path: true, request: (vm, path) => ['PUT', '/snapshot/load', { snapshot_path: path, ...(vm ? { name: vm } : {}) }] },
};

export function registerCtl(program: Command): void {
  program
    .command('ctl')
    .description(`control VMs run with \`trapeze run --config ... --api <socket>\` (actions: ${Object.keys(ACTIONS).join(', ')})`)
    .argument('<socket>', 'the control socket given to --api')
    .argument('<action>', Object.keys(ACTIONS).join(' | '))
    .argument('[vm]', 'the VM to act on')
    .option('--path <file>', 'snapshot file (for snapshot and restore), relative to this directory')
    .option('--force', 'snapshot: replace the file if it exists')
    .action(async (socket: string, action: string, vm: string | undefined, opts: { path?: string; force?: boolean }) => {
      const spec = ACTIONS[action];
      if (!spec) throw new TrapezeError(`unknown action "${action}" (actions: ${Object.keys(ACTIONS).join(', ')})`);
      if (spec.vm === true && !vm) throw new TrapezeError(`${action} needs a VM name`);
      if (!spec.vm && vm) throw new TrapezeError(`${action} takes no VM name`);
      if (spec.path && !opts.path) throw new TrapezeError(`${action} needs --path <file>`);
      if (!spec.path && opts.path !== undefined) throw new TrapezeError(`${action} takes no --path`);
      if (action !== 'snapshot' && opts.force) throw new TrapezeError('--force applies to snapshot only');
      // the server runs elsewhere: the file is named by its absolute path, taken from here
      const [method, path, body] = spec.request(vm ?? '', opts.path === undefined ? '' : resolve(opts.path), opts.force ?? false);
      const { apiRequest } = await import('../host/node/api.js');
      const res = await apiRequest(socket, method, path, body);
      if (res.status >= 400) {
        const fault = (res.body as { fault_message?: string } | undefined)?.fault_message ?? `HTTP ${res.status}`;
        process.stderr.write(`trapeze: ${fault}\n`);
        process.exitCode = ExitStatus.badInput;
        return;
      }
      process.stdout.write(JSON.stringify(res.body, null, 2) + '\n');
    });
}
