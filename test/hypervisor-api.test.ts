// The control API over its Unix socket (in process, and through `trapeze ctl`
// against a running `trapeze run --config --api`), and `trapeze run --config`
// itself: prefixed consoles, --stats-json, and bad input.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { ApiServer, apiRequest } from '../src/host/node/api.js';
import { spinVm, SPIN } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = resolve('bin/trapeze.js');
const trapeze = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}
const twoVms = {
  vms: [
    { name: 'a', kernel: resolve(SPIN), cmdline: 'report=500000', memoryMiB: 4, shares: 1 },
    { name: 'b', kernel: resolve(SPIN), cmdline: 'report=500000', memoryMiB: 4, shares: 3, capPercent: 50 },
  ],
};

describe('control API (in process)', () => {
  it('lists, reports, pauses, resumes, snapshots and stops VMs, and answers errors Firecracker-style', async () => {
    const hv = Hypervisor.fromConfig({ vms: [spinVm('a'), spinVm('b')] });
    const socket = join(dir, 'api.sock');
    const api = new ApiServer(hv, socket);
    await api.listen();
    hv.start();
    const stop = new AbortController();
    const running = hv.runAsync({ signal: stop.signal, quantumMs: 5 });
    try {
      expect(await apiRequest(socket, 'GET', '/vms')).toEqual({ status: 200, body: [{ name: 'a', state: 'running' }, { name: 'b', state: 'running' }] });
      expect(await apiRequest(socket, 'PATCH', '/vms/a', { state: 'Paused' })).toEqual({ status: 200, body: { name: 'a', state: 'paused' } });
      const paused = (await apiRequest(socket, 'GET', '/vms/a')).body as { state: string; instructions: number };
      expect(paused.state).toBe('paused');
      await new Promise((r) => setTimeout(r, 50));
      expect(((await apiRequest(socket, 'GET', '/vms/a')).body as { instructions: number }).instructions).toBe(paused.instructions);

      const snap = join(dir, 'a.snap');
      expect(await apiRequest(socket, 'PUT', '/vms/a/snapshot', { snapshot_path: snap })).toEqual({ status: 200, body: { name: 'a', snapshot_path: snap } });
      expect(existsSync(snap)).toBe(true);
      expect(await apiRequest(socket, 'PUT', '/vms/b/snapshot', { snapshot_path: snap })).toEqual({ status: 400, body: { fault_message: 'cannot snapshot VM b: it is running (pause it first)' } });

      expect(await apiRequest(socket, 'PATCH', '/vms/a', { state: 'Paused' })).toEqual({ status: 400, body: { fault_message: 'cannot pause VM a: it is paused (pause needs running)' } });
      expect((await apiRequest(socket, 'PATCH', '/vms/a', { state: 'Resumed' })).status).toBe(200);
      expect((await apiRequest(socket, 'PATCH', '/vms/zz', { state: 'Paused' })).status).toBe(404);
      expect((await apiRequest(socket, 'PATCH', '/vms/a', { state: 'Sleeping' })).body).toEqual({ fault_message: 'state must be "Paused", "Resumed" or "Stopped" (got "Sleeping")' });
      expect((await apiRequest(socket, 'DELETE', '/vms')).status).toBe(404);

      const stats = (await apiRequest(socket, 'GET', '/stats')).body as { jainIndex: number; vms: { name: string; instructions: number }[] };
      expect(stats.vms.map((v) => v.name)).toEqual(['a', 'b']);
      expect(stats.vms[1].instructions).toBeGreaterThan(0);
      expect((await apiRequest(socket, 'PATCH', '/vms/a', { state: 'Stopped' })).body).toEqual({ name: 'a', state: 'stopped' });
      expect((await apiRequest(socket, 'PATCH', '/vms/b', { state: 'Stopped' })).body).toEqual({ name: 'b', state: 'stopped' });
      await running; // every VM stopped: the run ends by itself
    } finally {
      stop.abort();
      await running;
      await api.close();
      hv.close();
    }
  });
});

