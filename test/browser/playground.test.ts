// `npm run test:browser`: the playground page in a real browser (Debian's
// chromium, driven by puppeteer-core). It serves dist/web/, boots hello and
// reads the console, boots pagestress and checks the shadow panel's counters
// against `trapeze run --stats` for the same guest, single-steps and checks
// the registers against `trapeze trace`, runs three VMs under shares, and
// leaves a screenshot in test-output/. Without a browser it says SKIPPED.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Browser, Page } from 'puppeteer-core';
import { servePlayground } from '../../src/host/node/serve.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = 'test-output';
const have = existsSync(CHROMIUM);
if (!have) console.log(`\n*** SKIPPED: npm run test:browser needs a browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM) ***\n`);

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/trapeze.js', ...args], { encoding: 'utf8' });
/** The page's first contentful paint, ms after navigation (waits for it). */
const firstPaint = () => new Promise<number>((resolve) => {
  new PerformanceObserver((list) => {
    const e = list.getEntriesByName('first-contentful-paint')[0];
    if (e) resolve(e.startTime);
  }).observe({ type: 'paint', buffered: true });
});
const text = (page: Page, sel: string) => page.$eval(sel, (e) => e.textContent ?? '');

describe.skipIf(!have)('the playground page in Chromium', () => {
  let server: Server, url: string, browser: Browser, page: Page, profile: string;
  const errors: string[] = [];

  beforeAll(async () => {
    ({ server, url } = await servePlayground(0, '127.0.0.1', join(process.cwd(), 'dist', 'web')));
    const puppeteer = (await import('puppeteer-core')).default;
    profile = mkdtempSync(join(tmpdir(), 'trapeze-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push((e as Error).message));
    await page.setViewport({ width: 1400, height: 1250 });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function boot(guest: string): Promise<void> {
    await page.$eval('#guest', (sel, g) => {
      const s = sel as HTMLSelectElement;
      s.value = [...s.options].find((o) => o.value.startsWith(`${g}|`))!.value;
      s.dispatchEvent(new Event('change'));
    }, guest);
    await page.waitForFunction((g) => document.getElementById('status')!.textContent!.startsWith(`${g}: paused`), {}, guest);
  }

  it('paints, and boots hello: the console shows what the CLI prints', async () => {
    await page.goto(`${url}?guest=hello.elf`);
    const paint = await page.evaluate(firstPaint);
    console.log(`first contentful paint: ${paint?.toFixed(0)} ms`);
    expect(paint).toBeGreaterThan(0);
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('hello.elf: paused'));
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('done'));
    const expected = cli('run', 'guest-images/hello.elf').stdout;
    expect(expected).toContain('Hello from a Trapeze guest!');
    expect(await text(page, '#serial')).toBe(expected);
    expect(await text(page, '#status')).toContain('debug-exit');
  });

  it('clicking an exit disassembles the instruction that caused it', async () => {
    const first = await page.$('#log tbody tr');
    const row = await first!.evaluate((r) => [...r.querySelectorAll('td')].map((td) => td.textContent));
    expect(row[1]).toBe('io out'); // the last exit: the write to the debug-exit port
    expect(row[2]).toBe('00f4');
    await first!.click();
    await page.waitForFunction(() => document.getElementById('disasm')!.textContent!.includes('exit #'), { timeout: 30_000 });
    expect(await text(page, '#disasm')).toMatch(/out 0xf4, al/);
    const hist = await page.$$eval('#hist tr', (rs) => rs.map((r) => r.getAttribute('data-reason')));
    expect(hist).toContain('io');
  });

  it('single-steps hello: EIP follows the instructions `trapeze trace` lists, and they change the registers', async () => {
    await boot('pagestress.elf');
    await boot('hello.elf');
    const trace = [...cli('trace', 'guest-images/hello.elf', '--count', '12').stdout.matchAll(/^insn\s+([0-9a-f]{8})\s+(.*)$/gm)].map((m) => ({ eip: m[1], insn: m[2] }));
    expect(trace.length).toBeGreaterThan(6);
    const reg = (n: string) => page.$eval(`[data-reg="${n}"]`, (e) => e.textContent!.split(' ').pop()!);
    expect(await reg('eip')).toBe(trace[0].eip);
    const esp: string[] = [];
    for (let i = 1; i <= 7; i++) {
      const before = await text(page, '#status');
      await page.click('#step');
      await page.waitForFunction((b) => document.getElementById('status')!.textContent !== b, {}, before);
      expect(await reg('eip')).toBe(trace[i].eip);
      esp.push(await reg('esp'));
    }
    // cli, cld, mov esp, 0x105000, two stores, then each call pushes a return address
    expect(trace[2].insn).toBe('mov esp, 0x105000');
    expect(trace[5].insn).toMatch(/^call /);
    expect(esp.slice(2, 7)).toEqual(['00105000', '00105000', '00105000', '00104ffc', '00104ff8']);
    const flags = await page.$$eval('#cpu .flags:first-of-type .bit.on', (bs) => bs.map((b) => b.textContent));
    expect(flags).not.toContain('IF');
    expect(flags).not.toContain('DF');
  });

  it('runs at the speed asked for: 100 instructions a second', async () => {
    await boot('compute.elf');
    await page.select('#speed', '100');
    await page.click('#run');
    await new Promise((r) => setTimeout(r, 1500));
    await page.click('#pause');
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('paused'));
    const done = Number(await page.$eval('#status', (e) => (e as HTMLElement).dataset.instructions));
    expect(done).toBeGreaterThan(30);
    expect(done).toBeLessThan(400);
    await page.select('#speed', '0');
  });

  it('boots pagestress: the shadow panel counts what `trapeze run --stats` counts', async () => {
    await boot('pagestress.elf');
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('done'), { timeout: 120_000 });
    const stats = cli('run', 'guest-images/pagestress.elf', '--stats').stderr;
    const want: Record<string, string> = {
      shadowFills: 'fills', guestWalks: 'guest walks', guestPageFaults: 'guest #PF', ptWriteTraps: 'PT-write traps',
      ptWriteDrops: 'entries dropped by PT writes', flushCr3: 'CR3', flushInvlpg: 'INVLPG', flushCr0Cr4: 'CR0/CR4', flushFull: 'full', globalsKept: 'global entries kept',
    };
    const shown = Object.fromEntries(await page.$$eval('[data-counter]', (cs) => cs.map((c) => [c.getAttribute('data-counter'), c.querySelector('b')!.textContent!.replace(/,/g, '')])));
    for (const [key, label] of Object.entries(want)) {
      const m = new RegExp(`(?:^|[ ,])${label.replace(/[/#]/g, '\\$&')}=(\\d+)`, 'm').exec(stats);
      expect(m, `--stats prints ${label}`).not.toBeNull();
      expect(`${key}=${shown[key]}`).toBe(`${key}=${m![1]}`);
    }
    expect(Number(shown.shadowFills)).toBeGreaterThan(1000);
    expect(await page.$$eval('#shadow tbody tr', (rs) => rs.length)).toBeGreaterThan(1);
    expect(await page.$$eval('#pd div', (ds) => ds.length)).toBeGreaterThan(0);
    expect(await text(page, '#serial')).toBe(cli('run', 'guest-images/pagestress.elf').stdout);
  });

  it('runs three VMs under shares 1:2:4 and charts received against entitled', async () => {
    await page.click('#shares');
    await page.waitForFunction(() => document.querySelectorAll('#chart rect.received').length === 4); // three VMs and the legend
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('shares:') && !/ 0M/.test(document.getElementById('status')!.textContent!));
    await new Promise((r) => setTimeout(r, 1500));
    await page.click('#pause');
    const got = await page.$$eval('#chart text.val', (ts) => ts.map((t) => t.textContent!).filter((t) => t.includes('got')));
    const shares = got.map((t) => Number(/([\d.]+)% got/.exec(t)![1]));
    expect(shares.length).toBe(3);
    // 1:2:4 of the core: 14.3%, 28.6%, 57.1%
    [100 / 7, 200 / 7, 400 / 7].forEach((want, i) => expect(Math.abs(shares[i] - want)).toBeLessThan(3));
    expect(Number(await page.$eval('#chart', (c) => (c as unknown as HTMLElement).dataset.jain))).toBeGreaterThan(0.99);
  });

  it('boots a disk image opened from a file on the PC, with its CGA screen', async () => {
    const input = await page.$('#file');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile('guest-images/pcboot.img');
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('pcboot.img: paused'));
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('done'), { timeout: 60_000 });
    expect(await text(page, '#serial')).toBe(cli('run', '--disk', 'guest-images/pcboot.img', '--snapshot').stdout);
    expect(await page.$eval('#screen', (e) => e.classList.contains('on'))).toBe(true);
    expect((await text(page, '#screen')).split('\n').length).toBe(25);
  });

  it('links each panel to its section of the docs, and the docs link back to the panels', async () => {
    const links = await page.$$eval('a.doc', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links.length).toBeGreaterThanOrEqual(6);
    const docs = await browser.newPage();
    for (const link of links) {
      await docs.goto(link);
      const id = decodeURIComponent(new URL(link).hash.slice(1));
      await docs.waitForFunction(() => !document.getElementById('doc')!.textContent!.startsWith('loading'));
      expect(await docs.$eval(`[id="${id}"]`, (h) => h.tagName), link).toMatch(/^H[1-4]$/);
    }
    await docs.goto(`${url}docs.html?f=mmu.md`);
    await docs.waitForFunction(() => !document.getElementById('doc')!.textContent!.startsWith('loading'));
    const back = await docs.$$eval('#doc a', (as) => as.map((a) => a.getAttribute('href')));
    expect(back).toContain('index.html?guest=pagestress.elf#p-shadow');
    await docs.close();
  });

  it('leaves a screenshot, and the page threw nothing', async () => {
    await boot('pagestress.elf');
    await page.click('#run');
    await new Promise((r) => setTimeout(r, 600));
    await page.click('#pause');
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'playground.png') });
    console.log(`screenshot: ${join(OUT, 'playground.png')}`);
    expect(errors).toEqual([]);
  });
});
