// The Node options Trapeze runs under (src/host/node/node-flags.ts) are the
// ones its launcher's first line, its npm scripts and the peer benchmark's
// Trapeze processes give Node; and the launcher runs through that line.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../src/host/node/node-flags.js';
import { trapeze, earlierTrapeze } from '../src/bench/peers/engines.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const node = ['node', ...NODE_FLAGS].join(' ');

describe('Node options', () => {
  it('bin/trapeze.js, npm start and npm run bench:linux start Node with them', () => {
    expect(readFileSync(`${ROOT}bin/trapeze.js`, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S ${node}`);
    const scripts = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts as Record<string, string>;
    expect(scripts.start.startsWith(`${node} bin/trapeze.js `)).toBe(true);
    expect(scripts['bench:linux'].startsWith(`${node} bench/linux.js`)).toBe(true);
  });

  it('the peer benchmark runs this and the earlier Trapeze with them', () => {
    const workload = { image: 'x.elf', cmdline: '' } as Parameters<ReturnType<typeof trapeze>['command']>[0];
    expect(trapeze('trapeze', 'Trapeze').command(workload).slice(1, 1 + NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    expect(trapeze('trapeze', 'Trapeze', { cli: true }).startup!().slice(1, 1 + NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    expect(earlierTrapeze('e', 'earlier', () => 'cli.js').command(workload).slice(1, 1 + NODE_FLAGS.length)).toEqual(NODE_FLAGS);
  });

  it('the launcher runs as a program through that first line', () => {
    // (env -S splits the line into node and its options; `run --help` starts no VM)
    const r = spawnSync(`${ROOT}bin/trapeze.js`, ['run', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--jit <on|off>');
  });
});
