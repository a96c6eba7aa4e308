// The client's incoming half of one socket (docs/protocol.md §1-3): each frame becomes one SocketEvent.
// Answers are read by what their tag asked (the ledger); pushes by their kind; binary frames are opened
// with the session keys, and one whose HMAC fails is dropped with a code, never decoded. Every field is
// checked here, where it enters (server-fields.ts): a value walink refuses drops the frame with a code,
// or, for init's answer, fails it; nothing the server sends can make a later step throw.
import { type BinaryNode, decodeNode, parseServerFrame, readIncomingNode } from '../../codec/index.ts';
import { fromBase64, isCryptoError, openFrame } from '../../crypto/index.ts';
import type { ConnInfo, FrameDropCode, ServerEvent, SocketEvent } from '../../machines/legacy/index.ts';
import type { RequestKind, TagLedger } from './ledger.ts';
import {
  DEFAULT_FIELD_LIMITS,
  type FieldLimits,
  readAccount,
  readId,
  readInteger,
  readName,
  readRef,
  readShortText,
  readToken,
  readTtl,
} from './server-fields.ts';

/** The binary dictionary this client decodes (docs/protocol.md §3); a Conn announcing another is refused. */
export const BIN_VERSION = 11;
/** docs/protocol.md §2.1: the ttl assumed when init's answer has none. */
const DEFAULT_TTL = 20_000;

/** Why a frame was dropped: the receiver's typed error, reported as `server.frameDropped`. */
export class FrameDropped extends Error {
  override name = 'FrameDropped';
  constructor(
    readonly code: FrameDropCode,
    message: string,
  ) {
    super(message);
  }

  toEvent(): ServerEvent {
    return { type: 'server.frameDropped', code: this.code, reason: this.message };
  }
}

