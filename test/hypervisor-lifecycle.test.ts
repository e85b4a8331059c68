// The VM lifecycle (created → running ⇄ paused → stopped), pause keeping the
// guest byte-identical, and snapshot → restore continuing exactly.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vm, type VmState, type LifecycleAction } from '../src/vm/vm.js';
import { TrapezeError } from '../src/errors.js';
import { Hypervisor, type Guest } from '../src/hypervisor/hypervisor.js';
import { hypervisor, spinVm, machineBytes, runTo, SLEEPER } from './support/hypervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'trapeze-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEGAL: Record<VmState, Partial<Record<LifecycleAction, VmState>>> = {
  created: { start: 'running', stop: 'stopped' },
  running: { pause: 'paused', stop: 'stopped' },
  paused: { resume: 'running', stop: 'stopped' },
  stopped: {},
};
const ACTIONS: LifecycleAction[] = ['start', 'pause', 'resume', 'stop'];

/** A VM brought to `state` by legal actions. */
function vmIn(state: VmState): Vm {
  const vm = new Vm({ memoryMiB: 2 });
  const path: Record<VmState, LifecycleAction[]> = { created: [], running: ['start'], paused: ['start', 'pause'], stopped: ['stop'] };
  for (const a of path[state]) vm.transition(a);
  return vm;
}

describe('VM lifecycle', () => {
  for (const from of Object.keys(LEGAL) as VmState[]) {
    for (const action of ACTIONS) {
      const to = LEGAL[from][action];
      if (to) {
        it(`${from} --${action}--> ${to}`, () => {
          const vm = vmIn(from);
          vm.transition(action);
          expect(vm.state).toBe(to);
        });
      } else {
        it(`${from} --${action}--> error, state unchanged`, () => {
          const vm = vmIn(from);
          expect(() => vm.transition(action)).toThrow(TrapezeError);
          expect(() => vm.transition(action)).toThrow(`cannot ${action} VM vm: it is ${from}`);
          expect(vm.state).toBe(from);
        });
      }
    }
  }

  it('a stopped VM cannot be run, and the stop is recorded as the host\'s', () => {
    const vm = vmIn('running');
    vm.stop();
    expect(vm.stopped?.kind).toBe('stopped');
    expect(() => vm.run()).toThrow('cannot run VM vm: it is stopped');
  });

  it('pause keeps the guest byte-identical while other VMs run, and resume continues it', () => {
    const hv = hypervisor([spinVm('a'), spinVm('b')]);
    hv.runFor(4_000_000);
    hv.pause('a');
    const a = hv.get('a').vm;
    const before = machineBytes(a);
    const retired = a.instructionsRetired;
    hv.runFor(5_000_000);
    expect(a.instructionsRetired).toBe(retired);
    expect(Buffer.compare(machineBytes(a), before)).toBe(0);
    expect(hv.stats().vms.find((v) => v.name === 'a')!.state).toBe('paused');
    hv.resume('a');
    hv.runFor(2_000_000);
    expect(a.instructionsRetired).toBeGreaterThan(retired);
    hv.close();
  });

  it('the hypervisor refuses illegal actions with the VM\'s name and state', () => {
    const hv = hypervisor([spinVm('a')]);
    expect(() => hv.resume('a')).toThrow('cannot resume VM a: it is running');
    hv.stop('a');
    expect(() => hv.pause('a')).toThrow('cannot pause VM a: it is stopped');
    expect(() => hv.pause('nope')).toThrow('no VM named "nope"');
    hv.runFor(1_000_000);
    expect(hv.get('a').vm.instructionsRetired).toBe(0);
    hv.close();
  });
});

/** Run VM "s" a while, snapshot it, and restore the snapshot beside it as "c"; both running. */
function twin(hv: Hypervisor, instructions: number): Guest {
  hv.runFor(instructions);
  hv.pause('s');
  const file = join(dir, `twin-${Math.random().toString(36).slice(2)}.snap`);
  hv.snapshot('s', file);
  const copy = hv.restore(file, 'c');
  hv.resume('s');
  hv.resume('c');
  return copy;
}

describe('snapshot and restore', () => {
  it('a restored VM continues exactly as the original: same state, same serial output', () => {
    const file = join(dir, 'spin.snap');
    const hv = hypervisor([spinVm('s', { cmdline: 'report=200000' })]);
    hv.runFor(3_000_000);
    hv.pause('s');
    expect(() => hv.snapshot('nope', file)).toThrow('no VM named');
    hv.snapshot('s', file);
    const original = hv.get('s');
    const atSnapshot = original.console.transcript;
    const start = original.vm.instructionsRetired;
    hv.resume('s');
    runTo(original.vm, start + 5_000_000);

    const hv2 = new Hypervisor();
    const copy = hv2.restore(file);
    expect(copy.state).toBe('paused');
    expect(copy.vm.instructionsRetired).toBe(start);
    expect(copy.console.transcript).toBe(atSnapshot);
    hv2.resume('s');
    runTo(copy.vm, start + 5_000_000);

    const after = original.console.transcript.slice(atSnapshot.length);
    expect(after.split('\n').length).toBeGreaterThan(5); // it printed lines after the snapshot point
    expect(copy.console.transcript).toBe(original.console.transcript);
    expect(copy.vm.vcpus[0].registers()).toEqual(original.vm.vcpus[0].registers());
    expect(Buffer.compare(machineBytes(copy.vm), machineBytes(original.vm))).toBe(0);
    hv.close();
    hv2.close();
  });

  it('a restored VM keeps its devices\' state: timers, interrupt controllers (a sleeper wakes on its 8254)', () => {
    const hv = hypervisor([{ name: 's', kernel: SLEEPER, cmdline: 'hz=100 work=50000', memoryMiB: 4 }]);
    const copy = twin(hv, 5_000_000);
    hv.runFor(20_000_000);
    const original = hv.get('s');
    expect(copy.console.transcript).toBe(original.console.transcript);
    expect(copy.vm.instructionsRetired).toBe(original.vm.instructionsRetired);
    expect(original.console.transcript.split('\n').length).toBeGreaterThan(30); // it kept waking up
    expect(copy.pc.clock.now()).toBe(original.pc.clock.now());
    hv.close();
  });

  it('snapshots only a paused VM, and rejects a file that is not a snapshot', () => {
    const hv = hypervisor([spinVm('s')]);
    expect(() => hv.snapshot('s', join(dir, 'x.snap'))).toThrow('cannot snapshot VM s: it is running (pause it first)');
    expect(() => hv.restore('guest-images/spin.elf')).toThrow('not a readable snapshot');
    hv.close();
  });

  it('a restored VM can be renamed and runs beside its original', () => {
    const hv = hypervisor([spinVm('s')]);
    const copy = twin(hv, 1_000_000);
    hv.runFor(4_000_000);
    const a = hv.get('s').vm.instructionsRetired, b = copy.vm.instructionsRetired;
    expect(Math.abs(a - b)).toBeLessThanOrEqual(2 * hv.scheduler.slice);
    hv.close();
  });
});
