// Snapshots across format changes: files saved by earlier builds in format 1
// (the platform as one object graph, 1 KiB vCPU blocks: widened with XMM0-7
// zero and MXCSR at power-on) and format 3 (each part gathered by walking its
// fields) restore and continue as the originals did. Format 4 saves the fields
// each part declares, with its version; a part this build cannot read, or
// whose fields are not the declared ones, is refused by name.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hypervisor } from '../src/hypervisor/hypervisor.js';
import { hypervisor, SLEEPER } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-snapformat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Expected {
  atSnapshot: { instructions: number; transcript: string; exits: Record<string, number> };
  after20M: { instructions: number; transcript: string; now: number };
}
const fixture = (name: string) => JSON.parse(readFileSync(`test/fixtures/${name}.json`, 'utf8')) as Expected;

/** Rewrite a snapshot file's JSON header. */
interface Header { format: number; devices: Record<string, { version: number; state: Record<string, unknown> }> }
function editHeader(from: string, to: string, edit: (h: Header) => void): void {
  const body = gunzipSync(readFileSync(from));
  const len = body.readUInt32LE(8);
  const header = JSON.parse(body.toString('utf8', 12, 12 + len)) as Header;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(4);
  n.writeUInt32LE(json.length);
  writeFileSync(to, gzipSync(Buffer.concat([body.subarray(0, 8), n, json, body.subarray(12 + len)])));
}

describe('snapshot formats', () => {
  // each fixture: the sleeper guest snapshotted after 5M instructions, and what the original printed 20M later
  for (const [format, name] of [[1, 'sleeper-format1'], [3, 'sleeper-format3']] as const) {
    it(`a format-${format} snapshot from an earlier build restores and continues as the original did`, () => {
      const expected = fixture(name);
      const hv = new Hypervisor({ sliceInstructions: 50_000 }); // as the hypervisor that made the fixture
      const g = hv.restore(`test/fixtures/${name}.snap`);
      expect(g.vm.instructionsRetired).toBe(expected.atSnapshot.instructions);
      expect(g.console.transcript).toBe(expected.atSnapshot.transcript);
      // format 1 counted exits by number, with the never-produced Breakpoint at 8: counts keep their names
      expect(g.vm.exitStats()).toEqual(expected.atSnapshot.exits);
      hv.resume(g.name);
      hv.runFor(20_000_000);
      expect(g.vm.instructionsRetired).toBe(expected.after20M.instructions);
      expect(g.console.transcript).toBe(expected.after20M.transcript);
      expect(g.pc.clock.now()).toBe(expected.after20M.now);
      hv.close();
    });
  }

  it('format 4 saves the VM and every part of the PC by name with its version, as declared', () => {
    const hv = hypervisor([{ name: 's', kernel: SLEEPER, cmdline: 'hz=100 work=50000', memoryMiB: 4 }]);
    hv.runFor(2_000_000);
    hv.pause('s');
    const file = join(dir, 'v2.snap');
    hv.snapshot('s', file);
    const body = gunzipSync(readFileSync(file));
    const header = JSON.parse(body.toString('utf8', 12, 12 + body.readUInt32LE(8)));
    expect(header.format).toBe(4);
    expect(Object.keys(header.devices).sort()).toEqual(['vm', ...Object.keys(hv.get('s').pc.snapshotParts())].sort());
    expect(header.devices.pit.state).toEqual(hv.get('s').pc.pit.saveState());
    for (const part of Object.values(header.devices) as { version: number }[]) expect(part.version).toBe(1);
    expect(header.exitCounts.hlt).toBe(hv.get('s').vm.exitStats().hlt);

    // a field this build does not have (a renamed one) is refused by name, not dropped
    const renamed = join(dir, 'renamed.snap');
    editHeader(file, renamed, (h) => { h.devices.pic.state.masterRenamed = h.devices.pic.state.master; delete h.devices.pic.state.master; });
    expect(() => new Hypervisor().restore(renamed, 'r1')).toThrow(/"pic" \(version 1\) has fields this build does not: masterRenamed/);
    // a declared field that is missing
    const missing = join(dir, 'missing.snap');
    editHeader(file, missing, (h) => { delete h.devices.uart.state.ier; });
    expect(() => new Hypervisor().restore(missing, 'r4')).toThrow(/"uart" \(version 1\) lacks fields: ier/);
    // a value the part cannot take: named with the part
    const wrongMode = join(dir, 'wrong-mode.snap');
    editHeader(file, wrongMode, (h) => { h.devices.clock.state.mode = 'wall'; });
    expect(() => new Hypervisor().restore(wrongMode, 'r5')).toThrow(/"clock": saved with a wall clock; this machine's clock is virtual/);
    const shortRam = join(dir, 'short-ram.snap');
    editHeader(file, shortRam, (h) => { h.devices.cmos.state.ram = { $bytes: 'AAAA' }; });
    expect(() => new Hypervisor().restore(shortRam, 'r6')).toThrow(/"cmos": saved bytes are 3 long where 128 are expected/);
    // a part saved at a version newer than this build's
    const newer = join(dir, 'newer.snap');
    editHeader(file, newer, (h) => { h.devices.pit.version = 7; });
    expect(() => new Hypervisor().restore(newer, 'r2')).toThrow(/"pit" was saved at version 7; this build reads version 1/);
    // a format this build does not read
    const future = join(dir, 'future.snap');
    editHeader(file, future, (h) => { h.format = 99; });
    expect(() => new Hypervisor().restore(future, 'r3')).toThrow(/snapshot format 99 is not supported \(this build reads formats 1, 2, 3 and 4\)/);
    hv.close();
  });
});
