// What the receiver and the sender of one socket share (as ws's Receiver and Sender share a socket): the
// session keys, and which tag asked what, so that an answer finds its meaning (docs/protocol.md §1).
import type { SessionKeys } from '../../crypto/index.ts';

/** What a request was, so its answer can be read. */
export type RequestKind = 'init' | 'login' | 'reref' | 'challenge' | 'test' | 'goodbye' | 'query' | 'message';

export class TagLedger {
  private readonly pending = new Map<string, RequestKind>();

  /** The session keys once the session has them (restored, or from pairing via `use.keys`). */
  constructor(public keys: SessionKeys | null) {}

  /** `tag` was sent asking `kind`. */
  asked(tag: string, kind: RequestKind): void {
    this.pending.set(tag, kind);
  }

  /** Whether `tag` still waits for its answer. */
  isPending(tag: string): boolean {
    return this.pending.has(tag);
  }

  /** What `tag` asked, once: the answer settles it. */
  answered(tag: string): RequestKind | undefined {
    const kind = this.pending.get(tag);
    this.pending.delete(tag);
    return kind;
  }
}
