// WebSocket frames (docs/protocol.md §1): `<tag>,<payload>` in both directions, text or binary.
import { CodecError } from '../errors.ts';

export type ServerFrame =
  | { kind: 'json'; tag: string; data: unknown }
  | { kind: 'ack'; tag: string }
  | { kind: 'pong'; serverTime: number }
  | { kind: 'binary'; tag: string; payload: Uint8Array };

export type ClientFrame =
  | { kind: 'ping' }
  | { kind: 'json'; tag: string; data: unknown }
  | { kind: 'binary'; tag: string; metric: number; flag: number; payload: Uint8Array };

export const PING_FRAME = '?,,';
const COMMA = 0x2c;
/** Tags are short (`1605000000.--123`, `preempt-…`, message ids); a longer one means the frame is garbage. */
const MAX_TAG_LENGTH = 128;

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function asText(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : utf8.decode(data);
}

function splitText(text: string): { tag: string; rest: string } {
  const comma = text.indexOf(',');
  if (comma < 0 || comma > MAX_TAG_LENGTH)
    throw new CodecError('BAD_FRAME', 'a frame starts with `<tag>,`', 0);
  return { tag: text.slice(0, comma), rest: text.slice(comma + 1) };
}

function parseJson(text: string, offset: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CodecError('BAD_JSON', 'the frame payload is not JSON', offset);
  }
}

function splitBinary(bytes: Uint8Array): { tag: string; bodyAt: number } {
  const limit = Math.min(bytes.length, MAX_TAG_LENGTH + 1);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] === COMMA) return { tag: utf8.decode(bytes.subarray(0, i)), bodyAt: i + 1 };
  }
  throw new CodecError('BAD_FRAME', 'a binary frame starts with `<tag>,`', 0);
}

/** What the client receives from the server. */
export function parseServerFrame(data: string | Uint8Array, isBinary: boolean): ServerFrame {
  if (isBinary && typeof data !== 'string') {
    const { tag, bodyAt } = splitBinary(data);
    // A view into the frame, not a copy: openFrame reads it once and returns a plaintext of its own.
    return { kind: 'binary', tag, payload: data.subarray(bodyAt) };
  }
  const text = asText(data);
  if (text.startsWith('!')) {
    const serverTime = Number(text.slice(1));
    if (text.length < 2 || !Number.isFinite(serverTime))
      throw new CodecError('BAD_FRAME', 'a pong is `!<ms>`', 1);
    return { kind: 'pong', serverTime };
  }
  const { tag, rest } = splitText(text);
  if (rest.length === 0) return { kind: 'ack', tag };
  // Some servers double the comma like clients do; the second field is then empty.
  const json = rest.startsWith(',') ? rest.slice(1) : rest;
  return { kind: 'json', tag, data: parseJson(json, tag.length + 1) };
}

/** What the server receives from a client. */
export function parseClientFrame(data: string | Uint8Array, isBinary: boolean): ClientFrame {
  if (isBinary && typeof data !== 'string') {
    const { tag, bodyAt } = splitBinary(data);
    if (data.length < bodyAt + 2)
      throw new CodecError('TRUNCATED', 'a binary request needs metric and flag bytes', bodyAt);
    return {
      kind: 'binary',
      tag,
      metric: data[bodyAt]!,
      flag: data[bodyAt + 1]!,
      payload: data.slice(bodyAt + 2),
    };
  }
  const text = asText(data);
  if (text === PING_FRAME) return { kind: 'ping' };
  const { tag, rest } = splitText(text);
  const json = rest.startsWith(',') ? rest.slice(1) : rest;
  if (json.length === 0)
    throw new CodecError('BAD_FRAME', 'a client frame carries a payload', tag.length + 1);
  return { kind: 'json', tag, data: parseJson(json, text.length - json.length) };
}

export function jsonFrame(tag: string, data: unknown, options: { doubleComma?: boolean } = {}): string {
  checkTag(tag);
  return `${tag},${options.doubleComma ? ',' : ''}${JSON.stringify(data)}`;
}

export function ackFrame(tag: string): string {
  checkTag(tag);
  return `${tag},`;
}

export function pongFrame(serverMs: number): string {
  return `!${Math.floor(serverMs)}`;
}

export function clientBinaryFrame(
  tag: string,
  metric: number,
  flag: number,
  payload: Uint8Array,
): Uint8Array {
  checkTag(tag);
  const head = utf8Encoder.encode(`${tag},`);
  const frame = new Uint8Array(head.length + 2 + payload.length);
  frame.set(head, 0);
  frame[head.length] = metric;
  frame[head.length + 1] = flag;
  frame.set(payload, head.length + 2);
  return frame;
}

export function serverBinaryFrame(tag: string, payload: Uint8Array): Uint8Array {
  checkTag(tag);
  const head = utf8Encoder.encode(`${tag},`);
  const frame = new Uint8Array(head.length + payload.length);
  frame.set(head, 0);
  frame.set(payload, head.length);
  return frame;
}

function checkTag(tag: string): void {
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH || tag.includes(',')) {
    throw new CodecError('BAD_FRAME', `invalid message tag ${JSON.stringify(tag.slice(0, 40))}`);
  }
}
