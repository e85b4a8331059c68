// The playground's pieces that run without a browser: the session the worker
// drives (on the browser host, with the page's files in memory), and
// `trapeze serve`. The page itself is checked in Chromium: npm run test:browser.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { Session, Shares } from '../src/playground/session.js';
import { browserHost } from '../src/host/browser.js';
import { installHost } from '../src/host/platform.js';
import { nodeHost } from '../src/host/node/index.js';
import { IMAGES } from './support/guest.js';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/trapeze.js', ...args], { encoding: 'utf8' });

describe('playground session on the browser host', () => {
  const page = browserHost({ core: readFileSync('build/core.wasm') });
  for (const g of ['hello.elf', 'pagestress.elf', 'vmexit.elf', 'spin.elf', 'pcboot.img']) page.files.add(g, readFileSync(`${IMAGES}${g}`));
  installHost(page);
  afterAll(() => installHost(nodeHost));

  it('runs hello in slices to the output and stop the CLI gives', () => {
    const s = new Session({ file: 'hello.elf' });
    while (!s.stop) s.run(20);
    expect(s.serial).toBe(cli('run', `${IMAGES}hello.elf`).stdout);
    expect(s.stop!.kind).toBe('debug-exit');
    const last = s.log[s.log.length - 1];
    expect(last).toMatchObject({ reason: 'io', dir: 'out', where: 0xf4 });
    expect(s.exitCounts().io.count).toBe(s.log.filter((e) => e.reason === 'io').length);
  });

  it('counts what --stats counts for pagestress, and its shadow view holds the live fills', () => {
    const s = new Session({ file: 'pagestress.elf' });
    while (!s.stop) s.run(50);
    const stats = cli('run', `${IMAGES}pagestress.elf`, '--stats').stderr;
    const c = s.counters();
    expect(stats).toContain(`fills=${c.shadowFills}, guest walks=${c.guestWalks}, guest #PF=${c.guestPageFaults}, PT-write traps=${c.ptWriteTraps}, entries dropped by PT writes=${c.ptWriteDrops}`);
    expect(stats).toContain(`CR3=${c.flushCr3}, INVLPG=${c.flushInvlpg}, CR0/CR4=${c.flushCr0Cr4}, full=${c.flushFull}`);
    expect(s.shadow.size).toBeGreaterThan(0);
    // every shadow entry left maps its page where the guest's tables say now
    for (const row of s.shadow.values()) expect((s.guestPte(row.lin) & ~0xfff) >>> 0).toBe(row.shadow.phys);
  });

  it('single-steps one instruction at a time', () => {
    const s = new Session({ file: 'hello.elf' });
    const eips = [s.cpu().eip];
    for (let i = 0; i < 3; i++) { expect(s.step()).toBe(1); eips.push(s.cpu().eip); }
    expect(eips.map((e) => e.toString(16))).toEqual(['100020', '100021', '100022', '100027']);
    expect(s.cpu().gprs.esp).toBe(0x105000);
  });

  it('boots a disk image on the PC, with a screen', () => {
    const s = new Session({ file: 'pcboot.img' });
    while (!s.stop && s.cpu().instructions < 5e6) s.run(20);
    expect(s.stop?.kind).toBe('debug-exit');
    expect(s.serial).toBe(cli('run', '--disk', `${IMAGES}pcboot.img`, '--snapshot').stdout); // COM1 and the debug console, as the CLI prints them
    expect(s.screen()!.length).toBe(25);
  });

  it('shares the core 1:2:4 among three VMs', () => {
    const sh = new Shares([1, 2, 4].map((n, i) => ({ name: `v${i}`, file: 'spin.elf', cmdline: '', shares: n })));
    for (let i = 0; i < 10; i++) sh.run(30);
    const v = sh.view();
    const total = v.vms.reduce((n, x) => n + x.received, 0);
    v.vms.forEach((x, i) => expect(Math.abs(x.received / total - [1, 2, 4][i] / 7)).toBeLessThan(0.02));
    expect(v.jain).toBeGreaterThan(0.99);
  });

  it('tells a disk image from a multiboot kernel by content, not by name', () => {
    page.files.add('my-disk', readFileSync(`${IMAGES}pcboot.img`));
    page.files.add('kernel.img', readFileSync(`${IMAGES}hello.elf`));
    expect(new Session({ file: 'my-disk' }).pc).toBeDefined();
    expect(new Session({ file: 'kernel.img' }).pc).toBeUndefined();
  });

  it('names a file the page has not loaded', () => {
    expect(() => new Session({ file: 'nope.elf' })).toThrow('nope.elf: no such file (load it on the page first)');
  });
});

describe('trapeze serve', () => {
  it('serves the page and its wasm, and nothing outside dist/web', async () => {
    const child = spawn(process.execPath, ['bin/trapeze.js', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((ok, fail) => {
        child.stdout.on('data', (d: Buffer) => { const m = /(http:\S+)/.exec(String(d)); if (m) ok(m[1]); });
        child.on('exit', (code) => fail(new Error(`serve exited ${code}`)));
      });
      const index = await fetch(url);
      expect(index.status).toBe(200);
      expect(await index.text()).toContain('Trapeze');
      expect(index.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      const wasm = await fetch(`${url}core.wasm`);
      expect(wasm.headers.get('content-type')).toBe('application/wasm');
      expect(new Uint8Array(await wasm.arrayBuffer()).length).toBe(readFileSync('build/core.wasm').length);
      expect((await fetch(`${url}nothing-here.js`)).status).toBe(404);
      expect((await fetch(`${url}..%2f..%2fpackage.json`)).status).toBe(403);
    } finally {
      child.kill();
    }
  });

  it('refuses a bad port with a one-line error and status 2', () => {
    const r = cli('serve', '--port', '70000');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('trapeze: --port must be a whole number from 0 to 65535 (got "70000")\n');
  });
});
