// xv6 (MIT's x86 teaching OS), built by scripts/fetch-xv6 into .cache/xv6/,
// on the PC from its IDE disks (xv6.img boots from sector 0; fs.img is the
// file system) with 256 MiB, as `trapeze run --memory 256 --disk xv6.img
// --disk fs.img` runs it: on 1 and on 2 vCPUs (the MP table, local APICs and
// the I/O APIC as xv6 uses them), the shell's commands are typed on COM1 and
// their output checked. A heavy run: `npm run test:xv6`. Without the build it
// is skipped, loudly.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pc } from '../../src/platform/pc.js';
import { openDiskImages } from '../../src/host/node/disks.js';
import { describeStop } from '../../src/commands/outcome.js';

const CACHE = fileURLToPath(new URL('../../.cache/xv6/', import.meta.url));
const XV6 = `${CACHE}xv6.img`, FS = `${CACHE}fs.img`;
const built = existsSync(XV6) && existsSync(FS);
if (!built) process.stderr.write(`\n*** SKIPPED: the xv6 test needs ${XV6} and ${FS}: run scripts/fetch-xv6 ***\n\n`);

interface Session { console: string; outputs: string[]; stop: string; instructions: number; promptSeconds: number[] }

/** Boot xv6 and type each command at a `$ ` prompt; `outputs[i]` is what command i printed. */
function session(cpus: number, commands: string[], maxInstructions: number): Session {
  let console = '';
  let sent = 0;
  let since = 0;
  const outputs: string[] = [];
  const promptSeconds: number[] = [];
  const started = performance.now();
  const pc: Pc = new Pc({
    memoryMiB: 256,
    vcpus: cpus,
    disks: openDiskImages([XV6, FS], true), // fs.img stays as built
    serial: (b) => {
      console += String.fromCharCode(b);
      if (!console.endsWith('$ ')) return;
      promptSeconds.push((performance.now() - started) / 1000);
      if (sent > 0) outputs.push(console.slice(since, -2));
      if (sent === commands.length) { pc.vm.requestStop({ kind: 'stopped', reason: 'every command ran' }); return; }
      const line = `${commands[sent++]}\n`;
      since = console.length + line.length; // xv6 echoes what it reads
      pc.uart.receive(Buffer.from(line));
    },
  });
  try {
    pc.bootDisk();
    const stop = pc.vm.run({ maxInstructions, timeoutMs: 20 * 60_000 });
    return { console, outputs, stop: describeStop(stop), instructions: pc.vm.instructionsRetired, promptSeconds };
  } finally {
    pc.close();
  }
}

describe.skipIf(!built)('xv6', () => {
  for (const cpus of [1, 2]) {
    it(`boots to the shell on ${cpus} vCPU${cpus > 1 ? 's' : ''}; ls, forktest, stressfs and usertests pass`, () => {
      const s = session(cpus, ['ls', 'forktest', 'stressfs', 'usertests'], 20_000_000_000);
      const tail = s.console.slice(-3000);
      expect(s.stop, `last console output:\n${tail}`).toBe('every command ran');
      expect(s.console).toContain(`cpu${cpus - 1}: starting ${cpus - 1}`);
      expect(s.console).toContain('init: starting sh');
      const [ls, forktest, stressfs, usertests] = s.outputs;
      const [shell, , , , done] = s.promptSeconds;
      process.stdout.write(`xv6 on ${cpus} vCPU(s): shell after ${shell.toFixed(2)} s; usertests took ${(done - s.promptSeconds[3]).toFixed(1)} s; ${s.instructions.toLocaleString('en-US')} instructions in all\n`);
      // ls: the root directory with the user programs, each "name type inode size"
      for (const name of ['README', 'cat', 'forktest', 'sh', 'stressfs', 'usertests', 'console']) expect(ls).toMatch(new RegExp(`^${name} +\\d+ \\d+ \\d+$`, 'm'));
      expect(forktest).toContain('fork test OK');
      expect(stressfs).toContain('stressfs starting');
      expect(stressfs).toMatch(/read\s*$/);
      expect(usertests, `usertests printed:\n${usertests.slice(-2000)}`).toContain('ALL TESTS PASSED');
    });
  }
});
