// Errors the user caused (bad image, bad config): reported in one line, with
// the CLI's "bad input" status.
export class TrapezeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrapezeError';
  }
}

/**
 * Standard output was closed under us (the reader of a pipe left, as with
 * `| head -1`): the run ends quietly with OUTPUT_CLOSED_STATUS, the status a
 * program killed by SIGPIPE reports (128 + 13).
 */
export class OutputClosed extends Error {
  constructor() {
    super('standard output was closed');
    this.name = 'OutputClosed';
  }
}
export const OUTPUT_CLOSED_STATUS = 141;
