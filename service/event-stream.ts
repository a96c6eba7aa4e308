// Server-Sent Events to many clients with backpressure: what a client has not read yet stays in our
// buffers, so a client that stops reading is dropped once it holds more than `maxBufferedBytes`
// (its EventSource reconnects and starts again from a fresh `hello`). Memory stays bounded by
// clients × limit, whatever the rate of updates.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** Unsent bytes a client may hold before it is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
}

export const DEFAULT_SSE_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 15_000;

export class EventStreamHub {
  private readonly clients = new Map<ServerResponse, NodeJS.Timeout>();
  private readonly maxBufferedBytes: number;
  private readonly heartbeatMs: number;
  /** Clients dropped for not reading (for tests and the curious). */
  dropped = 0;

  constructor(options: EventStreamOptions = {}) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_SSE_MAX_BUFFERED_BYTES;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Answers `req` with an event stream, starting with `first` (the whole picture). */
  open(req: IncomingMessage, res: ServerResponse, first: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const heartbeat = setInterval(() => this.send(res, ': keep-alive\n\n'), this.heartbeatMs);
    heartbeat.unref();
    this.clients.set(res, heartbeat);
    const forget = () => this.forget(res);
    req.on('close', forget);
    res.on('close', forget);
    this.send(res, first);
  }

  /** One frame to every client (serialized once by the caller). */
  broadcast(frame: string): void {
    for (const client of this.clients.keys()) this.send(client, frame);
  }

  closeAll(): void {
    for (const client of [...this.clients.keys()]) {
      this.forget(client);
      client.end();
    }
  }

  private send(res: ServerResponse, frame: string): void {
    // writableLength counts what the response and its socket still hold: bytes the client has not taken.
    // A frame bigger than the limit still goes to a client that has taken everything before it.
    const held = res.writableLength;
    if (held > 0 && held + Buffer.byteLength(frame) > this.maxBufferedBytes) {
      this.dropped += 1;
      this.forget(res);
      res.destroy();
      return;
    }
    res.write(frame);
  }

  private forget(res: ServerResponse): void {
    const heartbeat = this.clients.get(res);
    if (heartbeat === undefined) return;
    clearInterval(heartbeat);
    this.clients.delete(res);
  }
}
