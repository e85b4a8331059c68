#!/usr/bin/env node
// `npm run bench:linux`: boot the cached Debian kernel (scripts/fetch-linux)
// on the PC platform (virtual clock) and print, for each milestone on the console, the wall-clock time and the
// instructions retired (the count `trapeze run --max-instructions` limits),
// up to the busybox shell prompt or wherever the boot stops.
// Options: --max-instructions <n> (default 20e9), -m <MiB> (default 128),
// --crypto-tests (keep the kernel's crypto self-tests: ~3e9 more instructions).
import '../dist/host/node/index.js';
import { existsSync } from 'node:fs';
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

let console = '';
let next = 0;
const rows = [];
const started = process.hrtime.bigint();
const machine = new Pc({
  memoryMiB,
  serial: (b) => {
    console += String.fromCharCode(b);
    while (next < MILESTONES.length && MILESTONES[next][1].test(console)) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      rows.push([MILESTONES[next][0], ms, machine.vm.vcpus[0].instructionsRetired]);
      next++;
    }
    if (next === MILESTONES.length) machine.vm.requestStop({ kind: 'stopped', status: 0, message: 'the shell prompt appeared' });
  },
});
const append = args.includes('--crypto-tests') ? 'console=ttyS0' : 'console=ttyS0 cryptomgr.notests';
bootLinux(machine, `${CACHE}bzImage`, `${CACHE}initramfs.cpio`, append);
const stop = machine.vm.run({ maxInstructions });
const total = Number(process.hrtime.bigint() - started) / 1e6;
const insns = machine.vm.vcpus[0].instructionsRetired;

const line = (name, ms, n) => `${name.padEnd(24)} ${(ms / 1000).toFixed(2).padStart(9)} s ${n.toLocaleString('en').padStart(16)} insns`;
process.stdout.write(`Linux boot (${memoryMiB} MiB, ${CACHE}bzImage, "${append}")\n`);
for (const [name, ms, n] of rows) process.stdout.write(line(name, ms, n) + '\n');
process.stdout.write(line(`stopped: ${stop.kind}`, total, insns) + ` (${(insns / total / 1000).toFixed(1)} MIPS)\n`);
if (next < MILESTONES.length) {
  const last = console.trimEnd().split('\n').slice(-3).join('\n');
  process.stdout.write(`not reached: ${MILESTONES[next][0]}; last console lines:\n${last}\n`);
}
