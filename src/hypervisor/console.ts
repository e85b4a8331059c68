// Each VM's serial output, cut into lines so that several VMs writing at once
// stay readable: every line goes out whole, prefixed with the VM's name.
export class LineConsole {
  private line: number[] = [];
  /** Every byte ever received, for tests and the API. */
  transcript = '';

  constructor(readonly name: string, private readonly sink: ((name: string, line: string) => void) | undefined) {}

  byte(b: number): void {
    this.transcript += String.fromCharCode(b);
    if (this.transcript.length > 1 << 20) this.transcript = this.transcript.slice(-(1 << 19));
    if (b === 10) this.flush();
    else this.line.push(b);
  }

  /** Emit a partial last line. */
  flush(): void {
    if (!this.line.length) return;
    let text = '';
    for (let i = 0; i < this.line.length; i += 4096) text += String.fromCharCode(...this.line.slice(i, i + 4096)); // latin1
    this.line = [];
    this.sink?.(this.name, text);
  }
}
