// Whether Redis answers, from one ioredis connection's events. ioredis retries by itself and emits an
// error per try (BullMQ re-emits each once per connection it holds): a log fed from those events floods.
// This says it once per outage, when the outage begins and when it ends, and can put a deadline on an
// outage.
import type { Redis } from 'ioredis';
import { MediaError } from '../errors.ts';

export interface RedisHealthEvents {
  /** Redis could not be reached (`lost`: it was reachable before). Once per outage. */
  onDown?: (reason: string, lost: boolean) => void;
  /** Redis answers again after an outage that onDown reported; `downMs` is how long it lasted. */
  onUp?: (downMs: number) => void;
}

/** A Redis URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured Redis';
  }
}

export class RedisHealth {
  private up: boolean;
  private everUp: boolean;
  private downSince: number;
  private reported = false;
  private lastReason = '';
  private readonly waiters = new Set<() => void>();
  private readonly listeners: [string, (error: Error) => void][] = [];

  constructor(
    private readonly connection: Redis,
    private readonly url: string,
    private readonly events: RedisHealthEvents = {},
    private readonly now: () => number = Date.now,
  ) {
    this.up = connection.status === 'ready';
    this.everUp = this.up;
    this.downSince = now();
    this.listen('ready', () => {
      const downMs = this.now() - this.downSince;
      this.up = true;
      this.everUp = true;
      if (this.reported) this.events.onUp?.(downMs);
      this.reported = false;
      this.lastReason = '';
    });
    this.listen('error', (error: Error) => {
      this.lastReason = error.message;
      this.markDown();
      if (!this.reported) {
        this.reported = true;
        this.events.onDown?.(this.lastReason, this.everUp);
      }
    });
    this.listen('close', () => this.markDown());
  }

  get reachable(): boolean {
    return this.up;
  }

  /** Unreachable for certain: it failed, or it was up and went away (not merely still connecting). */
  get knownDown(): boolean {
    return !this.up && (this.everUp || this.lastReason !== '');
  }

  /** The last connection error, for messages. */
  get reason(): string {
    return this.lastReason;
  }

  /** Resolves as soon as Redis is unreachable (at once if it is now). */
  whenDown(): Promise<void> {
    if (!this.up) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /**
   * Rejects with REDIS_UNREACHABLE once Redis has been unreachable for `ms` in a row; `cancel` stops the
   * watch. Checked at a fraction of `ms` so a deadline is kept to within that fraction.
   */
  deadline(ms: number): { promise: Promise<never>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<never>((_, reject) => {
      const check = () => {
        const downFor = this.now() - this.downSince;
        if (!this.up && downFor >= ms) {
          clearInterval(timer);
          reject(this.unreachable(ms));
        }
      };
      timer = setInterval(check, Math.max(10, Math.min(1_000, Math.floor(ms / 10))));
      timer.unref();
      check();
    });
    promise.catch(() => undefined);
    return { promise, cancel: () => clearInterval(timer) };
  }

  /** The error a caller gets when Redis does not answer within `ms`. */
  unreachable(ms?: number): MediaError {
    const within = ms !== undefined ? ` within ${ms} ms` : '';
    return new MediaError(
      'REDIS_UNREACHABLE',
      `cannot reach Redis at ${redactUrl(this.url)}${within}${this.lastReason ? ` (${this.lastReason})` : ''}`,
    );
  }

  stop(): void {
    for (const [event, listener] of this.listeners) this.connection.off(event, listener);
    this.listeners.length = 0;
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }

  private markDown(): void {
    if (this.up) {
      this.up = false;
      this.downSince = this.now();
    }
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }

  private listen(event: string, listener: (error: Error) => void): void {
    this.connection.on(event, listener);
    this.listeners.push([event, listener]);
  }
}
