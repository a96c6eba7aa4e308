// One client socket on the emulated server: the transport around the connection machine
// (connection-machine.ts), which decides every answer. This file parses frames, answers pings, hands
// admin commands to the machine as events, and carries out the effects and steps the machine names,
// asking the server it belongs to (a ConnectionHost: the hub) for shared state. Frames of one socket are
// handled strictly in order: the next waits while the machine is busy. A malformed or forged frame closes
// only this socket, with the reason logged. The server takes its time over each request (options.ts,
// latency), stops reading while the peer leaves too much output unread and drops it past a limit, closes
// an idle socket, and counts a pushed message delivered only once a WebSocket ping sent after it came
// back: what a socket that closed had not acknowledged is queued for the browser again.
import type { WebSocket } from 'ws';
import { type Actor, assertEvent, createActor, fromCallback, type SnapshotFrom } from 'xstate';
import {
  type BinaryNode,
  decodeNode,
  encodeNode,
  encodeWebMessageInfo,
  jsonFrame,
  parseClientFrame,
  pongFrame,
  serverBinaryFrame,
  type WebMessageInfo,
} from '../../codec/index.ts';
import {
  buildPairingSecret,
  openFrame,
  randomBytes,
  type SessionKeys,
  sealFrame,
  toBase64,
} from '../../crypto/index.ts';
import { parseAdminCommand } from './commands.ts';
import type { ConnectionHost } from './connection-host.ts';
import { connectionMachine } from './connection-machine.ts';
import type {
  ChallengeAnswerRequest,
  ConnectionContext,
  ConnectionEvent,
  HeldSession,
  LoginRequest,
  StepEvent,
  StepInput,
} from './connection-types.ts';
import type { FaultBook, Step } from './faults.ts';
import type { LatencyKind } from './options.ts';
import {
  chatResponse,
  connPayload,
  contactsResponse,
  MD_UPGRADE_VERSION,
  PROPS,
  SERVER_VERSION,
  STREAM_UPDATE,
} from './payloads.ts';
import { answerBinaryRequest } from './requests.ts';
import type { Phone } from './world.ts';

export type ScanOutcome = 'paired' | 'upgrade_md_prod' | 'closed';

/** The latency (options.ts) a step stands for; the others are the server's own pauses. */
const STEP_LATENCY: Partial<Record<Step, LatencyKind>> = {
  init: 'init',
  reref: 'reref',
  login: 'login',
  challenge: 'challenge',
  logout: 'logout',
};

/** A tag is 1-128 printable ASCII characters (docs/protocol.md §1); anything else is no frame. */
const TAG = /^[\x21-\x7e]{1,128}$/;
/** `WebSocket.OPEN`. */
const OPEN = 1;
/** Pushed messages remembered per socket until acknowledged (as many as wait for an absent browser). */
const MAX_UNACKED = 1000;
/** How often a socket whose reading is paused looks whether its peer read enough. */
const OUTPUT_POLL_MS = 50;

/** The event a step's pause reports when it passed. */
const PAUSE_DONE: Partial<Record<Step, StepEvent['type']>> = {
  scan: 'SCAN_DONE',
  conn: 'CONN_DONE',
  ready: 'READY_DONE',
  logout: 'LOGOUT_DONE',
};

