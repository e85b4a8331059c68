// Compiles the JIT's region modules on a worker thread, so that V8's baseline
// compile of a batch (~1 ms; ~190 ms over Linux's boot) runs beside the vCPU
// instead of in its path. vm.run() is synchronous: the main thread never
// waits for the worker, it polls for finished modules when run() returns.
// The bytes go over shared memory (a MessagePort's postMessage cost the main
// thread 0.1-0.5 ms each); the compiled WebAssembly.Module comes back over a
// port, which shares V8's compiled code instead of compiling again, and the
// main thread reads the port only after a shared counter says it has news.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ModuleCompiler, CompiledModule } from '../platform.js';

/** Modules handed over and not yet taken by the worker, at most. */
const SLOTS = 4;
/** The largest module (the core's JIT_MODULE_SIZE); a larger one compiles inline. */
const SLOT_BYTES = 2 << 20;
// Control words: modules handed over, taken by the worker, answered; then per slot its length and id.
const POSTED = 0, TAKEN = 1, ANSWERED = 2, SLOT_WORDS = 3;

// The worker (CommonJS, evaluated from this string, so that the CLI's bundle needs no second file).
const WORKER = `
const { workerData } = require('node:worker_threads');
const { port, control, data, slots, slotBytes } = workerData;
for (let taken = 0; ; ) {
  Atomics.wait(control, ${POSTED}, taken);
  while (Atomics.load(control, ${POSTED}) !== taken) {
    const slot = taken % slots;
    const bytes = data.slice(slot * slotBytes, slot * slotBytes + control[${SLOT_WORDS} + 2 * slot]);
    const id = control[${SLOT_WORDS} + 2 * slot + 1];
    Atomics.store(control, ${TAKEN}, ++taken);
    const started = performance.now();
    let module, error;
    try { module = new WebAssembly.Module(bytes); } catch (e) { error = String(e && e.message || e); }
    port.postMessage({ id, module, error, ms: performance.now() - started });
    Atomics.add(control, ${ANSWERED}, 1);
  }
}
`;

class WorkerCompiler implements ModuleCompiler {
  private readonly port: MessagePort;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (SLOT_WORDS + 2 * SLOTS)));
  private readonly data = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
  private posted = 0;
  private answered = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: CompiledModule) => void>();

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { port: port2, control: this.control, data: this.data, slots: SLOTS, slotBytes: SLOT_BYTES },
      transferList: [port2],
    });
    // a process whose VMs are done exits without waiting for it
    worker.unref();
    port1.unref();
    this.port = port1;
  }

  compile(bytes: Uint8Array, done: (result: CompiledModule) => void): boolean {
    if (this.posted - Atomics.load(this.control, TAKEN) >= SLOTS || bytes.length > SLOT_BYTES) return false;
    const slot = this.posted % SLOTS, id = this.nextId++;
    this.data.set(bytes, slot * SLOT_BYTES);
    this.control[SLOT_WORDS + 2 * slot] = bytes.length;
    this.control[SLOT_WORDS + 2 * slot + 1] = id;
    this.waiting.set(id, done);
    this.posted++;
    Atomics.store(this.control, POSTED, this.posted);
    Atomics.notify(this.control, POSTED);
    return true;
  }

  poll(): void {
    if (Atomics.load(this.control, ANSWERED) === this.answered) return;
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      this.answered++;
      const { id, module, error, ms } = m.message as { id: number; module?: WebAssembly.Module; error?: string; ms: number };
      const done = this.waiting.get(id);
      this.waiting.delete(id);
      done?.(module ? { module, ms } : { error: error ?? 'no module', ms });
    }
  }
}

let compiler: WorkerCompiler | undefined;

/** The process's one compile worker, started when first asked for. */
export function moduleCompiler(): ModuleCompiler {
  compiler ??= new WorkerCompiler();
  return compiler;
}
