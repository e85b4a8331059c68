#!/usr/bin/env node
// `npm run bench:web`: the playground page against the CLI on the compute
// guest. The page runs it in its worker in the slices it always uses (with
// exits logged and MMU events traced); the CLI runs `trapeze run --stats`.
// MIPS of each (median of --runs, alternating), their ratio, and the page's
// first contentful paint. Needs Chromium (CHROMIUM, default /usr/bin/chromium).
import '../dist/host/node/index.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { servePlayground } from '../dist/host/node/serve.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 5;
const guest = 'compute.elf';
if (!existsSync(CHROMIUM)) {
  console.log(`*** SKIPPED: bench:web needs a browser at ${CHROMIUM} ***`);
  process.exit(0);
}
/** The page's first contentful paint, ms after navigation (waits for it). */
const firstPaint = () => new Promise((resolve) => {
  new PerformanceObserver((list) => {
    const e = list.getEntriesByName('first-contentful-paint')[0];
    if (e) resolve(e.startTime);
  }).observe({ type: 'paint', buffered: true });
});
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

function cliMips() {
  const r = spawnSync(process.execPath, ['bin/trapeze.js', 'run', `guest-images/${guest}`, '--stats'], { encoding: 'utf8' });
  const m = /instructions retired: ([\d,]+) in ([\d.]+) ms/.exec(r.stderr);
  if (!m) throw new Error(`trapeze run --stats printed no figures:\n${r.stderr}`);
  return Number(m[1].replace(/,/g, '')) / Number(m[2]) / 1e3;
}

const { server, url } = await servePlayground(0);
const puppeteer = (await import('puppeteer-core')).default;
const profile = mkdtempSync(join(tmpdir(), 'trapeze-chromium-'));
const browser = await puppeteer.launch({
  executablePath: CHROMIUM, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
});
try {
  const paints = [], page_ = [], cli = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage(); // a fresh tab: its first paint is measured each time
    await page.goto(url);
    paints.push(await page.evaluate(firstPaint));
    await page.waitForFunction(() => typeof window.trapezeBench === 'function' && document.getElementById('status').textContent.includes(': paused'));
    const r = await page.evaluate((g) => window.trapezeBench(g), guest);
    page_.push(r.instructions / r.ms / 1e3);
    await page.close();
    cli.push(cliMips());
  }
  const version = await browser.version();
  console.log(`bench:web — ${guest}, ${runs} runs each, alternating; ${version}, Node ${process.versions.node} (V8 ${process.versions.v8})`);
  console.log(`  page (worker, exits logged, MMU traced): ${median(page_).toFixed(1)} MIPS  [${page_.map((x) => x.toFixed(1)).join(' ')}]`);
  console.log(`  CLI  (trapeze run --stats):              ${median(cli).toFixed(1)} MIPS  [${cli.map((x) => x.toFixed(1)).join(' ')}]`);
  console.log(`  page / CLI: ${(median(page_) / median(cli) * 100).toFixed(0)}%`);
  console.log(`  first contentful paint: ${median(paints).toFixed(0)} ms (median) [${paints.map((x) => x.toFixed(0)).join(' ')}]`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
