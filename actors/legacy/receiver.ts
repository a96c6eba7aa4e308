// The client's incoming half of one socket (docs/protocol.md §1-3): each frame becomes one SocketEvent.
// Answers are read by what their tag asked (the ledger); pushes by their kind; binary frames are opened
// with the session keys, and one whose HMAC fails is dropped with a code, never decoded.
import { type BinaryNode, decodeNode, parseServerFrame, readIncomingNode } from '../../codec/index.ts';
import { fromBase64, isCryptoError, openFrame } from '../../crypto/index.ts';
import type { ConnInfo, FrameDropCode, ServerEvent, SocketEvent } from '../../machines/legacy/index.ts';
import type { RequestKind, TagLedger } from './ledger.ts';

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
  return isRecord(data) && typeof data.status === 'number' ? data.status : 0;
}

function readConn(data: Record<string, unknown>): ConnInfo {
  const { wid, clientToken, serverToken, browserToken } = data;
  if (typeof wid !== 'string' || typeof clientToken !== 'string' || typeof serverToken !== 'string')
    throw new FrameDropped('FRAME_BAD_CONN', 'a Conn push without wid and tokens');
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

function readChallenge(value: unknown): Uint8Array {
  try {
    if (typeof value === 'string') return fromBase64(value);
  } catch {
    // reported below
  }
  throw new FrameDropped('FRAME_BAD_CHALLENGE', 'a challenge that is not base64');
}

export class Receiver {
  constructor(private readonly ledger: TagLedger) {}

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
        if (status === 200 && isRecord(data) && typeof data.ref === 'string' && data.ref.length > 0) {
          const ttl = typeof data.ttl === 'number' && data.ttl > 0 ? data.ttl : 20_000;
          return { type: 'init.ok', ref: data.ref, ttl };
        }
        return { type: 'init.failed', status };
      }
      case 'reref': {
        const event: SocketEvent = { type: 'reref.result', status: statusOf(data) };
        if (isRecord(data) && typeof data.ref === 'string') event.ref = data.ref;
        if (isRecord(data) && typeof data.ttl === 'number') event.ttl = data.ttl;
        return event;
      }
      case 'login': {
        const event: SocketEvent = { type: 'login.result', status: statusOf(data) };
        if (isRecord(data) && typeof data.tos === 'number') event.tos = data.tos;
        return event;
      }
      case 'challenge':
        return { type: 'challenge.result', status: statusOf(data) };
      case 'test':
        return { type: 'server.phonePong', reachable: Array.isArray(data) && data[1] === true };
      case 'goodbye':
        return { type: 'logout.result', status: statusOf(data) };
      case 'message': {
        const t = isRecord(data) && typeof data.t === 'number' ? data.t : undefined;
        return { type: 'server.messageAck', id: tag, status: statusOf(data), ...(t ? { t } : {}) };
      }
      case 'query':
        return { type: 'server.activity' };
    }
  }

  /** A push the server started (s1, s2, …). */
  private push(data: unknown[]): SocketEvent {
    const [kind, body] = data;
    if (kind === 'Conn' && isRecord(body)) return { type: 'server.conn', conn: readConn(body) };
    if (kind === 'Cmd' && isRecord(body)) {
      switch (body.type) {
        case 'challenge':
          return { type: 'cmd.challenge', challenge: readChallenge(body.challenge) };
        case 'disconnect':
          return typeof body.kind === 'string'
            ? { type: 'cmd.disconnect', kind: body.kind }
            : { type: 'cmd.disconnect' };
        case 'upgrade_md_prod':
          return typeof body.version === 'string'
            ? { type: 'cmd.upgradeMd', version: body.version }
            : { type: 'cmd.upgradeMd' };
        case 'update':
          return { type: 'init.failed', status: 'update' };
      }
    }
    if (kind === 'Stream') return { type: 'server.stream', kind: typeof body === 'string' ? body : '' };
    if (kind === 'Pong') return { type: 'server.phonePong', reachable: body === true };
    if (kind === 'Msg' && isRecord(body) && body.cmd === 'ack' && typeof body.id === 'string') {
      const level = typeof body.ack === 'number' ? (ACK_NAMES[body.ack] ?? String(body.ack)) : 'server';
      return {
        type: 'server.receipts',
        receipts: [
          { type: level, id: body.id, ...(typeof body.from === 'string' ? { jid: body.from } : {}) },
        ],
      };
    }
    return { type: 'server.activity' };
  }
}
