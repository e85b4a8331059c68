// `trapeze run --config` and `--restore` from the command line: the shipped
// example runs, nothing is created before a config is valid, disks written by
// one VM are not shared, options that do not apply are refused, and the
// process status is the highest of the VMs'.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { RawFileDisk } from '../src/host/node/raw-file.js';
import { setupProgress } from '../src/commands/run-config.js';
import { spinVm, SPIN } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-runcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = resolve('bin/trapeze.js');
const trapeze = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const HELLO = resolve('guest-images/hello.elf');

function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('trapeze run --config', () => {
  it('runs the shipped guest-images/vms.json (the README\'s example) where it lies, creating only its own disks', () => {
    const ex = join(dir, 'example');
    mkdirSync(ex);
    for (const f of ['vms.json', 'spin.elf', 'pcshell.img']) copyFileSync(join('guest-images', f), join(ex, f));
    const r = trapeze('run', '--config', join(ex, 'vms.json'), '--seconds', '1', '--top');
    expect(r.stderr).toMatch(/^batch +running +1 +- +16\.7%/m);
    expect(r.stderr).toMatch(/^web +running +4 +50% +50\.0%/m);
    expect(r.stderr).toMatch(/^db +running +2 +- +33\.3%/m);
    expect(r.status).toBe(8); // all three still running when --seconds ended the run
    expect(existsSync(join(ex, 'web-data.img'))).toBe(true);
    expect(existsSync(join(ex, 'db.cow'))).toBe(true);
    expect(readFileSync(join(ex, 'pcshell.img'))).toEqual(readFileSync('guest-images/pcshell.img')); // the overlay's base
  });

  it('the README and docs/hypervisor.md show guest-images/vms.json as it is', () => {
    const shipped = JSON.parse(readFileSync('guest-images/vms.json', 'utf8'));
    const firstJson = (file: string) => JSON.parse(/```json\n([^]*?)```/.exec(readFileSync(file, 'utf8'))![1]);
    expect(firstJson('docs/hypervisor.md')).toEqual(shipped);
    const { sliceInstructions: _, ...rest } = shipped;
    const bare = { ...rest, vms: shipped.vms.map(({ cmdline: _c, ...vm }: Record<string, unknown>) => vm) };
    expect(firstJson('README.md')).toEqual(bare);
  });

  it('creates no file before the whole config is valid', () => {
    const config = writeConfig('missing-base.json', { vms: [
      { name: 'web', kernel: SPIN.replace('guest-images/', resolve('guest-images') + '/'), disks: [{ file: 'new-data.img', capacityMiB: 1 }] },
      { name: 'db', kernel: resolve(SPIN), disks: [{ file: 'base.img', overlay: 'db.cow' }] },
    ] });
    const r = trapeze('run', '--config', config, '--seconds', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`trapeze: invalid config:\n  vms[1].disks[0].file: ${join(dir, 'base.img')}: no such disk image (the base of an overlay must exist)\n`);
    expect(existsSync(join(dir, 'new-data.img'))).toBe(false);
    expect(existsSync(join(dir, 'db.cow'))).toBe(false);
  });

  it('refuses a disk file written by one VM and used by another, unless all read it only', () => {
    writeFileSync(join(dir, 'shared.img'), Buffer.alloc(64 * 1024));
    const disk = (extra = {}) => ({ disks: [{ file: join(dir, 'shared.img'), ...extra }] });
    expect(() => Hypervisor.fromConfig({ vms: [spinVm('a', disk()), spinVm('b', disk())] }))
      .toThrow(/vms\[0\]\.disks\[0\]\.file and vms\[1\]\.disks\[0\]\.file: all name .*shared\.img, written by vms\[0\]\.disks\[0\]\.file, vms\[1\]\.disks\[0\]\.file/);
    expect(() => Hypervisor.fromConfig({ vms: [spinVm('a', disk()), spinVm('b', disk({ readOnly: true }))] })).toThrow('cannot be shared');
    // the same file as two overlays' base is fine: it is only read
    const hv = Hypervisor.fromConfig({ vms: [spinVm('a', disk({ overlay: join(dir, 'a.cow') })), spinVm('b', disk({ readOnly: true }))] });
    hv.close();
  });

  it('refuses the options that do not apply to many VMs, with status 2 and what to do instead', () => {
    const config = writeConfig('one.json', { vms: [spinVm('a', { kernel: resolve(SPIN) })] });
    const cases: [string[], string][] = [
      [['--timeout', '1'], '--timeout does not apply to --config: each VM\'s settings come from the config (use --seconds)'],
      [['--max-instructions', '5'], '--max-instructions does not apply to --config'],
      [['--memory', '8'], '--memory does not apply to --config'],
      [['--stats'], '--stats does not apply to --config'],
      [['--trace-mmu'], '--trace-mmu does not apply to --config'],
      [['--snapshot'], '--snapshot does not apply to --config: each VM\'s settings come from the config (give each disk an "overlay": its file is then never written)'],
      [['--screen'], '--screen does not apply to --config'],
      [['--cmdline', 'x'], '--cmdline does not apply to --config'],
      [['--disk', 'x.img'], '--disk does not apply to --config'],
    ];
    for (const [args, message] of cases) {
      const r = trapeze('run', '--config', config, '--seconds', '1', ...args);
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr, args[0]).toContain(`trapeze: ${message}`);
      expect(r.stdout, args[0]).toBe('');
    }
  });

  it('exits with the highest of the VMs\' statuses', () => {
    const hello = (name: string) => ({ name, kernel: HELLO, memoryMiB: 4 });
    // both guests pass (debug exit 0 → 1), as the one-VM run of hello.elf does
    expect(trapeze('run', '--config', writeConfig('pass.json', { vms: [hello('a'), hello('b')] }), '--seconds', '20').status).toBe(1);
    // one stopped by its policy (10) beats a pass
    const stopped = { ...spinVm('s', { kernel: resolve(SPIN) }), policy: { ioPorts: ['0xf4'], onViolation: 'stop' } };
    const r = trapeze('run', '--config', writeConfig('policy.json', { vms: [hello('a'), stopped] }), '--seconds', '20');
    expect(r.stderr).toMatch(/s: stopped: VM s stopped: policy forbids/);
    expect(r.status).toBe(10);
  });
});

