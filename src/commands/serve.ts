// `trapeze serve [--port N]`: the playground page (dist/web/, built by
// `npm run build`) over HTTP on this machine. The headers isolate the page
// (COOP/COEP), so its worker may block on Atomics.wait and the clock is fine.
import type { Command } from 'commander';
import { TrapezeError } from '../errors.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the playground page (a guest, its exits, vCPU, shadow page table and scheduler, live in the browser)')
    .option('--port <n>', 'TCP port (0: any free one)', parsePort, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      const { servePlayground } = await import('../host/node/serve.js');
      const { url } = await servePlayground(opts.port, opts.host);
      process.stdout.write(`trapeze: the playground is at ${url} (Ctrl-C stops)\n`);
    });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TrapezeError(`--port must be a whole number from 0 to 65535 (got "${v}")`);
  return n;
}
