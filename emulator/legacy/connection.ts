// One client socket on the emulated server: its life from open to close, around the connection machine
// (connection-machine.ts), which decides every answer. Frames are read (frame-reader.ts) and handed to
// the machine strictly in order: the next waits while the machine is busy. A malformed or forged frame
// closes only this socket, with the reason logged. What the machine names is carried out by the socket's
// parts (socket-bindings.ts): answers, pushes and steps over the outbox (outbox.ts, with backpressure.ts),
// the push ledger (push-ledger.ts) and the login re-send record (login-resends.ts), asking the server it
// belongs to (a ConnectionHost: the hub) for shared state. A socket that sends nothing for idleTimeoutMs
// is closed; what it never acknowledged goes back to the browser's queue when it closes.
import type { WebSocket } from 'ws';
import { type Actor, createActor, type SnapshotFrom } from 'xstate';
import { pongFrame, type WebMessageInfo } from '../../codec/index.ts';
import { randomBytes } from '../../crypto/index.ts';
import { Backpressure } from './backpressure.ts';
import type { ConnectionHost } from './connection-host.ts';
import type { connectionMachine } from './connection-machine.ts';
import type { ConnectionEvent } from './connection-types.ts';
import type { FaultBook } from './faults.ts';
import { readFrame } from './frame-reader.ts';
import { LoginResends } from './login-resends.ts';
import { Outbox } from './outbox.ts';
import { PushLedger } from './push-ledger.ts';
import { bindSocket, providedConnectionMachine } from './socket-bindings.ts';
import type { ScanOutcome, SocketParts } from './socket-parts.ts';
import { pushJson, pushMessage } from './socket-pushes.ts';
import type { Phone } from './world.ts';

export type { ScanOutcome } from './socket-parts.ts';

/** `WebSocket.OPEN`. */
const OPEN = 1;

