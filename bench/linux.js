#!/usr/bin/env node
// `npm run bench:linux`: boot the cached Debian kernel (scripts/fetch-linux)
// on the PC platform (virtual clock) and print, for each milestone on the console, the wall-clock time and the
// instructions retired (the count `trapeze run --max-instructions` limits),
// up to the busybox shell prompt or wherever the boot stops.
// Options: --max-instructions <n> (default 20e9), -m <MiB> (default 128),
// --crypto-tests (keep the kernel's crypto self-tests: ~3e9 more instructions),
// --no-qemu. When qemu-system-i386 is installed, the same kernel, initrd and
// command line then boot under QEMU (TCG, same memory) with the same milestones,
// and the last column is Trapeze's time over QEMU's.
import '../dist/host/node/index.js';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { bootLinux } from '../dist/machine.js';
import { Pc } from '../dist/platform/pc.js';

const CACHE = new URL('../.cache/linux/', import.meta.url).pathname;
const MILESTONES = [
  ['first console output', /./],
  ['kernel banner', /Linux version /],
  ['console on ttyS0', /printk: console \[ttyS0\] enabled/],
  ['initramfs unpacked', /Freeing initrd memory|Trying to unpack rootfs/],
  ['init started', /Run \/init as init process/],
  ['shell prompt', /[/~] # $/],
];

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const maxInstructions = opt('--max-instructions', 20e9);
const memoryMiB = opt('-m', 128);
if (!existsSync(`${CACHE}bzImage`)) {
  process.stderr.write(`bench:linux: no ${CACHE}bzImage; run scripts/fetch-linux first\n`);
  process.exit(2);
}

// Each milestone is one line, tested as the console's current line grows:
// testing the whole transcript at every byte cost this harness 70 ms.
let console = '';
let current = '';
let next = 0;
const rows = [];
const started = process.hrtime.bigint();
const machine = new Pc({
  memoryMiB,
  serial: (b) => {
    const c = String.fromCharCode(b);
    console += c;
    current = c === '\n' ? '' : current + c;
    while (next < MILESTONES.length && MILESTONES[next][1].test(current)) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      rows.push([MILESTONES[next][0], ms, machine.vm.vcpus[0].instructionsRetired]);
      next++;
    }
    if (next === MILESTONES.length) machine.vm.requestStop({ kind: 'stopped', reason: 'the shell prompt appeared' });
  },
});
const append = args.includes('--crypto-tests') ? 'console=ttyS0' : 'console=ttyS0 cryptomgr.notests';
bootLinux(machine, `${CACHE}bzImage`, `${CACHE}initramfs.cpio`, append);
const stop = machine.vm.run({ maxInstructions });
const total = Number(process.hrtime.bigint() - started) / 1e6;
const insns = machine.vm.vcpus[0].instructionsRetired;

const CONTROL_SEQUENCE = new RegExp(String.raw`\x1b\[[0-9;?]*[A-Za-z]`, 'g');

// QEMU TCG on the same inputs: wall-clock time of each milestone on its serial console
function qemuBoot() {
  if (args.includes('--no-qemu') || spawnSync('qemu-system-i386', ['--version']).status !== 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const times = new Map();
    let out = '';
    let k = 0;
    const t0 = process.hrtime.bigint();
    const q = spawn('qemu-system-i386', ['-accel', 'tcg', '-m', String(memoryMiB), '-kernel', `${CACHE}bzImage`,
      '-initrd', `${CACHE}initramfs.cpio`, '-append', append, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'],
    { stdio: ['pipe', 'pipe', 'ignore'] });
    const timer = setTimeout(() => q.kill(), 300_000);
    q.stdout.on('data', (d) => {
      // (without terminal control sequences: busybox's prompt is followed by a
      // cursor-position query, ESC [6n, in the same chunk, which `$` would not pass)
      out += d.toString('latin1').replace(CONTROL_SEQUENCE, '');
      while (k < MILESTONES.length && MILESTONES[k][1].test(out)) times.set(MILESTONES[k++][0], Number(process.hrtime.bigint() - t0) / 1e6);
      if (k === MILESTONES.length) q.kill();
    });
    q.on('close', () => { clearTimeout(timer); resolve(times); });
  });
}
const qemu = await qemuBoot();

const line = (name, ms, n) => `${name.padEnd(24)} ${(ms / 1000).toFixed(2).padStart(9)} s ${n.toLocaleString('en').padStart(16)} insns`;
process.stdout.write(`Linux boot (${memoryMiB} MiB, ${CACHE}bzImage, "${append}")${qemu ? '; QEMU TCG on the same inputs: its time, Trapeze / QEMU' : ''}\n`);
for (const [name, ms, n] of rows) {
  const q = qemu?.get(name);
  process.stdout.write(line(name, ms, n) + (q === undefined ? '' : `   QEMU ${(q / 1000).toFixed(2).padStart(7)} s  ${(ms / q).toFixed(2)}x`) + '\n');
}
process.stdout.write(line(`stopped: ${stop.kind}`, total, insns) + ` (${(insns / total / 1000).toFixed(1)} MIPS)\n`);
const j = machine.vm.jitOn ? machine.vm.core.jit.stats() : null;
process.stdout.write(j ? `JIT on (TRAPEZE_JIT=off to compare): ${j.regions} regions, ${j.compileMs.toFixed(0)} ms compiling, ${(100 * j.instructions / insns).toFixed(1)}% of instructions compiled\n` : 'JIT off\n');
if (next < MILESTONES.length) {
  const last = console.trimEnd().split('\n').slice(-3).join('\n');
  process.stdout.write(`not reached: ${MILESTONES[next][0]}; last console lines:\n${last}\n`);
}
