// The client's side of one socket, without the socket: turns SocketCommands into frames and frames into
// SocketEvents (docs/protocol.md parts 1-3). It remembers which tag asked what, so answers find their
// meaning; binary frames are opened with the session keys, and one whose HMAC fails is dropped and
// counted, never decoded. Pure bookkeeping: actors/legacy/socket.ts owns the WebSocket.
import {
  type BinaryNode,
  clientBinaryFrame,
  decodeNode,
  encodeNode,
  encodeWebMessageInfo,
  FLAG,
  jsonFrame,
  MESSAGE_STATUS,
  METRIC,
  PING_FRAME,
  parseServerFrame,
  readIncomingNode,
  TagGenerator,
  toProtoJid,
} from '../../codec/index.ts';
import { fromBase64, openFrame, type SessionKeys, sealFrame, toBase64 } from '../../crypto/index.ts';
import type { ConnInfo, SocketCommand, SocketEvent } from '../../machines/legacy/session-types.ts';

/** The client version walink announces in init (docs/protocol.md §2.1). */
export const CLIENT_VERSION = [2, 2142, 12] as const;

type RequestKind = 'init' | 'login' | 'reref' | 'challenge' | 'test' | 'goodbye' | 'query' | 'message';

export interface ProtocolStats {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
}