const ACK_NAMES: Record<number, string> = { 1: 'server', 2: 'delivered', 3: 'read', 4: 'played' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function statusOf(data: unknown): number {
  return (isRecord(data) && readInteger(data.status)) || 0;
}

function badConn(why: string): FrameDropped {
  return new FrameDropped('FRAME_BAD_CONN', `a Conn push ${why}`);
}

/** A Conn's fields (docs/protocol.md §2.3), each in the shape walink accepts, or the frame is dropped. */
function readConn(data: Record<string, unknown>, limits: FieldLimits): ConnInfo {
  const { wid, clientToken, serverToken, browserToken } = data;
  if (wid === undefined || clientToken === undefined || serverToken === undefined)
    throw badConn('without wid and tokens');
  const account = readAccount(wid);
  if (account === null) throw badConn('whose wid is not an account JID (<number>@c.us)');
  const tokens = [clientToken, serverToken, browserToken ?? 'absent'].map((t) => readToken(t, limits));
  if (tokens.includes(null))
    throw badConn(`whose tokens are not 1-${limits.maxTokenLength} printable characters`);
  const conn: ConnInfo = {
    wid: account,
    clientToken: tokens[0]!,
    serverToken: tokens[1]!,
    browserToken: browserToken === undefined ? '' : tokens[2]!,
  };
  if (data.secret !== undefined) {
    const secret = readToken(data.secret, limits);
    if (secret === null) throw badConn('whose secret is not base64 text of a sane length');
    conn.secret = secret;
  }
  if (data.binVersion !== undefined) {
    const binVersion = readInteger(data.binVersion);
    if (binVersion === null) throw badConn('whose binVersion is not a whole number');
    conn.binVersion = binVersion;
  }
  const pushname = readName(data.pushname);
  if (pushname !== null) conn.pushname = pushname;
  const platform = readShortText(data.platform);
  if (platform !== null) conn.platform = platform;
  const ref = readRef(data.ref, limits);
  if (ref !== null) conn.ref = ref;
  return conn;
}

function readChallenge(value: unknown, limits: FieldLimits): Uint8Array {
  const text = readToken(value, limits);
  try {
    if (text !== null) return fromBase64(text);
  } catch {
    // reported below
  }
  throw new FrameDropped('FRAME_BAD_CHALLENGE', 'a challenge that is not base64 of a sane length');
}

function badPush(why: string): FrameDropped {
  return new FrameDropped('FRAME_BAD_PUSH', why);
}

export class Receiver {
  constructor(
    private readonly ledger: TagLedger,
    private readonly limits: FieldLimits = DEFAULT_FIELD_LIMITS,
  ) {}

  /** What one inbound frame means; a frame that cannot be read becomes `server.frameDropped`. */
  receive(data: string | Uint8Array, isBinary: boolean): SocketEvent {
    try {
      return this.read(data, isBinary);
    } catch (error) {
      if (error instanceof FrameDropped) return error.toEvent();
      throw error;
    }
  }

  private read(data: string | Uint8Array, isBinary: boolean): SocketEvent {
    let frame: ReturnType<typeof parseServerFrame>;
    try {
      frame = parseServerFrame(data, isBinary);
    } catch (error) {
      throw new FrameDropped('FRAME_MALFORMED', `malformed frame: ${(error as Error).message}`);
    }
    switch (frame.kind) {
      case 'pong':
      case 'ack':
        return { type: 'server.activity' };
      case 'binary':
        return this.binary(frame.tag, frame.payload);
      case 'json':
        return this.json(frame.tag, frame.data);
    }
  }

  private binary(tag: string, payload: Uint8Array): SocketEvent {
    if (!this.ledger.keys)
      throw new FrameDropped('FRAME_NO_KEYS', 'binary frame before the session has keys');
    let plaintext: Uint8Array;
    try {
      plaintext = openFrame(this.ledger.keys, payload);
    } catch (error) {
      const code = isCryptoError(error) && error.code === 'BAD_MAC' ? 'FRAME_BAD_MAC' : 'FRAME_UNDECRYPTABLE';
      throw new FrameDropped(code, `binary frame failed verification: ${(error as Error).message}`);
    }
    let node: BinaryNode;
    try {
      node = decodeNode(plaintext);
    } catch (error) {
      throw new FrameDropped('FRAME_UNDECODABLE', `undecodable node: ${(error as Error).message}`);
    }
    this.ledger.answered(tag);
    const incoming = readIncomingNode(node);
    switch (incoming.kind) {
      case 'messages':
        return {
          type: 'server.messages',
          add: incoming.add,
          messages: incoming.messages,
          undecodable: incoming.undecodable,
        };
      case 'receipts':
        return { type: 'server.receipts', receipts: incoming.receipts };
      case 'contacts':
        return { type: 'server.contacts', contacts: incoming.contacts };
      case 'chats':
        return { type: 'server.chats', chats: incoming.chats };
      case 'other':
        return { type: 'server.node', tag, node: incoming.node };
    }
  }

  private json(tag: string, data: unknown): SocketEvent {
    const kind = this.ledger.answered(tag);
    if (kind) return this.answer(kind, tag, data);
    if (!Array.isArray(data) || typeof data[0] !== 'string') return { type: 'server.activity' };
    return this.push(data);
  }

  /** The answer to one of our requests. */
  private answer(kind: RequestKind, tag: string, data: unknown): SocketEvent {
    switch (kind) {
      case 'init': {
        if (Array.isArray(data) && data[0] === 'Cmd' && isRecord(data[1]) && data[1].type === 'update')
          return { type: 'init.failed', status: 'update' };
        const status = statusOf(data);
        if (status !== 200 || !isRecord(data)) return { type: 'init.failed', status };
        const ref = readRef(data.ref, this.limits);
        if (ref === null)
          return {
            type: 'init.failed',
            status: 'invalid',
            reason: `init answered 200 without a ref of 1-${this.limits.maxRefLength} printable characters and no comma`,
          };
        if (data.ttl !== undefined && readTtl(data.ttl) === null)
          return {
            type: 'init.failed',
            status: 'invalid',
            reason: 'init answered a ttl that is no duration',
          };
        return { type: 'init.ok', ref, ttl: readTtl(data.ttl) ?? DEFAULT_TTL };
      }
      case 'reref': {
        const event: SocketEvent = { type: 'reref.result', status: statusOf(data) };
        if (!isRecord(data)) return event;
        if (data.ref !== undefined) {
          const ref = readRef(data.ref, this.limits);
          if (ref === null)
            throw new FrameDropped(
              'FRAME_BAD_ANSWER',
              `a reref answered with a ref that is not 1-${this.limits.maxRefLength} printable characters without a comma`,
            );
          event.ref = ref;
        }
        if (data.ttl !== undefined) {
          const ttl = readTtl(data.ttl);
          if (ttl === null)
            throw new FrameDropped('FRAME_BAD_ANSWER', 'a reref answered a ttl that is no duration');
          event.ttl = ttl;
        }
        return event;
      }
      case 'login': {
        const event: SocketEvent = { type: 'login.result', status: statusOf(data) };
        const tos = isRecord(data) ? readInteger(data.tos) : null;
        if (tos !== null) event.tos = tos;
        return event;
      }
      case 'challenge':
        return { type: 'challenge.result', status: statusOf(data) };
      case 'test':
        return { type: 'server.phonePong', reachable: Array.isArray(data) && data[1] === true };
      case 'goodbye':
        return { type: 'logout.result', status: statusOf(data) };
      case 'message': {
        const t = isRecord(data) ? readInteger(data.t) : null;
        return { type: 'server.messageAck', id: tag, status: statusOf(data), ...(t ? { t } : {}) };
      }
      case 'query':
        return { type: 'server.activity' };
    }
  }

  /** A push the server started (s1, s2, …). */
  private push(data: unknown[]): SocketEvent {
    const [kind, body] = data;
    if (kind === 'Conn' && isRecord(body)) {
      const conn = readConn(body, this.limits);
      if (conn.binVersion !== undefined && conn.binVersion !== BIN_VERSION)
        return { type: 'conn.unsupported', binVersion: conn.binVersion };
      return { type: 'server.conn', conn };
    }
    if (kind === 'Cmd' && isRecord(body)) {
      switch (body.type) {
        case 'challenge':
          return { type: 'cmd.challenge', challenge: readChallenge(body.challenge, this.limits) };
        case 'disconnect': {
          if (body.kind === undefined) return { type: 'cmd.disconnect' };
          const disconnectKind = readShortText(body.kind);
          if (disconnectKind === null) throw badPush('a disconnect whose kind is not a short text');
          return { type: 'cmd.disconnect', kind: disconnectKind };
        }
        case 'upgrade_md_prod': {
          const version = readShortText(body.version);
          return version !== null ? { type: 'cmd.upgradeMd', version } : { type: 'cmd.upgradeMd' };
        }
        case 'update':
          return { type: 'init.failed', status: 'update' };
      }
    }
    if (kind === 'Stream') return { type: 'server.stream', kind: readShortText(body) ?? '' };
    if (kind === 'Pong') return { type: 'server.phonePong', reachable: body === true };
    if (kind === 'Msg' && isRecord(body) && body.cmd === 'ack') {
      const id = readId(body.id);
      if (id === null) throw badPush('a message ack without an id of up to 128 printable characters');
      const ack = readInteger(body.ack);
      const level = ack === null ? 'server' : (ACK_NAMES[ack] ?? String(ack));
      const from = readId(body.from);
      return {
        type: 'server.receipts',
        receipts: [{ type: level, id, ...(from !== null ? { jid: from } : {}) }],
      };
    }
    return { type: 'server.activity' };
  }
}