describe('trapeze run --restore', () => {
  it('continues a snapshot from the command line, and refuses options that do not apply', () => {
    const printed: string[] = [];
    const hv = Hypervisor.fromConfig({ vms: [spinVm('s', { cmdline: 'report=200000' })] }, { console: (_, line) => printed.push(line) });
    hv.start();
    hv.runFor(20_000_000, () => printed.length >= 2);
    hv.pause('s');
    const snap = join(dir, 's.snap');
    hv.snapshot('s', snap);
    hv.close();
    expect(() => { const h2 = new Hypervisor(); try { h2.restore(snap); h2.snapshot('s', snap); } finally { h2.close(); } }).toThrow('exists; not overwriting it');
    const r = trapeze('run', '--restore', snap, '--seconds', '1');
    expect(r.status).toBe(8);
    const lines = r.stdout.trim().split('\n');
    const last = Number(/spin (\d+)/.exec(printed[printed.length - 1])![1]);
    expect(lines[0]).toMatch(new RegExp(`^\\[s\\] spin ${last + 1} sum=`)); // it goes on where the snapshot was taken
    const bad = trapeze('run', '--restore', snap, '--memory', '8');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('trapeze: --memory does not apply to --restore: the VM is as its snapshot says\n');
    expect(trapeze('run', '--restore', join(dir, 'none.snap')).stderr).toMatch(/none\.snap: not a readable snapshot/);
  });
});

describe('disk image locking', () => {
  it('a file open for writing is refused to another opener; readers share; a lock left by a dead process is stale', () => {
    const img = join(dir, 'locked.img');
    writeFileSync(img, Buffer.alloc(4096));
    const w = new RawFileDisk(img);
    expect(() => new RawFileDisk(img)).toThrow('already open for writing by another disk of this run');
    expect(() => new RawFileDisk(img, { readOnly: true })).toThrow('already open for writing');
    w.close();
    const r1 = new RawFileDisk(img, { readOnly: true }), r2 = new RawFileDisk(img, { readOnly: true });
    expect(() => new RawFileDisk(img)).toThrow('already open by another disk of this run');
    r1.close(); r2.close();
    // another process holding it for writing
    const holder = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { RawFileDisk } = await import(${JSON.stringify(resolve('dist/host/node/raw-file.js'))});
      new RawFileDisk(${JSON.stringify(img)});
      const { spawnSync } = await import('node:child_process');
      console.log(spawnSync(process.execPath, [${JSON.stringify(BIN)}, 'run', '--disk', ${JSON.stringify(img)}, '--max-instructions', '10'], { encoding: 'utf8' }).stderr);
    `], { encoding: 'utf8' });
    expect(holder.stdout).toMatch(/locked\.img: in use for writing by process \d+ \(.*locked\.img\.lock\); refusing to share it/);
    // that process is gone: its lock file is stale and taken over
    expect(existsSync(`${img}.lock`)).toBe(true);
    const again = new RawFileDisk(img);
    expect(readFileSync(`${img}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    again.close();
    expect(existsSync(`${img}.lock`)).toBe(false);
  });
});

describe('progress while a large config is set up', () => {
  it('is silent for a second, then reports every 5 s (a line each) when not on a terminal, and the total', () => {
    let t = 0;
    const written: string[] = [];
    const p = setupProgress({ isTTY: false, write: (s: string) => written.push(s) }, () => t);
    for (let i = 0; i < 1000; i++) { t = i * 20; p.step(i, 1000, `vm${i}`); } // 20 ms a VM: 20 s in all
    t = 20_000;
    p.done(1000);
    expect(written).toEqual([
      'trapeze: creating VM 51 of 1000 (vm50)\n', 'trapeze: creating VM 301 of 1000 (vm300)\n',
      'trapeze: creating VM 551 of 1000 (vm550)\n', 'trapeze: creating VM 801 of 1000 (vm800)\n',
      'trapeze: 1000 VMs created in 20.0 s\n',
    ]);
    const quick: string[] = [];
    const q = setupProgress({ isTTY: false, write: (s: string) => quick.push(s) }, () => 0);
    q.step(0, 3, 'a'); q.done(3);
    expect(quick).toEqual([]); // a small config says nothing
  });

  it('redraws one line in place on a terminal', () => {
    let t = 0;
    const written: string[] = [];
    const p = setupProgress({ isTTY: true, write: (s: string) => written.push(s) }, () => t);
    for (let i = 0; i < 100; i++) { t = i * 20; p.step(i, 100, `vm${i}`); }
    p.done(100);
    expect(written[0]).toBe('\r\x1b[Ktrapeze: creating VM 51 of 100 (vm50)');
    expect(written.every((w) => w.startsWith('\r\x1b[K'))).toBe(true);
    expect(written.at(-1)).toBe('\r\x1b[Ktrapeze: 100 VMs created in 2.0 s\n');
  });
});
