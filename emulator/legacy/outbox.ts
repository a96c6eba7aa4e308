// The one way out of a socket: every frame the server sends passes here, so nothing goes out once the
// socket closed and each send is followed by the backpressure check (backpressure.ts). It seals binary
// frames (docs/protocol.md §1, where the `corruptHmac` fault flips a byte), numbers the server's own tags
// (`s1`…, `<unix s>-<n>`, `preempt-<unix s>-<n>`, §1 "Tags"), and holds answers back for the server's time
// for a kind of request (options.ts, latency).
import type { WebSocket } from 'ws';
import { type BinaryNode, encodeNode, jsonFrame, serverBinaryFrame } from '../../codec/index.ts';
import { type SessionKeys, sealFrame } from '../../crypto/index.ts';
import type { Backpressure } from './backpressure.ts';
import type { FaultBook } from './faults.ts';
import type { LatencyKind } from './options.ts';

export interface OutboxScope {
  readonly faults: FaultBook;
  /** What the server takes to answer each kind of request, in ms. */
  readonly latency: Readonly<Record<LatencyKind, number>>;
  now(): number;
  isClosed(): boolean;
}

export class Outbox {
  private jsonCounter = 0;
  private pushCounter = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly backpressure: Backpressure,
    private readonly scope: OutboxScope,
  ) {}

  /** Sends, then lets backpressure look at what the peer left unread. */
  write(data: string | Uint8Array): void {
    if (this.scope.isClosed()) return;
    this.ws.send(data);
    this.backpressure.wrote();
  }

  json(tag: string, data: unknown): void {
    this.write(jsonFrame(tag, data));
  }

  /** Server-initiated JSON: tagged s1, s2, … per connection. */
  serverJson(data: unknown): void {
    this.jsonCounter += 1;
    this.json(`s${this.jsonCounter}`, data);
  }

  /** A sealed binary frame; nothing without keys. */
  binary(tag: string, keys: SessionKeys | undefined, node: BinaryNode): void {
    if (!keys || this.scope.isClosed()) return;
    const sealed = sealFrame(keys, encodeNode(node));
    if (this.scope.faults.take('corruptHmac')) sealed[0]! ^= 0xff;
    this.write(serverBinaryFrame(tag, sealed));
  }

  /** The tag of a pushed message. */
  pushTag(): string {
    this.pushCounter += 1;
    return `${Math.floor(this.scope.now() / 1000)}-${this.pushCounter}`;
  }

  /** The tag of a list pushed unasked after login (docs/protocol.md §3). */
  preemptTag(): string {
    this.pushCounter += 1;
    return `preempt-${Math.floor(this.scope.now() / 1000)}-${this.pushCounter}`;
  }

  /** Runs `send` after the server's latency for `kind` (at once for 0). */
  later(kind: LatencyKind, send: () => void): void {
    const ms = this.scope.latency[kind];
    if (ms === 0) send();
    else setTimeout(send, ms);
  }
}
