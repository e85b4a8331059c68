// `trapeze ctl <socket> <action> [vm]`: drive a running `trapeze run --config
// --api <socket>` over its control API, and print the JSON answer.
import type { Command } from 'commander';
import { TrapezeError } from '../errors.js';
import { ExitStatus } from '../vm/vm.js';

const ACTIONS: Record<string, { vm: boolean; request: (vm: string, path?: string) => [string, string, unknown?] }> = {
  list: { vm: false, request: () => ['GET', '/vms'] },
  stats: { vm: false, request: () => ['GET', '/stats'] },
  state: { vm: true, request: (vm) => ['GET', `/vms/${encodeURIComponent(vm)}`] },
  pause: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Paused' }] },
  resume: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Resumed' }] },
  stop: { vm: true, request: (vm) => ['PATCH', `/vms/${encodeURIComponent(vm)}`, { state: 'Stopped' }] },
  snapshot: { vm: true, request: (vm, path) => ['PUT', `/vms/${encodeURIComponent(vm)}/snapshot`, { snapshot_path: path }] },
};

export function registerCtl(program: Command): void {
  program
    .command('ctl')
    .description(`control VMs run with \`trapeze run --config ... --api <socket>\` (actions: ${Object.keys(ACTIONS).join(', ')})`)
    .argument('<socket>', 'the control socket given to --api')
    .argument('<action>', Object.keys(ACTIONS).join(' | '))
    .argument('[vm]', 'the VM to act on')
    .option('--path <file>', 'snapshot file (for snapshot)')
    .action(async (socket: string, action: string, vm: string | undefined, opts: { path?: string }) => {
      const spec = ACTIONS[action];
      if (!spec) throw new TrapezeError(`unknown action "${action}" (actions: ${Object.keys(ACTIONS).join(', ')})`);
      if (spec.vm && !vm) throw new TrapezeError(`${action} needs a VM name`);
      if (!spec.vm && vm) throw new TrapezeError(`${action} takes no VM name`);
      if (action === 'snapshot' && !opts.path) throw new TrapezeError('snapshot needs --path <file>');
      const [method, path, body] = spec.request(vm ?? '', opts.path);
      const { apiRequest } = await import('../hypervisor/api.js');
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
