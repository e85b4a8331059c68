// One guest on v86 (the npm package), in a process of its own, for
// `npm run bench:peers`: v86 boots Debian's SeaBIOS when it is installed and
// loads the multiboot image as an option ROM (without SeaBIOS it loads the
// image itself). The guest's serial output goes to stdout as it comes; v86
// has no debug-exit port, so the process ends after the line matching <end>.
//   node v86-child.js <image> <cmdline> <end regex> [--no-jit] [--warmup <cmdline>]
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SEABIOS, SEABIOS_VGA } from './engines.js';

// stdout carries only the guest's serial output: v86's own messages (e.g. on port 0xF4) go to stderr
console.log = (...args: unknown[]) => { process.stderr.write(`${args.join(' ')}\n`); };

// v86 stops a guest that writes port 0xF4 (the exit port of the images) by throwing "HALT" from its loop
process.on('uncaughtException', (e: unknown) => {
  if (e === 'HALT') return;
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});

const [image, cmdline, end, ...flags] = process.argv.slice(2);
const endLine = new RegExp(end);
const warmup = flags.includes('--warmup') ? flags[flags.indexOf('--warmup') + 1] : undefined;

const file = (path: string) => { const b = readFileSync(path); return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer }; };
const lib = createRequire(import.meta.url).resolve('v86');
const { V86 } = await import('v86');

/** Boot the image with `args` until its end line; `print` gets each line. */
function boot(args: string, print: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const emulator = new V86({
      wasm_path: join(dirname(lib), 'v86.wasm'),
      memory_size: 64 * 1024 * 1024,
      multiboot: file(image),
      cmdline: args,
      autostart: true,
      disable_jit: flags.includes('--no-jit'),
      ...(existsSync(SEABIOS) ? { bios: file(SEABIOS), ...(existsSync(SEABIOS_VGA) ? { vga_bios: file(SEABIOS_VGA) } : {}) } : {}),
    });
    let line = '';
    emulator.add_listener('serial0-output-byte', (b: number) => {
      line += String.fromCharCode(b);
      if (b !== 0x0a) return;
      print(line);
      if (endLine.test(line)) { void emulator.stop(); void emulator.destroy(); resolve(); }
      line = '';
    });
  });
}

// --warmup: a shorter boot first (output discarded), so the timed one runs on warm code
if (warmup !== undefined) await boot(warmup, () => {});
await boot(cmdline, (line) => process.stdout.write(line));
process.exit(0);
