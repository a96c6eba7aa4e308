// What all legacy sockets of one emulator share, and its only owner: the world (phones, linked browsers
// and their tokens), refs, which socket holds which browser, messages waiting for a browser to come
// back, media, faults and counters. Sockets ask for it through ConnectionHost; the phone API
// (phone-routes.ts) through the methods below.
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { parseQrText, userJid, type WebMessageInfo } from '../../codec/index.ts';
import { randomBytes, type SessionKeys, toBase64 } from '../../crypto/index.ts';
import { HttpError } from '../../http/index.ts';
import { MediaStore, type PhoneMediaType } from '../media-store.ts';
import { Connection } from './connection.ts';
import type { ConnectionHost } from './connection-host.ts';
import type { KnownBrowser, LoginRequest, Ref } from './connection-types.ts';
import { FaultBook } from './faults.ts';
import { type LatencyKind, type LegacyOptions, latencyTable } from './options.ts';
import { type Browser, newTokens, type Phone, type SentMessage, type Tokens, type World } from './world.ts';

interface RefEntry {
  connection: Connection;
  expiresAt: number;
  retired: boolean;
}

export interface EmulatorStats {
  connections: number;
  framesReceived: number;
  droppedFrames: number;
  pairings: number;
  logins: number;
}

/** What the phone API may change about a phone. */
export interface PhoneChanges {
  multiDevice?: boolean;
  tosBlocked?: boolean;
  asleep?: boolean;
  pushname?: string;
}

/** Undelivered pushes per browser are bounded: a browser that never returns must not grow memory. */
const MAX_PENDING = 1000;

export class Hub implements ConnectionHost<Connection> {
  readonly faults = new FaultBook();
  readonly latency: Readonly<Record<LatencyKind, number>>;
  private readonly counters: EmulatorStats = {
    connections: 0,
    framesReceived: 0,
    droppedFrames: 0,
    pairings: 0,
    logins: 0,
  };
  private baseUrl = '';
  private nextConnectionId = 1;
  private readonly connections = new Set<Connection>();
  private readonly refs = new Map<string, RefEntry>();
  private readonly holders = new Map<string, Connection>();
  private readonly pending = new Map<string, WebMessageInfo[]>();

  constructor(
    private readonly world: World,
    readonly refTtlMs: number,
    readonly now: () => number,
    readonly log: Logger,
    readonly options: LegacyOptions,
    readonly media = new MediaStore(),
  ) {
    this.latency = latencyTable(options.latencyMs);
  }

  get stats(): Readonly<EmulatorStats> {
    return this.counters;
  }

  /** The emulator's own address, for the media URLs it hands out. */
  serveAt(baseUrl: string): void {
    this.baseUrl = baseUrl;
  }

  /** A client's WebSocket on `/ws`. */
  attach(ws: WebSocket): Connection {
    const connection = new Connection(ws, this, this.nextConnectionId++);
    this.connections.add(connection);
    this.counters.connections += 1;
    return connection;
  }

  health() {
    let unacknowledged = 0;
    for (const connection of this.connections) unacknowledged += connection.unacknowledged;
    return {
      sockets: this.connections.size,
      browsers: this.world.browsers.size,
      phones: this.world.phones.size,
      /** Messages pushed to open sockets that have not acknowledged them yet. */
      unacknowledged,
      stats: this.stats,
    };
  }

  /** Shutdown: every socket is closed. */
  closeAll(reason: string): void {
    for (const connection of [...this.connections]) connection.close(reason, 1001);
  }

  // ---- ConnectionHost: what sockets ask ----

  frameReceived(): void {
    this.counters.framesReceived += 1;
  }

  frameDropped(): void {
    this.counters.droppedFrames += 1;
  }

  mintRef(): Ref {
    return { value: `1@${toBase64(randomBytes(48))}`, expiresAt: this.now() + this.refTtlMs };
  }

  registerRef(connection: Connection, ref: Ref): void {
    this.refs.set(ref.value, { connection, expiresAt: ref.expiresAt, retired: false });
  }

  retireRef(value: string): void {
    const entry = this.refs.get(value);
    if (entry) entry.retired = true;
  }

  linkBrowser(
    connection: Connection,
    draft: { clientId: string; phoneNumber: string; description: string[]; keys: SessionKeys },
  ): void {
    const browser: Browser = { ...draft, tokens: newTokens(), previousTokens: null, linkedAt: this.now() };
    this.world.link(browser);
    this.takeOver(connection, browser.clientId);
  }