describe('trapeze run --config and trapeze ctl', () => {
  it('runs VMs together with prefixed consoles and writes --stats-json', () => {
    const config = writeConfig('two.json', twoVms);
    const stats = join(dir, 'stats.json');
    const r = trapeze('run', '--config', config, '--seconds', '1.5', '--stats-json', stats);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(8); // both VMs still running when --seconds ended the run
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('[a] spin 1 sum=89E23DBE');
    expect(lines).toContain('[b] spin 1 sum=89E23DBE');
    // every line is a spin report; the last of each VM may be cut short where --seconds ended the run
    const last = (vm: string) => lines.map((l) => l.startsWith(`[${vm}] `)).lastIndexOf(true);
    expect(lines.filter((l, i) => !/^\[(a|b)\] spin \d+ sum=[0-9A-F]{8}$/.test(l) && !(i === last(l[1]) && /^\[(a|b)\] [ -~]*$/.test(l)))).toEqual([]);
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    expect(s.clock).toBe('instructions');
    expect(s.jainIndex).toBeGreaterThan(0.95);
    for (const v of s.vms) {
      expect(Object.keys(v)).toEqual(expect.arrayContaining(['instructions', 'cpuReceived', 'shareEntitled', 'exits']));
      expect(v.instructions).toBeGreaterThan(1_000_000);
      expect(v.exits.io).toBeGreaterThan(0);
    }
    // b has 3 of 4 shares but a 50% cap: both get half
    expect(s.vms[1].shareEntitled).toBeCloseTo(0.5, 5);
  });

  it('--top prints a table per VM: state, shares, cap, entitled against received, rates, violations', () => {
    const config = writeConfig('top.json', twoVms);
    const r = trapeze('run', '--config', config, '--seconds', '1.5', '--top');
    expect(r.status).toBe(8);
    const tables = r.stderr.trim().split(/\n(?=VM )/);
    const last = tables[tables.length - 1].split('\n');
    expect(last[0].split(/ +/)).toEqual(['VM', 'STATE', 'SHARES', 'CAP', 'ENTITLED', 'RECEIVED', 'FAIRNESS', 'INSNS/S', 'EXITS/S', 'VIOLATIONS']);
    expect(last[1]).toMatch(/^a +running +1 +- +50\.0% +\d+\.\d% +\d\.\d{3} +[\d.]+[kMG]? +[\d.]+[kMG]? +0$/);
    expect(last[2]).toMatch(/^b +running +3 +50% +50\.0% +\d+\.\d% +\d\.\d{3} +[\d.]+[kMG]? +[\d.]+[kMG]? +0$/);
    expect(last[3]).toMatch(/^Jain's index [01]\.\d{4} +clock: instructions$/);
  });

  it('rejects a bad config with field paths and status 2, and config-only options without --config', () => {
    const bad = writeConfig('bad.json', { vms: [{ name: 'a', kernel: SPIN, memoryMiB: 'lots' }] });
    const r = trapeze('run', '--config', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('trapeze: invalid config:\n  vms[0].memoryMiB: must be a whole number (got "lots")\n');
    expect(trapeze('run', SPIN, '--top').stderr).toBe('trapeze: --top needs --config or --restore\n');
    expect(trapeze('run', '--config', join(dir, 'missing.json')).stderr).toBe(`trapeze: ${join(dir, 'missing.json')}: no such file\n`);
    expect(trapeze('ctl', join(dir, 'none.sock'), 'list').stderr).toMatch(/cannot connect \(ENOENT\)/);
  });

  it('refuses a socket path the kernel would cut short, and replaces a stale socket', async () => {
    const long = join(dir, 'x'.repeat(120) + '.sock');
    const r = trapeze('run', '--config', writeConfig('long.json', twoVms), '--api', long, '--seconds', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a socket path may have at most 107 bytes \(this one has \d+\)/);
    expect(trapeze('ctl', long, 'list').status).toBe(2);
    // a socket left by a process that died: nobody answers, so it is replaced
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(stale)).toBe(true);
    const hv = Hypervisor.fromConfig({ vms: [spinVm('a')] });
    const api = new ApiServer(hv, stale);
    await api.listen();
    expect((await apiRequest(stale, 'GET', '/vms')).status).toBe(200);
    await api.close();
    hv.close();
  });

  it('trapeze ctl drives a running trapeze run --config --api over its socket', async () => {
    const config = writeConfig('ctl.json', twoVms);
    const socket = join(dir, 'ctl.sock');
    const run = spawn(process.execPath, [BIN, 'run', '--config', config, '--api', socket, '--seconds', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => run.on('exit', (code) => r(code)));
    const ctl = (...args: string[]) => ctlIn(process.cwd(), ...args);
    const ctlIn = (cwd: string, ...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((r) => {
      const p = spawn(process.execPath, [BIN, 'ctl', socket, ...args], { cwd });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('exit', (status) => r({ status, stdout, stderr }));
    });
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
      expect(JSON.parse((await ctl('list')).stdout)).toEqual([{ name: 'a', state: 'running' }, { name: 'b', state: 'running' }]);
      expect(JSON.parse((await ctl('pause', 'a')).stdout)).toEqual({ name: 'a', state: 'paused' });
      expect(JSON.parse((await ctl('state', 'a')).stdout).state).toBe('paused');
      const snap = join(dir, 'ctl-a.snap');
      expect((await ctl('snapshot', 'a', '--path', snap)).status).toBe(0);
      expect(existsSync(snap)).toBe(true);
      const again = await ctl('pause', 'a');
      expect(again.status).toBe(2);
      expect(again.stderr).toBe('trapeze: cannot pause VM a: it is paused (pause needs running)\n');
      expect((await ctl('state')).stderr).toBe('trapeze: state needs a VM name\n');
      expect(JSON.parse((await ctl('stats')).stdout).vms).toHaveLength(2);

      // a second instance on the live socket is refused and the first stays reachable
      const second = trapeze('run', '--config', config, '--api', socket, '--seconds', '1');
      expect(second.status).toBe(2);
      expect(second.stderr).toBe(`trapeze: ${socket}: in use (another instance answers on it); give --api another path\n`);
      expect(JSON.parse((await ctl('list')).stdout)).toHaveLength(2);

      // --path is the caller's: relative to ctl's directory, whatever the server's is
      const here = join(dir, 'caller');
      mkdirSync(here);
      expect((await ctlIn(here, 'snapshot', 'a', '--path', 'rel.snap')).status).toBe(0);
      expect(existsSync(join(here, 'rel.snap'))).toBe(true);
      // an existing file is replaced only with --force, and then whole (written aside, renamed)
      writeFileSync(join(here, 'keep.json'), '{"precious": true}');
      const refused = await ctlIn(here, 'snapshot', 'a', '--path', 'keep.json');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/keep\.json: exists; not overwriting it/);
      expect(readFileSync(join(here, 'keep.json'), 'utf8')).toBe('{"precious": true}');
      expect((await ctlIn(here, 'snapshot', 'a', '--path', 'keep.json', '--force')).status).toBe(0);
      expect(readFileSync(join(here, 'keep.json')).subarray(0, 2)).toEqual(Buffer.of(0x1f, 0x8b)); // gzip
      expect(readdirSync(here).sort()).toEqual(['keep.json', 'rel.snap']); // no temporary left

      // restore: the snapshot becomes a new paused VM, which resume runs
      expect(JSON.parse((await ctlIn(here, 'restore', 'a2', '--path', 'rel.snap')).stdout)).toEqual({ name: 'a2', state: 'paused' });
      expect(JSON.parse((await ctl('resume', 'a2')).stdout)).toEqual({ name: 'a2', state: 'running' });
      expect((await ctl('restore', '--path', join(dir, 'nope.snap'))).stderr).toMatch(/nope\.snap: not a readable snapshot/);
      expect((await ctl('stop', 'a2')).status).toBe(0);
      expect((await ctl('stop', 'a')).status).toBe(0);
      expect((await ctl('stop', 'b')).status).toBe(0);
      expect(await exited).toBe(0); // nothing left to run: the run ends; VMs the host stopped count 0
      expect(out).toMatch(/^\[(a|b)\] spin 1 sum=89E23DBE$/m);
      expect(existsSync(socket)).toBe(false);
    } finally {
      run.kill();
    }
  }, 60_000);
});
