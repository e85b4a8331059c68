// The control API: HTTP + JSON on a local Unix socket, in the style of
// Firecracker's. Routes:
//   GET   /vms                     the VMs and their states
//   GET   /vms/{name}              one VM's state and stats
//   GET   /stats                   every VM's stats and the run's Jain index
//   PATCH /vms/{name}  {"state": "Paused" | "Resumed" | "Stopped"}
//   PUT   /vms/{name}/snapshot  {"snapshot_path": "/abs/file", "overwrite"?: true}   (the VM must be paused)
//   PUT   /snapshot/load  {"snapshot_path": "/abs/file", "name"?: "new-name"}   a new paused VM from a snapshot
// Errors answer 400 (or 404 for an unknown VM or route) with {"fault_message": "..."}.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { isAbsolute } from 'node:path';
import type { Hypervisor } from '../../hypervisor/hypervisor.js';
import { TrapezeError } from '../../errors.js';

const MAX_BODY = 64 * 1024;
/** The longest socket path the kernel keeps whole (sun_path less its NUL); longer ones would be cut short. */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

/** Refuse a socket path the kernel would silently truncate. */
export function checkSocketPath(path: string): void {
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH) throw new TrapezeError(`${path}: a socket path may have at most ${MAX_SOCKET_PATH} bytes (this one has ${n}); use a shorter or relative path`);
}

/** Whether something accepts connections on this socket (a live server), or it is stale. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.setTimeout(2000, () => { s.destroy(); resolve(true); }); // connected-but-silent is still alive
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export class ApiServer {
  private readonly server: Server;

  constructor(private readonly hv: Hypervisor, readonly socketPath: string) {
    this.server = createServer((req, res) => { void this.handle(req, res); });
  }

  /**
   * Listen on the socket. A socket file nobody answers on (left by a run that
   * crashed) is replaced; one that answers belongs to a live instance and is
   * refused, so that instance stays reachable.
   */
  async listen(): Promise<void> {
    checkSocketPath(this.socketPath);
    if (existsSync(this.socketPath)) {
      if (!lstatSync(this.socketPath).isSocket()) throw new TrapezeError(`${this.socketPath}: exists and is not a socket; refusing to replace it`);
      if (await answers(this.socketPath)) throw new TrapezeError(`${this.socketPath}: in use (another instance answers on it); give --api another path`);
      unlinkSync(this.socketPath);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (e) => reject(new TrapezeError(`${this.socketPath}: cannot listen (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
      this.server.listen(this.socketPath, () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const out = this.route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://localhost').pathname, body);
      send(res, out === undefined ? 204 : 200, out);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : e instanceof TrapezeError ? (/^no VM named/.test(e.message) ? 404 : 400) : 500;
      send(res, status, { fault_message: (e as Error).message });
    }
  }

  private route(method: string, path: string, body: unknown): unknown {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const hv = this.hv;
    if (method === 'GET' && path === '/vms') return [...hv.guests.values()].map((g) => ({ name: g.name, state: g.state }));
    if (method === 'GET' && path === '/stats') return hv.stats();
    if (parts[0] === 'vms' && parts.length === 2) {
      const g = hv.get(parts[1]);
      if (method === 'GET') return hv.stats().vms.find((v) => v.name === g.name);
      if (method === 'PATCH') {
        const state = field(body, 'state');
        if (state === 'Paused') hv.pause(g.name);
        else if (state === 'Resumed') hv.resume(g.name);
        else if (state === 'Stopped') hv.stop(g.name);
        else throw new HttpError(400, `state must be "Paused", "Resumed" or "Stopped" (got ${JSON.stringify(state)})`);
        return { name: g.name, state: g.state };
      }
    }
    if (parts[0] === 'vms' && parts.length === 3 && parts[2] === 'snapshot' && method === 'PUT') {
      const file = snapshotPath(body);
      const overwrite = field(body, 'overwrite');
      if (overwrite !== undefined && typeof overwrite !== 'boolean') throw new HttpError(400, `overwrite must be true or false (got ${JSON.stringify(overwrite)})`);
      hv.snapshot(parts[1], file, { overwrite: overwrite === true });
      return { name: parts[1], snapshot_path: file };
    }
    if (method === 'PUT' && path === '/snapshot/load') {
      const file = snapshotPath(body);
      const name = field(body, 'name');
      if (name !== undefined && typeof name !== 'string') throw new HttpError(400, `name must be a string (got ${JSON.stringify(name)})`);
      const g = hv.restore(file, name);
      return { name: g.name, state: g.state };
    }
    throw new HttpError(404, `no route for ${method} ${path}`);
  }
}

/** The snapshot file: absolute, since the server's directory is not the caller's. */
function snapshotPath(body: unknown): string {
  const file = field(body, 'snapshot_path');
  if (typeof file !== 'string' || !file) throw new HttpError(400, 'snapshot_path must be a file name');
  if (!isAbsolute(file)) throw new HttpError(400, `snapshot_path must be absolute (got "${file}"): a relative one would be taken from the server's directory, not yours`);
  return file;
}

function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, `expected a JSON object with "${name}"`);
  return (body as Record<string, unknown>)[name];
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new HttpError(400, 'request body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!size) { resolve(undefined); return; }
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { reject(new HttpError(400, 'request body is not valid JSON')); }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** One request to a control socket; resolves with the status and the parsed body. */
export function apiRequest(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  checkSocketPath(socketPath);
  return import('node:http').then(({ request }) => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = undefined;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', (e) => reject(new TrapezeError(`${socketPath}: cannot connect (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    req.end(payload);
  }));
}