  resumeSession(connection: Connection, clientId: string, presented: string | null): void {
    const browser = this.browser(clientId);
    this.takeOver(connection, clientId);
    this.counters.logins += 1;
    const previous = browser.previousTokens;
    this.world.rotateTokens(
      browser,
      previous !== null && presented === `${previous.clientToken} ${previous.serverToken}`,
    );
  }

  connView(clientId: string): { phone: Readonly<Phone>; tokens: Tokens } {
    const browser = this.browser(clientId);
    return { phone: this.world.phone(browser.phoneNumber), tokens: browser.tokens };
  }

  loginFacts(
    connection: Connection,
    login: Pick<LoginRequest, 'clientId' | 'clientToken' | 'serverToken'>,
  ): { browser: KnownBrowser | null; heldElsewhere: boolean } {
    const heldElsewhere = this.heldByAnother(connection, login.clientId);
    const browser = this.world.browsers.get(login.clientId);
    if (!browser) return { browser: null, heldElsewhere };
    const presented = (tokens: Tokens | null) =>
      tokens !== null && login.clientToken === tokens.clientToken && login.serverToken === tokens.serverToken;
    return {
      browser: {
        phoneNumber: browser.phoneNumber,
        keys: browser.keys,
        tosBlocked: this.world.phone(browser.phoneNumber).tosBlocked,
        tokens: presented(browser.tokens)
          ? 'current'
          : presented(browser.previousTokens)
            ? 'stale'
            : 'unknown',
      },
      heldElsewhere,
    };
  }

  challengeFacts(
    connection: Connection,
    clientId: string,
  ): { browser: Pick<KnownBrowser, 'phoneNumber' | 'keys'> | null; heldElsewhere: boolean } {
    const browser = this.world.browsers.get(clientId);
    return {
      browser: browser ? { phoneNumber: browser.phoneNumber, keys: browser.keys } : null,
      heldElsewhere: this.heldByAnother(connection, clientId),
    };
  }

  takePending(clientId: string): WebMessageInfo[] {
    const queue = this.pending.get(clientId) ?? [];
    this.pending.delete(clientId);
    return queue;
  }

  forgetBrowser(clientId: string): void {
    this.world.forget(clientId);
  }

  phone(number: string): Readonly<Phone> {
    return this.world.phone(number);
  }

  recordSent(phoneNumber: string, message: SentMessage): void {
    this.world.recordSent(phoneNumber, message);
  }

  requeue(clientId: string, messages: readonly WebMessageInfo[], how = { pushToHolder: true }): void {
    if (messages.length === 0 || !this.world.browsers.has(clientId)) return;
    // Another socket holds the browser by now (a takeover): it gets them at once.
    const holder = this.holderOf(clientId);
    if (how.pushToHolder && holder?.isAuthenticated) {
      for (const info of messages) holder.pushMessage(info);
      return;
    }
    const queue = [...messages, ...(this.pending.get(clientId) ?? [])].slice(0, MAX_PENDING);
    this.pending.set(clientId, queue);
    this.log.info({ count: messages.length }, 'queued unacknowledged messages again');
  }

  /** The phone sends media: encrypted under a fresh mediaKey and served by the CDN. */
  uploadMedia(id: string, type: PhoneMediaType, plaintext: Uint8Array, mimetype: string) {
    return this.media.upload(id, type, plaintext, mimetype, this.baseUrl, this.now());
  }

  reuploadMedia(index: string): Record<string, string> | undefined {
    return this.media.reupload(index, this.baseUrl);
  }

  detach(connection: Connection): void {
    this.connections.delete(connection);
    for (const [value, entry] of this.refs) if (entry.connection === connection) this.refs.delete(value);
    for (const [clientId, holder] of this.holders) if (holder === connection) this.holders.delete(clientId);
  }

  // ---- the phone API ----

  /** The phone `number` scans `qr`. */
  async scan(number: string, qr: unknown): Promise<{ wid: string; result: string }> {
    if (typeof qr !== 'string') throw new HttpError(400, 'body needs "qr": the QR text');
    let parsed: ReturnType<typeof parseQrText>;
    try {
      parsed = parseQrText(qr);
    } catch (error) {
      throw new HttpError(400, `malformed QR text: ${(error as Error).message}`);
    }
    const entry = this.refs.get(parsed.ref);
    if (!entry) throw new HttpError(404, 'unknown ref');
    if (entry.retired || entry.expiresAt <= this.now()) throw new HttpError(410, 'the ref has expired');
    const connection = entry.connection;
    if (connection.clientId !== parsed.clientId)
      throw new HttpError(400, 'the clientId does not belong to this ref');
    if (!connection.isScannable) throw new HttpError(410, 'this ref was already used');
    entry.retired = true;
    const phone = this.world.phone(number);
    const result = await connection.pair(phone, parsed.publicKey);
    if (result === 'paired') this.counters.pairings += 1;
    return { wid: phone.wid, result };
  }

