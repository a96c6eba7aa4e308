// One client socket on the emulated server: parses frames, drives the connection machine, and
// answers as docs/protocol.md says. Frames of one socket are handled strictly in order; a malformed or
// forged frame closes only this socket, with the reason logged.
import type { WebSocket } from 'ws';
import { createActor } from 'xstate';
import {
  type BinaryNode,
  decodeNode,
  decodeWebMessageInfo,
  encodeNode,
  encodeWebMessageInfo,
  fromProtoJid,
  jsonFrame,
  parseClientFrame,
  pongFrame,
  serverBinaryFrame,
  type WebMessageInfo,
} from '../../codec/index.ts';
import {
  buildPairingSecret,
  challengeAnswer,
  constantTimeEqual,
  fromBase64,
  openFrame,
  randomBytes,
  sealFrame,
  toBase64,
} from '../../crypto/index.ts';
import { connectionMachine, MAX_REREFS } from './connection-machine.ts';
import type { Step } from './faults.ts';
import type { Hub } from './hub.ts';
import {
  chatResponse,
  connPayload,
  contactsResponse,
  MD_UPGRADE_VERSION,
  PROPS,
  SERVER_VERSION,
  STREAM_UPDATE,
} from './payloads.ts';
import { type Browser, newTokens, type Phone } from './world.ts';

/** Versions older than this get `["Cmd",{"type":"update"}]` instead of a ref. */
const MIN_CLIENT_VERSION = [0, 3, 0];

interface Ref {
  value: string;
  expiresAt: number;
}

interface PendingChallenge {
  bytes: Uint8Array;
  mode: 'takeover' | 'reconnect';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function olderThan(version: number[], minimum: number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    if ((version[i] ?? 0) !== minimum[i]) return (version[i] ?? 0) < minimum[i]!;
  }
  return false;
}

