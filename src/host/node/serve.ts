// The playground's static files (dist/web/) over node:http: GET and HEAD only,
// paths kept inside the folder, types the browser needs for modules and wasm.
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrapezeError } from '../../errors.js';

const WEB = resolve(fileURLToPath(new URL('../../web/', import.meta.url)));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.map': 'application/json', '.md': 'text/markdown; charset=utf-8', '.png': 'image/png',
};

export async function servePlayground(port: number, host = '127.0.0.1', root = WEB): Promise<{ server: Server; url: string }> {
  try {
    if (!(await stat(join(root, 'index.html'))).isFile()) throw new Error();
  } catch {
    throw new TrapezeError(`${root}: the page is not built (run \`npm run build\`)`);
  }
  const server = createServer(async (req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, headers).end(); return; }
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) { res.writeHead(403, headers).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`${path}: not found\n`);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new TrapezeError(`cannot listen on ${host}:${port} (${e.code ?? e.message})`)));
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host}:${actual}/` };
}