export class Connection {
  readonly id: number;
  private readonly machine: Actor<typeof connectionMachine>;
  private readonly faults: FaultBook;
  private jsonCounter = 0;
  private pushCounter = 0;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** What the scan being handled came to (pair() reports it to the phone API). */
  private scanOutcome: ScanOutcome = 'closed';
  /** Messages pushed and not yet covered by a returned WebSocket ping. */
  private unacked: { seq: number; info: WebMessageInfo }[] = [];
  private pushSeq = 0;
  /** The last push seq the outstanding ping covers, or null when none is out. */
  private pingCovers: number | null = null;
  private readonly idleTimer: NodeJS.Timeout;
  /** Frames that arrived so far, and how many had when a login's answer went out (with its tag). */
  private arrivals = 0;
  private loginAnswered: { tag: string; arrivals: number } | null = null;
  private outputPoll: NodeJS.Timeout | null = null;
  /** Frames read and not yet handled; past maxQueuedFrames reading pauses until half of them are done. */
  private queued = 0;
  private readingHeldForQueue = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: ConnectionHost<Connection>,
    id: number,
  ) {
    this.id = id;
    this.faults = host.faults;
    this.machine = createActor(Connection.provided, { input: { refTtlMs: host.refTtlMs } });
    Connection.bySystem.set(this.machine.system, this);
    this.machine.subscribe({
      error: (error) => this.close(`internal error: ${(error as Error).message}`, 1011),
    });
    this.machine.start();
    const idleMs = host.options.idleTimeoutMs;
    this.idleTimer = setTimeout(() => this.close(`idle for ${idleMs} ms`, 1001), idleMs);
    this.idleTimer.unref?.();
    ws.on('message', (data, isBinary) => {
      this.idleTimer.refresh();
      this.arrivals += 1;
      const arrival = this.arrivals;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.frameQueued();
      void this.enqueue(() => this.handleFrame(bytes, isBinary, arrival)).finally(() => this.frameDone());
    });
    ws.on('pong', () => this.pongReceived());
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
    if (this.outputPoll) clearInterval(this.outputPoll);
    this.outputPoll = null;
    // What this socket never acknowledged goes back to the browser's queue (before the socket lets go of it).
    const unacked = this.unacked.map((m) => m.info);
    this.unacked = [];
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
      this.scanOutcome = 'closed';
      await this.dispatch({
        type: 'SCANNED',
        phoneNumber: phone.number,
        multiDevice: phone.multiDevice,
        clientPublicKey,
        keys: { encKey: randomBytes(32), macKey: randomBytes(32) },
      });
      return this.scanOutcome;
    });
    return outcome ?? 'closed';
  }

  /** Another socket took this one's browser over (`replaced`), or the phone unlinked it (null). */
  kick(kind: 'replaced' | null): void {
    this.send({ type: kind === 'replaced' ? 'REPLACED' : 'UNLINKED' });
  }

  /** Fault injection: bytes that are not a frame. */
  sendRaw(text: string): void {
    this.write(text);
  }

  /** Server-initiated JSON: tagged s1, s2, … per connection. */
  pushJson(data: unknown): void {
    this.jsonCounter += 1;
    this.sendJson(`s${this.jsonCounter}`, data);
  }

  pushMessage(info: WebMessageInfo, keys = this.snapshot.context.session?.keys): void {
    if (!keys || !this.isOpen) {
      // Not sent: it stays the browser's (the hub queues it when no open socket holds the browser).
      const clientId = this.snapshot.context.session?.clientId;
      if (clientId) this.host.requeue(clientId, [info], { pushToHolder: false });
      return;
    }
    this.sendBinary(this.pushTag(), keys, [
      'action',
      { add: 'relay' },
      [['message', null, encodeWebMessageInfo(info)]],
    ]);
    this.pushSeq += 1;
    this.unacked.push({ seq: this.pushSeq, info });
    // A peer that never answers pings cannot hold more than this many back.
    if (this.unacked.length > MAX_UNACKED) this.unacked.shift();
    if (this.pingCovers === null) this.sendAckPing();
  }

  /** Messages pushed but not yet acknowledged (a returned ping sent after them). */
  get unacknowledged(): number {
    return this.unacked.length;
  }

  // ---- delivery acknowledgement: a WebSocket ping after the pushes; its pong proves they arrived ----

  private sendAckPing(): void {
    if (!this.isOpen) return;
    this.pingCovers = this.pushSeq;
    this.ws.ping();
  }

  private pongReceived(): void {
    this.idleTimer.refresh();
    if (this.pingCovers === null) return;
    const covered = this.pingCovers;
    this.unacked = this.unacked.filter((m) => m.seq > covered);
    this.pingCovers = null;
    if (this.unacked.length > 0) this.sendAckPing();
  }

  // ---- sending ----

  private sendText(text: string): void {
    this.write(text);
  }

  /** Sends, then looks at what the peer left unread: past highWaterBytes reading pauses, past the limit the socket goes. */
  private write(data: string | Uint8Array): void {
    if (this.closed) return;
    this.ws.send(data);
    const { highWaterBytes, maxBufferedBytes } = this.host.options;
    const buffered = this.ws.bufferedAmount;
    if (buffered > maxBufferedBytes) {
      this.host.log.info({ conn: this.id, buffered }, 'dropping a socket that does not read');
      this.close(`the peer left ${buffered} bytes unread`, 1008);
      this.ws.terminate();
    } else if (buffered > highWaterBytes && !this.outputPoll) {
      if (!this.readingHeldForQueue) this.ws.pause();
      this.outputPoll = setInterval(() => {
        if (this.ws.bufferedAmount > highWaterBytes / 2) return;
        clearInterval(this.outputPoll!);
        this.outputPoll = null;
        if (!this.closed && !this.readingHeldForQueue) this.ws.resume();
      }, OUTPUT_POLL_MS);
      this.outputPoll.unref?.();
    }
  }

  private frameQueued(): void {
    this.queued += 1;
    if (this.queued > this.host.options.maxQueuedFrames && !this.readingHeldForQueue) {
      this.readingHeldForQueue = true;
      if (!this.outputPoll) this.ws.pause();
    }
  }

  private frameDone(): void {
    this.queued -= 1;
    if (this.readingHeldForQueue && this.queued <= this.host.options.maxQueuedFrames / 2) {
      this.readingHeldForQueue = false;
      if (!this.outputPoll && !this.closed) this.ws.resume();
    }
  }

  /** Runs `send` after the server's latency for `kind` (at once for 0). */
  private later(kind: LatencyKind, send: () => void): void {
    const ms = this.host.latency[kind];
    if (ms === 0) send();
    else setTimeout(send, ms);
  }

  private sendJson(tag: string, data: unknown): void {
    this.sendText(jsonFrame(tag, data));
  }

  private sendBinary(tag: string, keys: SessionKeys | undefined, node: BinaryNode): void {
    if (!keys || this.closed) return;
    const sealed = sealFrame(keys, encodeNode(node));
    if (this.faults.take('corruptHmac')) sealed[0]! ^= 0xff;
    this.write(serverBinaryFrame(tag, sealed));
  }

  private pushTag(): string {
    this.pushCounter += 1;
    return `${Math.floor(this.host.now() / 1000)}-${this.pushCounter}`;
  }

  // ---- receiving ----

  private async handleFrame(data: Buffer, isBinary: boolean, arrival: number): Promise<void> {
    if (this.closed) return;
    this.host.frameReceived();
    if (this.faults.countFrame()) {
      this.close('fault: closeSocket afterFrames', 1001);
      return;
    }
    let frame: ReturnType<typeof parseClientFrame>;
    try {
      frame = parseClientFrame(data, isBinary);
    } catch (error) {
      this.close(`malformed frame: ${(error as Error).message}`, 1002);
      return;
    }
    // An empty tag, or one with control characters, is no frame (and is never echoed back).
    if (frame.kind !== 'ping' && !TAG.test(frame.tag)) {
      this.close('malformed frame: a tag is 1-128 printable ASCII characters', 1002);
      return;
    }
    if (frame.kind === 'ping') {
      // Fault: the ping goes unanswered (later frames are answered as usual).
      if (this.faults.take('dropPing')) return;
      this.sendText(pongFrame(this.host.now()));
      return;
    }
    if (frame.kind === 'binary')
      return this.dispatch({ type: 'BINARY', tag: frame.tag, payload: frame.payload });
    const request = parseAdminCommand(frame.tag, frame.data);
    if (!request) {
      this.sendJson(frame.tag, { status: 400 });
      return;
    }
    if (request.type === 'LOGIN') {
      const answered = this.loginAnswered;
      request.afterAnswer = answered !== null && answered.tag === request.tag && arrival > answered.arrivals;
    }
    await this.dispatch(request);
  }

  // ---- the machine's steps: injected delays and closes, then what the server found ----

  /** Applies delay and close faults at a named step; false when the socket was closed. */
  private async pause(step: Step): Promise<boolean> {
    const kind = STEP_LATENCY[step];
    const latency = kind ? this.host.latency[kind] : 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (this.closed) return false;
    const delay = this.faults.take('delay', (r) => r.at === step);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    if (this.faults.take('closeSocket', (r) => 'at' in r && r.at === step)) {
      this.close(`fault: closeSocket at ${step}`, 1001);
      return false;
    }
    return !this.closed;
  }

  /** The connection whose machine runs in `system`. */
  private static of(system: unknown): Connection {
    const connection = Connection.bySystem.get(system as object);
    if (!connection) throw new Error('no connection owns this actor system');
    return connection;
  }

  /** A step actor: pauses at its step, then reports `report(…)` unless the machine left the state. */
  private static step<I extends StepInput>(report: (connection: Connection, input: I) => StepEvent) {
    return fromCallback<ConnectionEvent, I>(({ input, system, sendBack }) => {
      const connection = Connection.of(system);
      let live = true;
      connection
        .pause(input.step)
        .then((passed) => {
          if (passed && live) sendBack(report(connection, input));
        })
        .catch((error: unknown) => connection.close(`internal error: ${(error as Error).message}`, 1011));
      return () => {
        live = false;
      };
    });
  }

  private static readonly bySystem = new WeakMap<object, Connection>();

  // One provided machine for every connection: providing per socket rebuilt the machine's state nodes
  // (about a millisecond each). A connection's effects are found through its actor system.
  private static readonly provided = connectionMachine.provide({
    actors: {
      checkInit: Connection.step((c) => ({
        type: 'INIT_CHECKED',
        forced: c.faults.take('initStatus')?.status ?? null,
        ref: c.host.mintRef(),
      })),
      checkReref: Connection.step((c) => ({
        type: 'REREF_CHECKED',
        // An `answer` fault is a server that grants the reref whatever the ref's age: a forced 200.
        forced:
          c.faults.take('rerefStatus')?.status ??
          (c.faults.armed('answer', (r) => r.at === 'reref') ? 200 : null),
        ref: c.host.mintRef(),
        now: c.host.now(),
      })),
      checkLogin: Connection.step<StepInput & { login: LoginRequest }>((c, { login }) => ({
        type: 'LOGIN_CHECKED',
        forced: c.faults.take('loginStatus')?.status ?? null,
        ...c.host.loginFacts(c, login),
        challengeForced: c.faults.armed('challenge'),
        challenge: randomBytes(32),
      })),
      checkChallenge: Connection.step<StepInput & { answer: ChallengeAnswerRequest }>((c, { answer }) => ({
        type: 'CHALLENGE_CHECKED',
        forced: c.faults.take('challengeStatus')?.status ?? null,
        ...c.host.challengeFacts(c, answer.clientId),
      })),
      pause: Connection.step((_, { step }) => ({ type: PAUSE_DONE[step]! }) as StepEvent),
    },
    actions: {
      answerRequest: ({ system, context }, { body }) => {
        const connection = Connection.of(system);
        const tag = tagOf(context.request);
        if (context.request?.type === 'LOGIN')
          connection.loginAnswered = { tag, arrivals: connection.arrivals };
        connection.sendJson(tag, body);
      },
      answerFrame: ({ system, event }, { body }) => Connection.of(system).sendJson(tagOf(event), body),
      answerChallengedLogin: ({ system, context }, { body }) => {
        const connection = Connection.of(system);
        const tag = context.challengedLoginTag;
        if (!tag) return;
        connection.loginAnswered = { tag, arrivals: connection.arrivals };
        connection.sendJson(tag, body);
      },
      answerInit: ({ system, context }) => Connection.of(system).answerInit(context),
      answerRef: ({ system, context }) => Connection.of(system).answerRef(context),
      registerRef: ({ system, context }) => {
        const connection = Connection.of(system);
        if (context.ref) connection.host.registerRef(connection, context.ref);
      },
      retireRef: ({ system, context }) => {
        if (context.ref) Connection.of(system).host.retireRef(context.ref.value);
      },
      pushUpgrade: ({ system }) => Connection.of(system).pushUpgrade(),
      linkBrowser: ({ system, context }) => {
        const connection = Connection.of(system);
        const { clientId, phoneNumber, keys } = held(context);
        connection.host.linkBrowser(connection, {
          clientId,
          phoneNumber,
          description: context.description,
          keys,
        });
      },
      resumeSession: ({ system, context }) => {
        const connection = Connection.of(system);
        connection.host.resumeSession(connection, held(context).clientId, context.loginTokens);
      },
      pushConn: ({ system, context }, { pairing }) => Connection.of(system).pushConn(context, pairing),
      pushStreamAndProps: ({ system }) => Connection.of(system).pushStreamAndProps(),
      pushPreempt: ({ system, context }) => Connection.of(system).pushPreempt(held(context)),
      pushChallenge: ({ system, context }) => {
        if (!context.challenge) throw new Error('no challenge to send');
        Connection.of(system).pushJson([
          'Cmd',
          { type: 'challenge', challenge: toBase64(context.challenge.bytes) },
        ]);
      },
      consumeChallengeFault: ({ system }) => {
        Connection.of(system).faults.take('challenge');
      },
      deliverPending: ({ system, context }) => {
        const connection = Connection.of(system);
        const session = held(context);
        for (const info of connection.host.takePending(session.clientId))
          connection.pushMessage(info, session.keys);
      },
      forgetBrowser: ({ system, context }) =>
        Connection.of(system).host.forgetBrowser(held(context).clientId),
      answerBinary: ({ system, context, event }) => {
        assertEvent(event, 'BINARY');
        Connection.of(system).answerBinary(event.tag, event.payload, held(context));
      },
      pushDisconnect: ({ system }, { kind }) =>
        Connection.of(system).pushJson(['Cmd', kind ? { type: 'disconnect', kind } : { type: 'disconnect' }]),
      closeSocket: ({ system }, { reason, code }) => Connection.of(system).close(reason, code),
    },
  });

  // ---- effects ----

  private answerInit(context: ConnectionContext): void {
    const tag = tagOf(context.request);
    const answer = {
      status: 200,
      ref: context.ref?.value,
      ttl: this.host.refTtlMs,
      update: false,
      curr: SERVER_VERSION,
      time: this.host.now(),
    };
    const body = this.faultyAnswer('init') ?? answer;
    // Fault: the answer comes late, after the frames that follow init (a login) were answered.
    const late = this.faults.take('initLate');
    if (late) setTimeout(() => this.sendJson(tag, body), late.ms);
    else this.sendJson(tag, body);
  }

  private answerRef(context: ConnectionContext): void {
    const answer = { status: 200, ref: context.ref?.value, ttl: this.host.refTtlMs };
    this.sendJson(tagOf(context.request), this.faultyAnswer('reref') ?? answer);
  }

  /** Fault (a hostile or odd server, for client tests): the next init or reref answer is this body. */
  private faultyAnswer(at: 'init' | 'reref'): Record<string, unknown> | undefined {
    return this.faults.take('answer', (r) => r.at === at)?.body;
  }

  /** A Conn push, with the fields of a connFields fault over its own. */
  private pushConnPayload([kind, body]: ReturnType<typeof connPayload>): void {
    const fields = this.faults.take('connFields')?.fields;
    this.pushJson([kind, fields ? { ...body, ...fields } : body]);
  }

  private pushUpgrade(): void {
    this.pushJson(['Cmd', { type: 'upgrade_md_prod', version: MD_UPGRADE_VERSION }]);
    this.scanOutcome = 'upgrade_md_prod';
  }

  /** Conn with the browser's tokens; after a scan, with the ref and the pairing secret (docs/protocol.md §2.4). */
  private pushConn(context: ConnectionContext, pairing: boolean): void {
    const session = held(context);
    const { phone, tokens } = this.host.connView(session.clientId);
    if (!pairing || !context.scan) {
      this.pushConnPayload(connPayload(phone, tokens, {}));
      return;
    }
    const secret = buildPairingSecret(context.scan.clientPublicKey, session.keys);
    if (this.faults.take('badSecret')) secret[40]! ^= 0x01;
    this.pushConnPayload(connPayload(phone, tokens, { ref: context.ref?.value, secret: toBase64(secret) }));
  }

  /** docs/protocol.md §3: after login the server pushes the contact and chat lists unasked. */
  private pushPreempt(session: HeldSession): void {
    const phone = this.host.phone(session.phoneNumber);
    this.sendBinary(this.preemptTag(), session.keys, contactsResponse(phone));
    this.sendBinary(this.preemptTag(), session.keys, chatResponse(phone, this.host.now()));
  }

  private preemptTag(): string {
    this.pushCounter += 1;
    return `preempt-${Math.floor(this.host.now() / 1000)}-${this.pushCounter}`;
  }

  private pushStreamAndProps(): void {
    this.pushJson(STREAM_UPDATE);
    this.pushJson(PROPS);
    this.scanOutcome = 'paired';
  }

  // ---- binary requests ----

  private answerBinary(tag: string, payload: Uint8Array, session: HeldSession): void {
    let node: BinaryNode;
    try {
      node = decodeNode(openFrame(session.keys, payload));
    } catch (error) {
      this.host.frameDropped();
      this.close(`dropped a binary frame: ${(error as Error).message}`, 1008);
      return;
    }
    const replies = answerBinaryRequest(tag, node, {
      phone: this.host.phone(session.phoneNumber),
      clientId: session.clientId,
      nowMs: this.host.now(),
      reuploadMedia: (index) => this.host.reuploadMedia(index),
      recordSent: (message) => this.host.recordSent(session.phoneNumber, message),
    });
    // The ack of a relay goes out at once; the answers after the server's time for the request's kind.
    const kind: LatencyKind = node[0] === 'query' ? 'query' : 'relay';
    const answers = replies.filter((reply) => reply.kind !== 'ack');
    if (answers.length < replies.length) this.sendText(`${tag},`);
    this.later(kind, () => {
      for (const reply of answers) {
        if (reply.kind === 'node') this.sendBinary(tag, session.keys, reply.node);
        else if (reply.kind === 'json') this.sendJson(tag, reply.body);
      }
    });
  }
}

/** The tag an answer goes to: the pending request's, or the frame's being handled. */
function tagOf(request: object | null): string {
  const tag = (request as { tag?: unknown } | null)?.tag;
  if (typeof tag !== 'string') throw new Error('no tagged request to answer');
  return tag;
}

/** The browser this socket holds, which the machine only asks about once it holds one. */
function held(context: ConnectionContext): HeldSession {
  if (!context.session) throw new Error('this socket holds no browser');
  return context.session;
}