export class Connection {
  readonly id: number;
  readonly machine = createActor(connectionMachine).start();
  clientId: string | null = null;
  description: string[] = [];
  ref: Ref | null = null;
  browser: Browser | null = null;
  private challenge: PendingChallenge | null = null;
  /** The tokens of the login that authenticated this socket: the same frame again is a re-send. */
  private loginTokens: string | null = null;
  private jsonCounter = 0;
  private pushCounter = 0;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: Hub,
    id: number,
  ) {
    this.id = id;
    ws.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.enqueue(() => this.handleFrame(bytes, isBinary));
    });
    ws.on('close', () => this.onClosed());
    ws.on('error', (error) => this.hub.log.warn({ conn: this.id, err: error.message }, 'socket error'));
  }

  get state(): string {
    return String(this.machine.getSnapshot().value);
  }

  /** Runs `task` after everything already queued for this socket; errors close the socket. */
  enqueue<T>(task: () => Promise<T> | T): Promise<T | undefined> {
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
    this.hub.log.info({ conn: this.id, reason }, 'closing socket');
    this.ws.close(code, reason.slice(0, 120));
    // A peer that never answers the close handshake must not keep the socket forever.
    setTimeout(() => this.ws.terminate(), 2000).unref();
    this.onClosed();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private onClosed(): void {
    this.closed = true;
    // A socket closes twice (our close, then the peer's): the machine hears it once.
    if (this.machine.getSnapshot().status === 'active') this.machine.send({ type: 'CLOSE' });
    this.hub.forgetConnection(this);
  }

  // ---- sending ----

  /** Fault injection: bytes that are not a frame. */
  sendRaw(text: string): void {
    if (!this.closed) this.ws.send(text);
  }

  private sendText(text: string): void {
    if (!this.closed) this.ws.send(text);
  }

  sendJson(tag: string, data: unknown): void {
    this.sendText(jsonFrame(tag, data));
  }

  /** Server-initiated JSON: tagged s1, s2, … per connection. */
  pushJson(data: unknown): void {
    this.jsonCounter += 1;
    this.sendJson(`s${this.jsonCounter}`, data);
  }

  sendBinary(tag: string, node: BinaryNode): void {
    if (!this.browser || this.closed) return;
    const sealed = sealFrame(this.browser.keys, encodeNode(node));
    if (this.hub.faults.take('corruptHmac')) sealed[0]! ^= 0xff;
    this.ws.send(serverBinaryFrame(tag, sealed));
  }

  private pushTag(prefix = ''): string {
    this.pushCounter += 1;
    return `${prefix}${Math.floor(this.hub.now() / 1000)}-${this.pushCounter}`;
  }

  pushMessage(info: WebMessageInfo): void {
    this.sendBinary(this.pushTag(), [
      'action',
      { add: 'relay' },
      [['message', null, encodeWebMessageInfo(info)]],
    ]);
  }

  /** Tells the browser it was unlinked (no kind) or replaced by a takeover, then closes. */
  kick(kind: 'replaced' | null): void {
    this.pushJson(['Cmd', kind ? { type: 'disconnect', kind } : { type: 'disconnect' }]);
    this.close(kind ? 'replaced by another browser' : 'unlinked by the phone', 1000);
  }

  /** Applies delay and close faults at a named step; false when the socket was closed. */
  private async step(step: Step): Promise<boolean> {
    const delay = this.hub.faults.take('delay', (r) => r.at === step);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    if (this.hub.faults.take('closeSocket', (r) => 'at' in r && r.at === step)) {
      this.close(`fault: closeSocket at ${step}`, 1001);
      return false;
    }
    return !this.closed;
  }

  // ---- receiving ----

  private async handleFrame(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.closed) return;
    this.hub.stats.framesReceived += 1;
    if (this.hub.faults.countFrame()) {
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
    if (frame.kind === 'ping') {
      // Fault: the ping goes unanswered (later frames are answered as usual).
      if (this.hub.faults.take('dropPing')) return;
      this.sendText(pongFrame(this.hub.now()));
      return;
    }
    if (frame.kind === 'binary') {
      await this.handleBinary(frame.tag, frame.payload);
      return;
    }
    const message = frame.data;
    if (!Array.isArray(message) || message[0] !== 'admin') {
      this.sendJson(frame.tag, { status: 400 });
      return;
    }
    await this.handleAdmin(frame.tag, message);
  }

  private async handleAdmin(tag: string, message: unknown[]): Promise<void> {
    switch (message[1]) {
      case 'init':
        return this.onInit(tag, message);
      case 'Conn':
        if (message[2] === 'reref') return this.onReref(tag);
        if (message[2] === 'disconnect') return this.onLogout(tag);
        break;
      case 'login':
        return this.onLogin(tag, message);
      case 'challenge':
        return this.onChallenge(tag, message);
      case 'test':
        this.sendJson(tag, ['Pong', this.state === 'authenticated']);
        return;
    }
    this.sendJson(tag, { status: 400 });
  }

  private async onInit(tag: string, message: unknown[]): Promise<void> {
    const [, , version, description, clientId] = message;
    const validVersion = Array.isArray(version) && version.length === 3 && version.every(Number.isInteger);
    let validClientId = false;
    try {
      validClientId = typeof clientId === 'string' && fromBase64(clientId).length === 16;
    } catch {
      validClientId = false;
    }
    if (!validVersion || !isStringArray(description) || !validClientId || this.state !== 'awaitingInit') {
      this.sendJson(tag, { status: 400 });
      return;
    }
    if (!(await this.step('init')) || this.answeredByFault(tag, 'init')) return;
    const forced = this.hub.faults.take('initStatus');
    if (olderThan(version as number[], MIN_CLIENT_VERSION) || forced?.status === 'update') {
      this.sendJson(tag, ['Cmd', { type: 'update' }]);
      return;
    }
    if (forced) {
      this.sendJson(tag, { status: forced.status });
      return;
    }
    this.clientId = clientId as string;
    this.description = description;
    this.ref = this.hub.issueRef(this);
    this.machine.send({ type: 'INIT' });
    const answer = {
      status: 200,
      ref: this.ref.value,
      ttl: this.hub.refTtlMs,
      update: false,
      curr: SERVER_VERSION,
      time: this.hub.now(),
    };
    // Fault: the answer comes late, after the frames that follow init (a login) were answered.
    const late = this.hub.faults.take('initLate');
    if (late) setTimeout(() => this.sendJson(tag, answer), late.ms);
    else this.sendJson(tag, answer);
  }

  private async onReref(tag: string): Promise<void> {
    if (this.state !== 'refIssued' || !this.ref) {
      this.sendJson(tag, { status: 400 });
      return;
    }
    if (!(await this.step('reref')) || this.answeredByFault(tag, 'reref')) return;
    const forced = this.hub.faults.take('rerefStatus');
    if (forced && forced.status !== 200) {
      this.sendJson(tag, { status: forced.status });
      return;
    }
    if (this.machine.getSnapshot().context.rerefs >= MAX_REREFS) {
      this.sendJson(tag, { status: 429 });
      return;
    }
    // A forced 200 issues a new ref however young the current one is.
    if (!forced && this.ref.expiresAt - this.hub.now() > this.hub.refTtlMs / 2) {
      this.sendJson(tag, { status: 304 });
      return;
    }
    this.hub.retireRef(this.ref.value);
    this.ref = this.hub.issueRef(this);
    this.machine.send({ type: 'REREF' });
    this.sendJson(tag, { status: 200, ref: this.ref.value, ttl: this.hub.refTtlMs });
  }

  /** Fault: the server answers `body` at this step instead, and does nothing else. */
  private answeredByFault(tag: string, at: 'init' | 'reref'): boolean {
    const rule = this.hub.faults.take('answer', (r) => r.at === at);
    if (rule) this.sendJson(tag, rule.body);
    return rule !== undefined;
  }

  /** The phone scanned this socket's ref (called from the phone API, queued with the frames). */
  async pair(phone: Phone, clientPublicKey: Uint8Array): Promise<'paired' | 'upgrade_md_prod' | 'closed'> {
    if (phone.multiDevice) {
      this.pushJson(['Cmd', { type: 'upgrade_md_prod', version: MD_UPGRADE_VERSION }]);
      return 'upgrade_md_prod';
    }
    if (!(await this.step('scan')) || !this.clientId) return 'closed';
    const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };
    const secret = buildPairingSecret(clientPublicKey, keys);
    if (this.hub.faults.take('badSecret')) secret[40]! ^= 0x01;
    const browser: Browser = {
      clientId: this.clientId,
      phoneNumber: phone.number,
      description: this.description,
      keys,
      tokens: newTokens(),
      previousTokens: null,
      linkedAt: this.hub.now(),
    };
    this.hub.world.link(browser);
    this.hub.takeOver(this, browser);
    this.pushConn(connPayload(phone, browser.tokens, { ref: this.ref?.value, secret: toBase64(secret) }));
    this.machine.send({ type: 'SCANNED' });
    if (!(await this.step('conn'))) return 'closed';
    this.pushJson(STREAM_UPDATE);
    this.pushJson(PROPS);
    await this.ready();
    return 'paired';
  }

  private async ready(): Promise<void> {
    if (!(await this.step('ready'))) return;
    this.hub.deliverPending(this);
  }

  private async onLogin(tag: string, message: unknown[]): Promise<void> {
    const [, , clientToken, serverToken, clientId, mode] = message;
    if (
      typeof clientToken !== 'string' ||
      typeof serverToken !== 'string' ||
      typeof clientId !== 'string' ||
      (mode !== 'takeover' && mode !== 'reconnect')
    ) {
      this.sendJson(tag, { status: 400 });
      return;
    }
    const state = this.state;
    // docs/protocol.md §2.5: the client re-sends its login while it waits; it is answered once.
    if (state === 'loggingIn' || state === 'challenged') return;
    if (state === 'authenticated' && this.loginTokens === `${clientToken} ${serverToken}`) return;
    if (state === 'authenticated') {
      this.sendJson(tag, { status: 405 });
      return;
    }
    this.machine.send({ type: 'LOGIN' });
    if (!(await this.step('login'))) return;
    const fail = (answer: Record<string, unknown>) => {
      this.sendJson(tag, answer);
      this.machine.send({ type: 'LOGIN_FAILED' });
    };
    const forced = this.hub.faults.take('loginStatus');
    if (forced) return fail(forced.status === 403 ? { status: 403, tos: 0 } : { status: forced.status });
    const browser = this.hub.world.browsers.get(clientId);
    if (!browser) return fail({ status: 401 });
    const phone = this.hub.world.phone(browser.phoneNumber);
    if (phone.tosBlocked) return fail({ status: 403, tos: 2 });
    const current = clientToken === browser.tokens.clientToken && serverToken === browser.tokens.serverToken;
    const stale =
      browser.previousTokens !== null &&
      clientToken === browser.previousTokens.clientToken &&
      serverToken === browser.previousTokens.serverToken;
    if (!current && !stale) return fail({ status: 401 });
    const other = this.hub.authenticatedSocket(clientId);
    if (other && other !== this && mode === 'reconnect') return fail({ status: 409 });
    this.clientId = clientId;
    this.loginTokens = `${clientToken} ${serverToken}`;
    if (stale || this.hub.faults.take('challenge')) {
      this.challenge = { bytes: randomBytes(32), mode };
      this.machine.send({ type: 'CHALLENGE' });
      this.pushJson(['Cmd', { type: 'challenge', challenge: toBase64(this.challenge.bytes) }]);
      return;
    }
    this.authenticate(browser, phone);
    if (!(await this.step('conn'))) return;
    this.sendJson(tag, { status: 200 });
    this.machine.send({ type: 'LOGIN_OK' });
    await this.ready();
  }

  /** Takes the session over, rotates the tokens and pushes the new Conn (docs/protocol.md §2.5). */
  private authenticate(browser: Browser, phone: Phone): void {
    this.hub.takeOver(this, browser);
    this.hub.retireOwnRef(this);
    this.hub.stats.logins += 1;
    const tokens = this.hub.world.rotateTokens(browser);
    this.pushConn(connPayload(phone, tokens, {}));
  }

  /** A Conn push, with the fields of a connFields fault over its own. */
  private pushConn([kind, body]: ReturnType<typeof connPayload>): void {
    const fields = this.hub.faults.take('connFields')?.fields;
    this.pushJson([kind, fields ? { ...body, ...fields } : body]);
  }

  private async onChallenge(tag: string, message: unknown[]): Promise<void> {
    const [, , answer, , clientId] = message;
    if (
      this.state !== 'challenged' ||
      !this.challenge ||
      typeof answer !== 'string' ||
      typeof clientId !== 'string' ||
      clientId !== this.clientId
    ) {
      this.sendJson(tag, { status: 400 });
      return;
    }
    if (!(await this.step('challenge'))) return;
    const forced = this.hub.faults.take('challengeStatus');
    if (forced) {
      this.challenge = null;
      this.sendJson(tag, { status: forced.status });
      this.machine.send({ type: 'LOGIN_FAILED' });
      return;
    }
    const browser = this.hub.world.browsers.get(clientId);
    let answerBytes: Uint8Array = new Uint8Array(0);
    try {
      answerBytes = fromBase64(answer);
    } catch {
      // A malformed answer is simply a wrong one.
    }
    if (
      !browser ||
      !constantTimeEqual(answerBytes, challengeAnswer(browser.keys.macKey, this.challenge.bytes))
    ) {
      this.challenge = null;
      this.sendJson(tag, { status: 401 });
      this.machine.send({ type: 'LOGIN_FAILED' });
      return;
    }
    const other = this.hub.authenticatedSocket(clientId);
    if (other && other !== this && this.challenge.mode === 'reconnect') {
      this.challenge = null;
      this.sendJson(tag, { status: 409 });
      this.machine.send({ type: 'LOGIN_FAILED' });
      return;
    }
    this.challenge = null;
    this.sendJson(tag, { status: 200 });
    this.authenticate(browser, this.hub.world.phone(browser.phoneNumber));
    this.machine.send({ type: 'CHALLENGE_OK' });
    await this.ready();
  }

  private async onLogout(tag: string): Promise<void> {
    if (!(await this.step('logout'))) return;
    if (this.state === 'authenticated' && this.browser) this.hub.world.forget(this.browser.clientId);
    this.sendJson(tag, { status: 200 });
    this.machine.send({ type: 'LOGGED_OUT' });
    this.close('logged out', 1000);
  }

  // ---- binary requests ----

  private async handleBinary(tag: string, payload: Uint8Array): Promise<void> {
    if (this.state !== 'authenticated' || !this.browser) {
      this.close('binary frame before keys exist', 1008);
      return;
    }
    let node: BinaryNode;
    try {
      node = decodeNode(openFrame(this.browser.keys, payload));
    } catch (error) {
      this.hub.stats.droppedFrames += 1;
      this.close(`dropped a binary frame: ${(error as Error).message}`, 1008);
      return;
    }
    const [kind, attrs, content] = node;
    const phone = this.hub.world.phone(this.browser.phoneNumber);
    if (kind === 'query') {
      switch (attrs?.type) {
        case 'contacts':
          this.sendBinary(tag, contactsResponse(phone));
          return;
        case 'chat':
          this.sendBinary(tag, chatResponse(phone, this.hub.now()));
          return;
        case 'media': {
          const fresh = attrs.index ? this.hub.media.reupload(attrs.index, this.hub.baseUrl) : undefined;
          this.sendBinary(tag, [
            'response',
            { type: 'media', code: fresh ? '200' : '404', ...(fresh ?? {}) },
            null,
          ]);
          return;
        }
        default:
          this.sendJson(tag, { status: 404 });
          return;
      }
    }
    if (kind === 'action' && attrs?.type === 'relay' && Array.isArray(content)) {
      this.relay(tag, phone, content);
      return;
    }
    this.sendJson(tag, { status: 200 });
  }

  /** A message the browser sends through the phone: acked `<id>,` then `<id>,{"status":200,"t":…}`. */
  private relay(tag: string, phone: Phone, children: BinaryNode[]): void {
    const t = Math.floor(this.hub.now() / 1000);
    for (const [childTag, , childContent] of children) {
      if (childTag !== 'message' || !(childContent instanceof Uint8Array)) continue;
      let info: WebMessageInfo;
      try {
        info = decodeWebMessageInfo(childContent);
      } catch {
        this.sendJson(tag, { status: 400 });
        return;
      }
      const message = info.message ?? {};
      phone.sent.push({
        id: info.key.id ?? tag,
        to: fromProtoJid(info.key.remoteJid ?? ''),
        text: message.conversation ?? message.extendedTextMessage?.text ?? null,
        type: Object.keys(message)[0] ?? 'unknown',
        t,
        clientId: this.browser!.clientId,
      });
    }
    this.sendText(`${tag},`);
    this.sendJson(tag, { status: 200, t });
  }
}
