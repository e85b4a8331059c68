// The command line's edges: a closed stdout, --version, help, and bad paths
// refused before any work is done.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve('bin/trapeze.js');
const trapeze = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

/** Run trapeze with its stdout read until the first chunk, then closed (as `| head -1` does). */
function closeAfterFirstOutput(...args: string[]): Promise<{ status: number | null; stderr: string; first: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', first = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.stdout.once('data', (d) => { first = String(d); p.stdout.destroy(); });
    p.on('close', (status) => done({ status, stderr, first }));
  });
}

describe('a closed stdout', () => {
  it('ends run and trace quietly with status 141, as SIGPIPE would', async () => {
    // spin prints a line every 100,000 iterations, forever: only the closed stdout can end it
    for (const args of [['run', 'guest-images/spin.elf', '--cmdline', 'report=100000'], ['trace', 'guest-images/spin.elf']]) {
      const r = await closeAfterFirstOutput(...args);
      expect(r.first.length, args[0]).toBeGreaterThan(0);
      expect(r.stderr, args[0]).toBe('');
      expect(r.status, args[0]).toBe(141);
    }
  });
});

describe('--version and help', () => {
  it('--version prints the package version; no arguments prints the help on stdout with status 0', () => {
    const v = trapeze('--version');
    expect(v.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
    expect(v.status).toBe(0);
    const h = trapeze();
    expect(h.stdout).toMatch(/^Usage: trapeze \[options\] \[command\]/);
    expect(h.stdout).toContain('run [options] [image]');
    expect(h.stderr).toBe('');
    expect(h.status).toBe(0);
  });

  it('"nothing to run" names every way to give something', () => {
    const r = trapeze('run');
    expect(r.stderr).toBe('trapeze: nothing to run: give a multiboot image, --kernel <bzImage>, --disk <image> or --config <file> (trapeze run --help)\n');
    expect(r.status).toBe(2);
  });
});

describe('bad paths are refused before the work', () => {
  it('bench --json and --html into a missing folder, run --stats-json, --initrd a directory', () => {
    const bench = trapeze('bench', '--quick', '--json', '/nonexistent/x.json');
    expect(bench.stderr).toBe('trapeze: --json /nonexistent/x.json: cannot write there (/nonexistent is not a writable folder)\n');
    expect(bench.stdout).toBe(''); // no benchmark ran
    expect(bench.status).toBe(2);
    expect(trapeze('bench', '--quick', '--html', '/tmp').stderr).toBe('trapeze: --html /tmp: is a directory\n');
    const stats = trapeze('run', '--config', 'guest-images/vms.json', '--seconds', '1', '--stats-json', '/nonexistent/s.json');
    expect(stats.stderr).toBe('trapeze: --stats-json /nonexistent/s.json: cannot write there (/nonexistent is not a writable folder)\n');
    expect(stats.stdout).toBe('');
    expect(stats.status).toBe(2);
    const initrd = trapeze('run', '--kernel', 'guest-images/hello.elf', '--initrd', '/tmp');
    expect(initrd.stderr).toBe('trapeze: /tmp: is a directory, not an initial ramdisk\n');
    expect(initrd.status).toBe(2);
  });
});

const HAVE_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!HAVE_SCRIPT) console.warn('!!! SKIPPED: the terminal status-line test: util-linux `script` (a pseudo-terminal) is not installed');

describe('the status line of run', () => {
  // two seconds of wall time whatever the host's speed: the line waits a second before its first draw
  const args = ['run', 'guest-images/compute.elf', '--cmdline', 'iterations=1000000000', '--timeout', '2'];

  it.skipIf(!HAVE_SCRIPT)('on a terminal: instructions, MIPS and exits, redrawn in place, cleared before the end', async () => {
    // script(1) gives trapeze a pseudo-terminal; its stdin stays open until the run ends
    const p = spawn('script', ['-qfec', [process.execPath, BIN, ...args].join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    await new Promise((r) => p.on('close', r));
    const lines = [...out.matchAll(/\r\x1b\[Ktrapeze: ([\d.]+[kMG]?) instructions, ([\d.]+) MIPS, (\d+(?:\.\d)?[kMG]?) exits, ([\d.]+) s/g)];
    expect(lines.length).toBeGreaterThan(0);
    expect(out).toMatch(/ s\r\x1b\[Ktrapeze: timeout after 2000 ms/); // cleared, then the end
  });

  it('off when the output is not a terminal', () => {
    const r = trapeze(...args.slice(0, -1), '1.5');
    expect(r.stderr).toBe('trapeze: timeout after 1500 ms\n');
    expect(r.status).toBe(8);
  });
});

describe('typing into a guest on a terminal', () => {
  it.skipIf(!HAVE_SCRIPT)('each typed line appears once: the guest echoes it, the terminal does not', async () => {
    const disk = join(mkdtempSync(join(tmpdir(), 'trapeze-tty-')), 'pcshell.img');
    copyFileSync('guest-images/pcshell.img', disk);
    const p = spawn('script', ['-qfec', [process.execPath, BIN, 'run', '--disk', disk, '--snapshot'].join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const waitFor = (text: string) => new Promise<void>((r) => { const check = () => { if (out.includes(text)) { p.stdout.off('data', check); r(); } }; p.stdout.on('data', check); check(); });
    p.stdout.on('data', (d) => { out += d; });
    await waitFor('pcshell: ready');
    p.stdin.write('echo typed once\n');
    await waitFor('\r\ntyped once');
    p.stdin.write('exit\n');
    await waitFor('PASS');
    p.stdin.end();
    await new Promise((r) => p.on('close', r));
    expect(out.split('echo typed once').length - 1).toBe(1);
    expect(out.split('exit').length - 1).toBe(1);
  });
});
