// Errors the user caused (bad image, bad config): reported in one line, with
// the CLI's "bad input" status.
export class TrapezeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrapezeError';
  }
}
