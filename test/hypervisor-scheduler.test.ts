// The scheduler: weighted fair sharing by shares, caps, and halted VMs giving
// their share away. Measured in guest instructions retired (the deterministic
// clock), so the figures are the same on every run.
import { describe, it, expect } from 'vitest';
import { hypervisor, spinVm, SLEEPER } from './support/hypervisor.js';
import { exitStatus } from '../src/commands/outcome.js';

const retired = (hv: ReturnType<typeof hypervisor>, name: string) => hv.get(name).vm.instructionsRetired;

describe('hypervisor scheduler', () => {
  it('gives four CPU-bound VMs with shares 1:2:4:8 their entitlement within 2%, Jain ≥ 0.99', () => {
    const shares = [1, 2, 4, 8];
    const hv = hypervisor(shares.map((s, i) => spinVm(`v${i}`, { shares: s })));
    hv.runFor(30_000_000);
    const got = shares.map((_, i) => retired(hv, `v${i}`));
    const total = got.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(30_000_000);
    shares.forEach((s, i) => {
      const entitled = (total * s) / 15;
      expect(Math.abs(got[i] / entitled - 1)).toBeLessThan(0.02);
    });
    const stats = hv.stats();
    expect(stats.jainIndex).toBeGreaterThanOrEqual(0.99);
    for (const v of stats.vms) {
      expect(v.state).toBe('running');
      expect(Math.abs(v.fairness - 1)).toBeLessThan(0.02);
      // the scheduler's accounting is the guests' own instruction count
      expect(v.cpuReceived).toBe(v.instructions);
    }
    hv.close();
  });

  it('keeps a capped VM under its cap while another VM takes the rest', () => {
    const hv = hypervisor([spinVm('capped', { shares: 4, capPercent: 20 }), spinVm('free', { shares: 1 })]);
    hv.runFor(20_000_000);
    const c = retired(hv, 'capped'), f = retired(hv, 'free');
    // by shares alone it would get 80%; the cap holds it to 20%
    expect(c / (c + f)).toBeLessThanOrEqual(0.2 + 0.005);
    expect(c / (c + f)).toBeGreaterThan(0.19);
    hv.close();
  });

  it('caps a VM that is alone on the host: the host idles rather than exceed the cap', () => {
    const hv = hypervisor([spinVm('alone', { capPercent: 30 })]);
    hv.runFor(6_000_000);
    const s = hv.stats();
    // the cap holds per bandwidth period: at most 30% of every period begun
    const period = hv.scheduler.period;
    const periods = Math.ceil(s.elapsed / period);
    expect(periods).toBeGreaterThanOrEqual(20);
    expect(s.vms[0].cpuReceived).toBeLessThanOrEqual(0.3 * periods * period);
    expect(s.vms[0].cpuReceived).toBeGreaterThan(0.3 * (periods - 1) * period);
    expect(s.vms[0].fairness).toBeCloseTo(1, 1);
    hv.close();
  });

  it('a halted VM gives its share away and gets it back when woken', () => {
    // the sleeper works ~5 M instructions, halts until an interrupt, works again
    const hv = hypervisor([
      { name: 'sleeper', kernel: SLEEPER, cmdline: 'hz=0 work=1250000', memoryMiB: 4, shares: 1 },
      spinVm('spin', { shares: 1 }),
    ]);
    const sleeper = hv.get('sleeper').vm;
    hv.runFor(50_000_000, () => sleeper.vcpus[0].halted);
    expect(sleeper.vcpus[0].halted).toBe(true);
    expect(hv.get('sleeper').console.transcript).toContain('awake 1\n');

    // asleep: it runs nothing, the other VM gets the whole host
    const s0 = retired(hv, 'sleeper'), p0 = retired(hv, 'spin');
    hv.runFor(10_000_000);
    expect(retired(hv, 'sleeper')).toBe(s0);
    expect(retired(hv, 'spin') - p0).toBeGreaterThanOrEqual(10_000_000);
    expect(sleeper.state).toBe('running');

    // woken (vector 0x20, as its timer would): equal shares again, and no
    // burst to make up for the time it slept
    hv.interrupt('sleeper', 0x20);
    const s1 = retired(hv, 'sleeper'), p1 = retired(hv, 'spin');
    hv.runFor(4_000_000);
    const ds = retired(hv, 'sleeper') - s1, dp = retired(hv, 'spin') - p1;
    expect(Math.abs(ds / (ds + dp) - 0.5)).toBeLessThan(0.02);
    expect(sleeper.vcpus[0].halted).toBe(false);
    hv.close();
  });

  it('a VM sleeping on its own timer (8254 at 100 Hz) wakes in host time and uses nothing while it waits', () => {
    // per tick (10 ms = 1 M host instructions at the instruction clock) the
    // sleeper works ~0.2 M instructions, then halts until the next tick. Each
    // wake-up can cost it up to one slice against its due, so slices are short.
    const hv = hypervisor([
      { name: 'sleeper', kernel: SLEEPER, cmdline: 'hz=100 work=50000', memoryMiB: 4, shares: 1 },
      spinVm('spin', { shares: 1 }),
    ], { sliceInstructions: 2_000 });
    hv.runFor(20_000_000);
    const s = hv.stats();
    const [sleeper, spin] = s.vms;
    const rounds = hv.get('sleeper').console.transcript.split('\n').filter((l) => l.startsWith('awake')).length;
    expect(rounds).toBeGreaterThanOrEqual(18); // one per tick
    expect(rounds).toBeLessThanOrEqual(21);
    expect(sleeper.shareReceived).toBeLessThan(0.3); // it gave most of its half away
    expect(spin.shareReceived).toBeGreaterThan(0.7);
    expect(sleeper.cpuReceived + spin.cpuReceived).toBe(s.elapsed); // the host never idled
    // while both could run they shared equally: each got what it was due
    expect(Math.abs(sleeper.fairness - 1)).toBeLessThan(0.02);
    expect(Math.abs(spin.fairness - 1)).toBeLessThan(0.02);
    expect(hv.get('sleeper').vm.vcpus[0].counter('interrupts')).toBeGreaterThanOrEqual(rounds - 1);
    hv.close();
  });

  it('when every VM sleeps, host time skips to the next timer', () => {
    const hv = hypervisor([{ name: 'sleeper', kernel: SLEEPER, cmdline: 'hz=100 work=1000 rounds=5', memoryMiB: 4 }]);
    hv.runFor(100_000_000, () => !!hv.get('sleeper').vm.stopped);
    const g = hv.get('sleeper');
    expect(g.console.transcript).toBe('sleeper: wakes on the 8254 timer: run it on a PC (trapeze run --boot kernel sleeper.elf)\nawake 1\nawake 2\nawake 3\nawake 4\nawake 5\nPASS\n');
    expect(g.vm.stopped?.kind).toBe('debug-exit');
    const s = hv.stats();
    // four sleeps of up to a tick each: idle host time, not instructions run
    expect(s.elapsed - s.vms[0].cpuReceived).toBeGreaterThan(3_000_000);
    expect(s.vms[0].cpuReceived).toBeLessThan(1_000_000);
    hv.close();
  });

  it('a VM\'s own time slice: more, shorter dispatches for the same share', () => {
    const hv = hypervisor([spinVm('short', { sliceInstructions: 5_000 }), spinVm('long')]);
    // spin never takes interrupts: mask the timer its firmware left on, or a
    // pending IRQ 0 would end every slice early (the platform offers it again)
    for (const g of hv.guests.values()) g.vm.ports.write(0x21, 1, 0xff);
    hv.runFor(10_000_000);
    const [short, long] = ['short', 'long'].map((n) => hv.get(n));
    expect(Math.abs(short.vm.instructionsRetired / long.vm.instructionsRetired - 1)).toBeLessThan(0.02);
    expect(short.entity.dispatches).toBeGreaterThan(8 * long.entity.dispatches);
    hv.close();
  });

  it('a failure in one VM\'s device model stops that VM alone', () => {
    const hv = hypervisor([spinVm('bad', { cmdline: 'report=100000' }), spinVm('good')]);
    const bad = hv.get('bad').vm;
    bad.ports.write = () => { throw new Error('device exploded'); };
    hv.runFor(5_000_000);
    expect(bad.stopped).toMatchObject({ kind: 'error', reason: 'VM bad stopped: host error: device exploded' });
    expect(exitStatus(bad.stopped!)).toBe(4);
    expect(hv.get('bad').state).toBe('stopped');
    expect(hv.get('good').state).toBe('running');
    expect(hv.get('good').vm.instructionsRetired).toBeGreaterThan(4_000_000);
    hv.close();
  });

  it('reports idle when every VM is halted, and ends a VM halted with interrupts off', () => {
    const hv = hypervisor([{ name: 'h', kernel: 'guest-images/hello.elf', memoryMiB: 4 }]);
    hv.runFor(10_000_000);
    // hello writes the debug-exit port: its run is over
    expect(hv.get('h').state).toBe('stopped');
    expect(hv.get('h').vm.stopped?.kind).toBe('debug-exit');
    expect(hv.get('h').console.transcript).toBe('Hello from a Trapeze guest!\n');
    expect(hv.scheduler.step().kind).toBe('idle');
    hv.close();
  });
});
