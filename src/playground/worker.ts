// The playground's VM thread: a Web Worker that owns the core and the VMM on
// the browser host, runs the guest in slices of a few milliseconds (the
// worker stays free for the page's messages between them) and sends the page
// what it shows, a few times a second.
import { installBrowserHost } from '../host/browser.js';
import { Session, Shares, type GuestSpec, type ShareVm } from './session.js';
import type { ToWorker, FromWorker, StateMessage } from './protocol.js';
import { describeStop } from '../commands/outcome.js';

const scope = globalThis as unknown as { postMessage(m: FromWorker): void; addEventListener(t: 'message', f: (e: MessageEvent<ToWorker>) => void): void };
const post = (m: FromWorker) => scope.postMessage(m);

let hostFiles: ReturnType<typeof installBrowserHost>['files'] | undefined;
let session: Session | undefined;
let shares: Shares | undefined;
let running = false;
/** Instructions per second; 0 = as fast as the core goes. */
let speed = 0;
let lastPost = 0;
let sentSeq = 0;
let sentSerial = 0;
let ipsWindow = { t: performance.now(), insns: 0, ips: 0 };

/** A yield that is not clamped as nested timers are (a MessageChannel round trip). */
const channel = new MessageChannel();
channel.port1.onmessage = () => tick();
const later = () => channel.port2.postMessage(0);

async function file(name: string): Promise<void> {
  if (hostFiles!.has(name)) return;
  const r = await fetch(`guests/${name}`);
  if (!r.ok) throw new Error(`guests/${name}: ${r.status} ${r.statusText}`);
  hostFiles!.add(name, new Uint8Array(await r.arrayBuffer()));
}

function state(full = false): StateMessage {
  const s = session!;
  const log = s.log.filter((e) => e.seq > sentSeq);
  if (log.length) sentSeq = log[log.length - 1].seq;
  const serial = s.serial.slice(sentSerial);
  sentSerial = s.serial.length;
  const shadow = [...s.shadow.values()].sort((a, b) => a.lin - b.lin).slice(0, 512)
    .map((r) => ({ ...r, guestNow: s.guestPte(r.lin) }));
  return {
    t: 'state', full, running, serial, log, cpu: s.cpu(), exits: s.exitCounts(), counters: s.counters(),
    shadow, shadowSize: s.shadow.size, pd: s.pageDirectory(), mmu: s.mmuEvents.slice(-24), mmuSeq: s.mmuSeq,
    screen: s.screen(), stop: s.stop && describeStop(s.stop), ips: ipsWindow.ips,
  };
}

function send(full = false): void {
  if (session) post(state(full));
  if (shares) post({ t: 'shares', view: shares.view(), jain: shares.jainHistory, serial: Object.fromEntries(shares.serial) });
  lastPost = performance.now();
}

function tick(): void {
  if (!running) return;
  const now = performance.now();
  if (session) {
    const slice = speed ? Math.max(1, Math.round(speed / 60)) : Infinity;
    const n = session.run(speed ? 1000 : 25, slice);
    ipsWindow.insns += n;
    if (session.stop) running = false;
  } else if (shares) {
    shares.run(25);
  }
  if (now - ipsWindow.t > 500) ipsWindow = { t: now, insns: 0, ips: (ipsWindow.insns * 1000) / (now - ipsWindow.t) };
  if (!running || performance.now() - lastPost > 80) send();
  if (running) {
    if (speed) setTimeout(tick, 1000 / 60);
    else later();
  }
}

async function load(spec: GuestSpec): Promise<void> {
  running = false;
  shares = undefined;
  await file(spec.file);
  session = new Session(spec);
  sentSeq = 0; sentSerial = 0;
  send(true);
}

let disassembler: Promise<typeof import('../trace/disassembler.js')> | undefined;

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case 'init': {
      const r = await fetch('core.wasm');
      hostFiles = installBrowserHost({ core: new Uint8Array(await r.arrayBuffer()) }).files;
      post({ t: 'ready' });
      return;
    }
    case 'file': hostFiles!.add(m.name, m.bytes); return;
    case 'load': await load(m.spec); return;
    case 'run': if ((session && !session.stop) || shares) { running = true; ipsWindow = { t: performance.now(), insns: 0, ips: 0 }; tick(); } return;
    case 'pause': running = false; send(); return;
    case 'step': running = false; if (session) for (let i = 0; i < m.count; i++) session.step(); send(); return;
    case 'reset': if (session) await load(session.spec); return;
    case 'speed': speed = m.ips; return;
    case 'type': session?.type(m.text); return;
    case 'shares': {
      running = false;
      session = undefined;
      for (const v of m.vms) await file(v.file);
      shares = new Shares(m.vms as ShareVm[]);
      send(true);
      return;
    }
    case 'disasm': {
      if (!session) return;
      const code = session.codeAt(m.eip);
      disassembler ??= import('../trace/disassembler.js');
      const { disassemble } = await disassembler;
      const text = code.bytes.length ? disassemble(code.bytes, m.eip, code.bitness) : '(not mapped)';
      post({ t: 'disasm', seq: m.seq, eip: m.eip, lin: code.lin, text, bytes: [...code.bytes] });
      return;
    }
    case 'bench': {
      // the guest from boot to its end, in the slices the page runs it in
      running = false;
      await file(m.spec.file);
      const s = new Session(m.spec);
      const t0 = performance.now();
      while (!s.stop) {
        s.run(50);
        await new Promise<void>((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
      }
      const ms = performance.now() - t0;
      post({ t: 'bench', instructions: s.cpu().instructions, ms, serial: s.serial });
      return;
    }
  }
}

scope.addEventListener('message', (e) => {
  handle(e.data).catch((err: Error) => post({ t: 'error', message: err.message }));
});