const ACK_NAMES: Record<number, string> = { 1: 'server', 2: 'delivered', 3: 'read', 4: 'played' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function statusOf(data: unknown): number {
  return isRecord(data) && typeof data.status === 'number' ? data.status : 0;
}

function readConn(data: Record<string, unknown>): ConnInfo | null {
  const { wid, clientToken, serverToken, browserToken } = data;
  if (typeof wid !== 'string' || typeof clientToken !== 'string' || typeof serverToken !== 'string')
    return null;
  const conn: ConnInfo = {
    wid,
    clientToken,
    serverToken,
    browserToken: typeof browserToken === 'string' ? browserToken : '',
  };
  if (typeof data.secret === 'string') conn.secret = data.secret;
  if (typeof data.pushname === 'string') conn.pushname = data.pushname;
  if (typeof data.platform === 'string') conn.platform = data.platform;
  if (typeof data.binVersion === 'number') conn.binVersion = data.binVersion;
  if (typeof data.ref === 'string') conn.ref = data.ref;
  return conn;
}

export class ClientProtocol {
  readonly stats: ProtocolStats = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  private readonly tags: TagGenerator;
  private readonly pending = new Map<string, RequestKind>();
  private keys: SessionKeys | null;
  private loginFrame: string | null = null;
  private epoch = 1;

  constructor(options: { keys: SessionKeys | null; now?: () => number }) {
    this.keys = options.keys;
    this.now = options.now ?? Date.now;
    this.tags = new TagGenerator(this.now);
  }

  private readonly now: () => number;

  // ---- outgoing ----

  private request(kind: RequestKind, data: unknown): string {
    const tag = this.tags.long();
    this.pending.set(tag, kind);
    return jsonFrame(tag, data);
  }

  private binary(kind: RequestKind, tag: string, metric: number, flag: number, node: BinaryNode): Uint8Array {
    if (!this.keys) throw new Error('binary requests need the session keys');
    this.pending.set(tag, kind);
    return clientBinaryFrame(tag, metric, flag, sealFrame(this.keys, encodeNode(node)));
  }

  /** The frames that carry out `command`, in order (none for `use.keys`). */
  outgoing(command: SocketCommand): (string | Uint8Array)[] {
    const frames = this.framesFor(command);
    this.stats.framesOut += frames.length;
    return frames;
  }

  private framesFor(command: SocketCommand): (string | Uint8Array)[] {
    switch (command.type) {
      case 'send.init':
        return [
          this.request('init', [
            'admin',
            'init',
            CLIENT_VERSION,
            command.description,
            command.clientId,
            true,
          ]),
        ];
      case 'send.login': {
        const { clientToken, serverToken, clientId, wid } = command.credentials;
        const mode = command.mode === 'reconnect' ? ['reconnect', wid] : ['takeover'];
        this.loginFrame = this.request('login', [
          'admin',
          'login',
          clientToken,
          serverToken,
          clientId,
          ...mode,
        ]);
        return [this.loginFrame];
      }
      case 'send.loginAgain':
        // docs/protocol.md §2.5: the same frame, same tag, so the server can tell a re-send from a new login.
        return this.loginFrame ? [this.loginFrame] : [];
      case 'send.reref':
        return [this.request('reref', ['admin', 'Conn', 'reref'])];
      case 'send.challenge':
        return [
          this.request('challenge', [
            'admin',
            'challenge',
            toBase64(command.answer),
            command.serverToken,
            command.clientId,
          ]),
        ];
      case 'send.ping':
        return [PING_FRAME];
      case 'send.phoneTest':
        return [this.request('test', ['admin', 'test'])];
      case 'send.goodbye':
        this.pending.set('goodbye', 'goodbye');
        return [jsonFrame('goodbye', ['admin', 'Conn', 'disconnect'], { doubleComma: true })];
      case 'send.initialQueries':
        if (!this.keys) return [];
        return [
          this.binary('query', this.tags.long(), METRIC.queryContacts, FLAG.expectsProcessing, [
            'query',
            { type: 'contacts', epoch: '1' },
            null,
          ]),
          this.binary('query', this.tags.long(), METRIC.queryChat, FLAG.expectsProcessing, [
            'query',
            { type: 'chat', epoch: '1' },
            null,
          ]),
          this.binary('query', this.tags.short(), METRIC.presence, FLAG.expectsProcessing | FLAG.available, [
            'action',
            { type: 'set', epoch: '1' },
            [['presence', { type: 'available' }, null]],
          ]),
        ];
      case 'send.text': {
        if (!this.keys) return [];
        const info = encodeWebMessageInfo({
          key: { remoteJid: toProtoJid(command.jid), fromMe: true, id: command.id },
          message: { conversation: command.text },
          messageTimestamp: Math.floor(this.now() / 1000),
          status: MESSAGE_STATUS.PENDING,
        });
        this.epoch += 1;
        return [
          this.binary('message', command.id, METRIC.message, FLAG.expectsProcessing, [
            'action',
            { type: 'relay', epoch: String(this.epoch) },
            [['message', null, info]],
          ]),
        ];
      }
      case 'use.keys':
        this.keys = command.keys;
        return [];
    }
  }

  // ---- incoming ----

  /** What one inbound frame means; a frame that cannot be read becomes FRAME_DROPPED. */
  incoming(data: string | Uint8Array, isBinary: boolean): SocketEvent[] {
    this.stats.framesIn += 1;
    let frame: ReturnType<typeof parseServerFrame>;
    try {
      frame = parseServerFrame(data, isBinary);
    } catch (error) {
      return [this.dropped(`malformed frame: ${(error as Error).message}`)];
    }
    switch (frame.kind) {
      case 'pong':
        return [{ type: 'ACTIVITY' }];
      case 'ack':
        return [{ type: 'ACTIVITY' }];
      case 'binary':
        return [this.binaryEvent(frame.tag, frame.payload)];
      case 'json':
        return [this.jsonEvent(frame.tag, frame.data)];
    }
  }

  private dropped(reason: string): SocketEvent {
    this.stats.framesDropped += 1;
    return { type: 'FRAME_DROPPED', reason };
  }

  private binaryEvent(tag: string, payload: Uint8Array): SocketEvent {
    if (!this.keys) return this.dropped('binary frame before the session has keys');
    let plaintext: Uint8Array;
    try {
      plaintext = openFrame(this.keys, payload);
    } catch (error) {
      return this.dropped(`binary frame failed verification: ${(error as Error).message}`);
    }
    let node: BinaryNode;
    try {
      node = decodeNode(plaintext);
    } catch (error) {
      return this.dropped(`undecodable node: ${(error as Error).message}`);
    }
    this.pending.delete(tag);
    const incoming = readIncomingNode(node);
    switch (incoming.kind) {
      case 'messages':
        return {
          type: 'MESSAGES',
          add: incoming.add,
          messages: incoming.messages,
          undecodable: incoming.undecodable,
        };
      case 'receipts':
        return { type: 'RECEIPTS', receipts: incoming.receipts };
      case 'contacts':
        return { type: 'CONTACTS', contacts: incoming.contacts };
      case 'chats':
        return { type: 'CHATS', chats: incoming.chats };
      case 'other':
        return { type: 'NODE', tag, node: incoming.node };
    }
  }

  private jsonEvent(tag: string, data: unknown): SocketEvent {
    const kind = this.pending.get(tag);
    if (kind) {
      this.pending.delete(tag);
      return this.answer(kind, tag, data);
    }
    if (!Array.isArray(data) || typeof data[0] !== 'string') return { type: 'ACTIVITY' };
    return this.push(data);
  }

  /** The answer to one of our requests. */
  private answer(kind: RequestKind, tag: string, data: unknown): SocketEvent {
    switch (kind) {
      case 'init': {
        if (Array.isArray(data) && data[0] === 'Cmd' && isRecord(data[1]) && data[1].type === 'update')
          return { type: 'INIT_FAILED', status: 'update' };
        const status = statusOf(data);
        if (status === 200 && isRecord(data) && typeof data.ref === 'string' && data.ref.length > 0) {
          const ttl = typeof data.ttl === 'number' && data.ttl > 0 ? data.ttl : 20_000;
          return { type: 'INIT_OK', ref: data.ref, ttl };
        }
        return { type: 'INIT_FAILED', status };
      }
      case 'reref': {
        const event: SocketEvent = { type: 'REREF_RESULT', status: statusOf(data) };
        if (isRecord(data) && typeof data.ref === 'string') event.ref = data.ref;
        if (isRecord(data) && typeof data.ttl === 'number') event.ttl = data.ttl;
        return event;
      }
      case 'login': {
        this.loginFrame = null;
        const event: SocketEvent = { type: 'LOGIN_RESULT', status: statusOf(data) };
        if (isRecord(data) && typeof data.tos === 'number') event.tos = data.tos;
        return event;
      }
      case 'challenge':
        return { type: 'CHALLENGE_RESULT', status: statusOf(data) };
      case 'test':
        return { type: 'PHONE_PONG', reachable: Array.isArray(data) && data[1] === true };
      case 'goodbye':
        return { type: 'LOGOUT_RESULT', status: statusOf(data) };
      case 'message': {
        const t = isRecord(data) && typeof data.t === 'number' ? data.t : undefined;
        return { type: 'MESSAGE_ACK', id: tag, status: statusOf(data), ...(t ? { t } : {}) };
      }
      case 'query':
        return { type: 'ACTIVITY' };
    }
  }

  /** A push the server started (s1, s2, …). */
  private push(data: unknown[]): SocketEvent {
    const [kind, body] = data;
    if (kind === 'Conn' && isRecord(body)) {
      const conn = readConn(body);
      return conn ? { type: 'CONN', conn } : this.dropped('a Conn push without wid and tokens');
    }
    if (kind === 'Cmd' && isRecord(body)) {
      switch (body.type) {
        case 'challenge': {
          let challenge: Uint8Array | null = null;
          try {
            challenge = typeof body.challenge === 'string' ? fromBase64(body.challenge) : null;
          } catch {
            challenge = null;
          }
          return challenge
            ? { type: 'CHALLENGE', challenge }
            : this.dropped('a challenge that is not base64');
        }
        case 'disconnect':
          return typeof body.kind === 'string'
            ? { type: 'DISCONNECT', kind: body.kind }
            : { type: 'DISCONNECT' };
        case 'upgrade_md_prod':
          return typeof body.version === 'string'
            ? { type: 'UPGRADE_MD', version: body.version }
            : { type: 'UPGRADE_MD' };
        case 'update':
          return { type: 'INIT_FAILED', status: 'update' };
      }
    }
    if (kind === 'Stream') return { type: 'STREAM', kind: typeof body === 'string' ? body : '' };
    if (kind === 'Pong') return { type: 'PHONE_PONG', reachable: body === true };
    if (kind === 'Msg' && isRecord(body) && body.cmd === 'ack' && typeof body.id === 'string') {
      const level = typeof body.ack === 'number' ? (ACK_NAMES[body.ack] ?? String(body.ack)) : 'server';
      return {
        type: 'RECEIPTS',
        receipts: [
          { type: level, id: body.id, ...(typeof body.from === 'string' ? { jid: body.from } : {}) },
        ],
      };
    }
    return { type: 'ACTIVITY' };
  }
}
