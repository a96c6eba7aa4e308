// Message tags (docs/protocol.md §1): one counter per connection shared by long and short tags.
import { randomBytes } from 'node:crypto';

export class TagGenerator {
  private counter = 0;
  private readonly shortPrefix: number;

  constructor(private readonly now: () => number = Date.now) {
    this.shortPrefix = Math.floor(now() / 1000) % 1000;
  }

  /** `<unix-seconds>.--<n>`: admin requests and queries. */
  long(): string {
    return `${Math.floor(this.now() / 1000)}.--${this.counter++}`;
  }

  /** `<seconds-at-connect % 1000>.--<n>`: queued requests. */
  short(): string {
    return `${this.shortPrefix}.--${this.counter++}`;
  }
}

/** A web message id: `3EB0` + 16 upper-case hex digits. */
export function newMessageId(random: (n: number) => Uint8Array = (n) => randomBytes(n)): string {
  return `3EB0${Buffer.from(random(8)).toString('hex').toUpperCase()}`;
}