  /** The phone and the browsers linked to it (looking does not make the phone). */
  describePhone(number: string) {
    const { sent: _sent, ...phone } = this.world.peekPhone(number);
    return {
      ...phone,
      linkedBrowsers: this.world
        .browsersOf(number)
        .map((b) => ({ clientId: b.clientId, description: b.description })),
    };
  }

  updatePhone(number: string, changes: PhoneChanges): void {
    const phone = this.world.phone(number);
    if (changes.multiDevice !== undefined) phone.multiDevice = changes.multiDevice;
    if (changes.tosBlocked !== undefined) phone.tosBlocked = changes.tosBlocked;
    // docs/protocol.md §2.6: linked browsers hear ["Stream","asleep"] when the phone sleeps, "update" on waking.
    if (changes.asleep !== undefined) {
      for (const browser of this.world.browsersOf(number)) {
        this.holderOf(browser.clientId)?.pushJson(['Stream', changes.asleep ? 'asleep' : 'update']);
      }
    }
    if (changes.pushname !== undefined) phone.pushname = changes.pushname;
    this.world.save();
  }

  /** What linked browsers relayed through the phone. */
  sentBy(number: string): readonly SentMessage[] {
    return this.world.peekPhone(number).sent;
  }

  /** Relays a message from the phone to every browser linked to it; absent ones get it on return. */
  sendFromPhone(number: string, info: WebMessageInfo): number {
    let delivered = 0;
    for (const browser of this.world.browsersOf(number)) {
      const socket = this.holderOf(browser.clientId);
      // Only an open socket gets it; one that closes before it acknowledged the push gives it back (requeue).
      if (socket?.isAuthenticated && socket.isOpen) {
        socket.pushMessage(info);
        delivered += 1;
      } else {
        const queue = this.pending.get(browser.clientId) ?? [];
        if (queue.length < MAX_PENDING) queue.push(info);
        this.pending.set(browser.clientId, queue);
      }
    }
    return delivered;
  }

  /** docs/protocol.md §3: the phone delivered or read a message a browser sent: `["Msg",{"cmd":"ack",…}]`. */
  receipt(number: string, id: string, ack: number): number {
    let notified = 0;
    const to = this.world.phone(number).sent.find((m) => m.id === id)?.to ?? '';
    for (const browser of this.world.browsersOf(number)) {
      const socket = this.holderOf(browser.clientId);
      if (!socket) continue;
      socket.pushJson([
        'Msg',
        { cmd: 'ack', id, ack, from: userJid(number), to, t: Math.floor(this.now() / 1000) },
      ]);
      notified += 1;
    }
    return notified;
  }

  /** The phone unlinks all its browsers: open sockets hear `["Cmd",{"type":"disconnect"}]`. */
  unlink(number: string): number {
    this.world.phone(number);
    const browsers = this.world.browsersOf(number);
    for (const browser of browsers) {
      this.holderOf(browser.clientId)?.kick(null);
      this.pending.delete(browser.clientId);
      this.world.forget(browser.clientId);
    }
    return browsers.length;
  }

  // ---- fault injection ----

  /** Every open socket is closed now (as a network drop would). */
  dropAll(): number {
    const open = [...this.connections];
    for (const connection of open) connection.close('fault: closeSocket now', 1001);
    return open.length;
  }

  /** A text frame that is no frame at all, to every open socket. */
  sendGarbage(): number {
    for (const connection of this.connections) connection.sendRaw('\u0000garbage without a tag');
    return this.connections.size;
  }

  // ---- who holds which browser ----

  private browser(clientId: string): Browser {
    const browser = this.world.browsers.get(clientId);
    if (!browser) throw new Error(`no linked browser ${clientId}`);
    return browser;
  }

  private holderOf(clientId: string): Connection | undefined {
    const holder = this.holders.get(clientId);
    return holder?.isOpen ? holder : undefined;
  }

  private heldByAnother(connection: Connection, clientId: string): boolean {
    const holder = this.holderOf(clientId);
    return holder !== undefined && holder !== connection;
  }

  /** `connection` now holds the browser; another socket holding it is told it was replaced and closed. */
  private takeOver(connection: Connection, clientId: string): void {
    const other = this.holderOf(clientId);
    if (other && other !== connection) other.kick('replaced');
    this.holders.set(clientId, connection);
  }
}
