// Delivery acknowledgement for pushed messages (docs/emulator.md, "The WebSocket endpoint"): a message
// pushed to a socket counts as delivered only once a WebSocket ping sent after it comes back (the peer's
// WebSocket stack has read it). Until then it is remembered here, and what a closing socket never
// acknowledged is handed back, to be queued for the browser again.
import type { WebMessageInfo } from '../../codec/index.ts';

/** Pushed messages remembered per socket until acknowledged (as many as wait for an absent browser). */
const MAX_UNACKED = 1000;

export class PushLedger {
  /** Messages pushed and not yet covered by a returned WebSocket ping. */
  private unacked: { seq: number; info: WebMessageInfo }[] = [];
  private pushSeq = 0;
  /** The last push seq the outstanding ping covers, or null when none is out. */
  private pingCovers: number | null = null;

  constructor(
    private readonly isOpen: () => boolean,
    private readonly ping: () => void,
  ) {}

  /** Messages pushed but not yet acknowledged. */
  get size(): number {
    return this.unacked.length;
  }

  /** `info` went out: remembered, and covered by a ping unless one is out already. */
  pushed(info: WebMessageInfo): void {
    this.pushSeq += 1;
    this.unacked.push({ seq: this.pushSeq, info });
    // A peer that never answers pings cannot hold more than this many back.
    if (this.unacked.length > MAX_UNACKED) this.unacked.shift();
    if (this.pingCovers === null) this.sendAckPing();
  }

  /** A pong: what the outstanding ping covered arrived; a ping covers what was pushed since. */
  ponged(): void {
    if (this.pingCovers === null) return;
    const covered = this.pingCovers;
    this.unacked = this.unacked.filter((m) => m.seq > covered);
    this.pingCovers = null;
    if (this.unacked.length > 0) this.sendAckPing();
  }

  /** The socket closed: what it never acknowledged, in the order pushed; the ledger is empty after. */
  drain(): WebMessageInfo[] {
    const unacked = this.unacked.map((m) => m.info);
    this.unacked = [];
    return unacked;
  }

  private sendAckPing(): void {
    if (!this.isOpen()) return;
    this.pingCovers = this.pushSeq;
    this.ping();
  }
}
