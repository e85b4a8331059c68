// A terminal on stdin, as a serial console wants it: the guest echoes what it
// is typed (as a real serial line's far end does), so the terminal must not
// echo too, and keys go to it as they are typed, not a line at a time. Ctrl-C
// still interrupts Trapeze. The terminal's settings come back at exit; since
// a signal or kill -9 ends the process without its exit handlers, a small
// shell waits on a pipe from this process and restores them when it closes.
import { spawn, spawnSync } from 'node:child_process';
import { isatty } from 'node:tty';
import type { Socket } from 'node:net';

let restore: (() => void) | undefined;

/** Put the stdin terminal into "no echo, no line buffering" until the process ends. */
export function rawishTerminal(): void {
  if (restore || !isatty(0)) return;
  const saved = spawnSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'ignore'], encoding: 'utf8' });
  if (saved.status !== 0) return; // no stty: leave the terminal as it is
  const settings = saved.stdout.trim();
  if (spawnSync('stty', ['-echo', '-icanon', 'min', '1', 'time', '0'], { stdio: ['inherit', 'ignore', 'ignore'] }).status !== 0) return;
  const guard = spawn('sh', ['-c', 'trap "" INT QUIT TERM HUP; cat >/dev/null; stty "$1" </dev/tty 2>/dev/null', 'sh', settings], { stdio: ['pipe', 'ignore', 'ignore'] });
  guard.on('error', () => {});
  guard.unref();
  (guard.stdin as Socket | null)?.unref();
  restore = () => {
    spawnSync('stty', [settings], { stdio: ['inherit', 'ignore', 'ignore'] });
    guard.stdin?.end();
    restore = undefined;
  };
  process.once('exit', () => restore?.());
}

/** Give the terminal its settings back now (the end of a run). */
export function restoreTerminal(): void {
  restore?.();
}