export class Connection {
  readonly id: number;
  private readonly machine: Actor<typeof connectionMachine>;
  private readonly faults: FaultBook;
  private readonly backpressure: Backpressure;
  private readonly parts: SocketParts<Connection>;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: ConnectionHost<Connection>,
    id: number,
  ) {
    this.id = id;
    this.faults = host.faults;
    const isClosed = () => this.closed;
    this.backpressure = new Backpressure(ws, host.options, isClosed, (buffered) => {
      this.host.log.info({ conn: this.id, buffered }, 'dropping a socket that does not read');
      this.close(`the peer left ${buffered} bytes unread`, 1008);
      this.ws.terminate();
    });
    const outbox = new Outbox(ws, this.backpressure, {
      faults: host.faults,
      latency: host.latency,
      now: () => host.now(),
      isClosed,
    });
    this.parts = {
      owner: this,
      host,
      faults: host.faults,
      outbox,
      ledger: new PushLedger(
        () => this.isOpen,
        () => this.ws.ping(),
      ),
      resends: new LoginResends(),
      scanOutcome: 'closed',
      isOpen: () => this.isOpen,
      isClosed,
      heldSession: () => this.snapshot.context.session,
      close: (reason, code) => this.close(reason, code),
    };
    this.machine = createActor(providedConnectionMachine, { input: { refTtlMs: host.refTtlMs } });
    bindSocket(this.machine.system, this.parts);
    this.machine.subscribe({
      error: (error) => this.close(`internal error: ${(error as Error).message}`, 1011),
    });
    this.machine.start();
    const idleMs = host.options.idleTimeoutMs;
    this.idleTimer = setTimeout(() => this.close(`idle for ${idleMs} ms`, 1001), idleMs);
    this.idleTimer.unref?.();
    ws.on('message', (data, isBinary) => {
      this.idleTimer.refresh();
      const arrival = this.parts.resends.arrived();
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.backpressure.frameQueued();
      void this.enqueue(() => this.handleFrame(bytes, isBinary, arrival)).finally(() =>
        this.backpressure.frameDone(),
      );
    });
    ws.on('pong', () => {
      this.idleTimer.refresh();
      this.parts.ledger.ponged();
    });
    ws.on('close', () => this.onClosed());
    ws.on('error', (error) => this.host.log.warn({ conn: this.id, err: error.message }, 'socket error'));
  }

  private get snapshot(): SnapshotFrom<typeof connectionMachine> {
    return this.machine.getSnapshot();
  }

  /** The clientId this socket introduced itself with (init), or the one it logged in as. */
  get clientId(): string | null {
    return this.snapshot.context.clientId;
  }

  /** The socket shows a ref a phone may scan. */
  get isScannable(): boolean {
    return this.snapshot.hasTag('scannable');
  }

  get isAuthenticated(): boolean {
    return this.snapshot.hasTag('authenticated');
  }

  /** Open for sending: a socket whose peer is gone, or that is closing, gets nothing more. */
  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === OPEN;
  }

  /** Messages pushed but not yet acknowledged (a returned ping sent after them). */
  get unacknowledged(): number {
    return this.parts.ledger.size;
  }

  /** Runs `task` after everything already queued for this socket; errors close the socket. */
  private enqueue<T>(task: () => Promise<T> | T): Promise<T | undefined> {
    const run = this.queue.then(task);
    this.queue = run.then(
      () => undefined,
      (error: unknown) => this.close(`internal error: ${(error as Error).message}`, 1011),
    );
    return run.catch(() => undefined);
  }

  close(reason: string, code = 1008): void {
    if (this.closed) return;
    this.closed = true;
    this.host.log.info({ conn: this.id, reason }, 'closing socket');
    this.ws.close(code, reason.slice(0, 120));
    // A peer that never answers the close handshake must not keep the socket forever.
    setTimeout(() => this.ws.terminate(), 2000).unref();
    this.onClosed();
  }

  private onClosed(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.backpressure.stop();
    // What this socket never acknowledged goes back to the browser's queue (before the socket lets go of it).
    const unacked = this.parts.ledger.drain();
    const clientId = this.snapshot.context.session?.clientId;
    if (clientId && unacked.length > 0) this.host.requeue(clientId, unacked);
    // A socket closes twice (our close, then the peer's): the machine hears it once.
    this.send({ type: 'CLOSE' });
    this.host.detach(this);
  }

  private send(event: ConnectionEvent): void {
    if (this.snapshot.status === 'active') this.machine.send(event);
  }

  /** Sends `event` to the machine and waits until it is done with it (no `busy` state is active). */
  private async dispatch(event: ConnectionEvent): Promise<void> {
    this.send(event);
    await new Promise<void>((resolve) => {
      const done = (snapshot: SnapshotFrom<typeof connectionMachine>) =>
        snapshot.status !== 'active' || !snapshot.hasTag('busy');
      if (done(this.snapshot)) return resolve();
      const subscription = this.machine.subscribe({
        next: (snapshot) => {
          if (!done(snapshot)) return;
          subscription.unsubscribe();
          resolve();
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
    });
  }

  // ---- what the hub asks of this socket ----

  /** The phone scanned this socket's ref (phone API); handled in turn with the socket's frames. */
  async pair(phone: Readonly<Phone>, clientPublicKey: Uint8Array): Promise<ScanOutcome> {
    const outcome = await this.enqueue(async () => {
      this.parts.scanOutcome = 'closed';
      await this.dispatch({
        type: 'SCANNED',
        phoneNumber: phone.number,
        multiDevice: phone.multiDevice,
        clientPublicKey,
        keys: { encKey: randomBytes(32), macKey: randomBytes(32) },
      });
      return this.parts.scanOutcome;
    });
    return outcome ?? 'closed';
  }

  /** Another socket took this one's browser over (`replaced`), or the phone unlinked it (null). */
  kick(kind: 'replaced' | null): void {
    this.send({ type: kind === 'replaced' ? 'REPLACED' : 'UNLINKED' });
  }

  /** Fault injection: bytes that are not a frame. */
  sendRaw(text: string): void {
    this.parts.outbox.write(text);
  }

  /** Server-initiated JSON: tagged s1, s2, … per connection. */
  pushJson(data: unknown): void {
    pushJson(this.parts, data);
  }

  /** A message from the phone, remembered until a ping acknowledges it. */
  pushMessage(info: WebMessageInfo): void {
    pushMessage(this.parts, info);
  }

  // ---- receiving ----

  private async handleFrame(data: Buffer, isBinary: boolean, arrival: number): Promise<void> {
    if (this.closed) return;
    this.host.frameReceived();
    if (this.faults.countFrame()) {
      this.close('fault: closeSocket afterFrames', 1001);
      return;
    }
    const frame = readFrame(data, isBinary);
    if (frame.kind === 'ping') {
      // Fault: the ping goes unanswered (later frames are answered as usual).
      if (this.faults.take('dropPing')) return;
      this.parts.outbox.write(pongFrame(this.host.now()));
      return;
    }
    this.parts.resends.stamp(frame.event, arrival);
    await this.dispatch(frame.event);
  }
}
