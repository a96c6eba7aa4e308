// Encoder for legacy binary nodes, making docs/protocol.md §3's encoder choices: tokens first, then JID pairs
// with packed users, then raw BINARY_* strings. Writes into one output buffer kept between calls (grown when
// needed), checks and packs JID parts by index ranges (no slices, no regular expressions), writes ASCII byte
// by byte and counts attributes before writing them instead of building an array of entries.
import { CodecError } from '../errors.ts';
import { type BinaryNode, PACKED_MAX, WIRE } from './node.ts';
import { type Dictionary, TOKENS_V11, tokenTables } from './tokens.ts';

export interface EncodeOptions {
  dictionary?: Dictionary;
}

const PAD_NIBBLE = 15;

function nibbleValue(code: number): number {
  if (code === 45) return 10; // '-'
  if (code === 46) return 11; // '.'
  return code - 48;
}

function hexValue(code: number): number {
  return code <= 57 ? code - 48 : code - 55;
}

/** Whether text[from, to) is a JID part (isJidPart without the slice). */
function isPartRange(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x40 || code === 0x2c || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}

/** Nibble (0-9 - .) or hex (0-9 A-F) packing for text[from, to), or 0 for neither. */
function packingOf(text: string, from: number, to: number): number {
  let nibble = true;
  let hex = true;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    const digit = code >= 48 && code <= 57;
    if (!digit && code !== 45 && code !== 46) nibble = false;
    if (!digit && !(code >= 65 && code <= 70)) hex = false;
    if (!nibble && !hex) return 0;
  }
  return nibble ? WIRE.NIBBLE_8 : WIRE.HEX_8;
}

/** Tokens by (length, first character), so the server of a JID is found without slicing it out. */
type TokenBuckets = Map<number, [string, number][]>;
const bucketCache = new WeakMap<ReadonlyMap<string, number>, TokenBuckets>();
function bucketsOf(tokens: ReadonlyMap<string, number>): TokenBuckets {
  let buckets = bucketCache.get(tokens);
  if (!buckets) {
    buckets = new Map();
    for (const [token, index] of tokens) {
      if (token.length === 0) continue;
      const key = token.length * 65536 + token.charCodeAt(0);
      const list = buckets.get(key);
      if (list) list.push([token, index]);
      else buckets.set(key, [[token, index]]);
    }
    bucketCache.set(tokens, buckets);
  }
  return buckets;
}

const encoder = new TextEncoder();
// One output buffer for every call (nothing inside an encode can start another), grown when a node needs
// more; the result is a copy of what was written.
let shared = new Uint8Array(64 * 1024);

class BinaryWriter {
  private buffer = shared;
  private length = 0;
  private readonly tokens: ReadonlyMap<string, number>;
  private readonly buckets: TokenBuckets;

  constructor(dictionary: Dictionary) {
    this.tokens = tokenTables(dictionary).encode;
    this.buckets = bucketsOf(this.tokens);
  }

  /** The token that text[from…] is, if any (the same answer as tokens.get(text.slice(from)), without the slice). */
  private tokenAt(text: string, from: number): number | undefined {
    const length = text.length - from;
    const list = this.buckets.get(length * 65536 + text.charCodeAt(from));
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const [token, index] = list[i]!;
      if (text.startsWith(token, from)) return index;
    }
    return undefined;
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    // Keep the larger buffer for the next call, up to 16 MiB (a rare huge node does not pin more).
    if (size <= 16 * 1024 * 1024) shared = grown;
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  private int(value: number, count: number): void {
    this.ensure(count);
    for (let shift = count - 1; shift >= 0; shift--) {
      this.buffer[this.length++] = Math.floor(value / 256 ** shift) & 0xff;
    }
  }

  private listStart(size: number): void {
    this.ensure(3);
    const buffer = this.buffer;
    if (size === 0) buffer[this.length++] = WIRE.LIST_EMPTY;
    else if (size < 256) {
      buffer[this.length++] = WIRE.LIST_8;
      buffer[this.length++] = size;
    } else if (size < 65536) {
      buffer[this.length++] = WIRE.LIST_16;
      buffer[this.length++] = size >> 8;
      buffer[this.length++] = size & 0xff;
    } else throw new CodecError('BAD_NODE', `a list of ${size} items does not fit LIST_16`);
  }

  writeNode(node: BinaryNode, depth: number): void {
    if (!Array.isArray(node) || node.length < 1 || node.length > 3) {
      throw new CodecError('BAD_NODE', 'a node is [tag, attrs, content]');
    }
    const tag = node[0];
    const attrs = node[1];
    const content = node[2];
    if (typeof tag !== 'string' || tag.length === 0)
      throw new CodecError('BAD_NODE', 'a node needs a non-empty string tag');
    if (depth > 1024) throw new CodecError('BAD_NODE', 'nodes nest too deeply to encode');
    // Two passes over the attributes (count, then write) instead of an array of entries.
    let count = 0;
    if (attrs !== null && attrs !== undefined) {
      if (typeof attrs !== 'object' || Array.isArray(attrs))
        throw new CodecError('BAD_NODE', 'attrs must be an object');
      // for…in with an own-property check: Object.keys's array per node measured slower
      for (const key in attrs) {
        if (!Object.hasOwn(attrs, key)) continue;
        const value = attrs[key];
        if (value === null || value === undefined) continue; // left out, as docs/protocol.md says
        if (typeof value !== 'string') throw new CodecError('BAD_NODE', `attribute ${key} must be a string`);
        count++;
      }
    }
    const hasContent = content !== null && content !== undefined;
    this.listStart(1 + 2 * count + (hasContent ? 1 : 0));
    this.writeString(tag);
    if (count > 0) {
      for (const key in attrs) {
        if (!Object.hasOwn(attrs, key)) continue;
        const value = attrs[key];
        if (value === null || value === undefined) continue;
        this.writeString(key);
        this.writeString(value);
      }
    }
    if (!hasContent) return;
    if (Array.isArray(content)) {
      this.listStart(content.length);
      for (let i = 0; i < content.length; i++) this.writeNode(content[i]!, depth + 1);
    } else if (content instanceof Uint8Array) {
      this.writeBytes(content);
    } else if (typeof content === 'string') {
      this.writeString(content);
    } else {
      throw new CodecError('BAD_NODE', 'content must be nodes, a string, bytes or null');
    }
  }

  private writeBytes(bytes: Uint8Array): void {
    this.binaryHeader(bytes.length);
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  private binaryHeader(length: number): void {
    if (length < 256) {
      this.ensure(2);
      this.buffer[this.length++] = WIRE.BINARY_8;
      this.buffer[this.length++] = length;
    } else if (length < 1 << 20) {
      this.byte(WIRE.BINARY_20);
      this.int(length, 3);
    } else {
      this.byte(WIRE.BINARY_32);
      this.int(length, 4);
    }
  }

  writeString(text: string): void {
    const token = this.tokens.get(text);
    if (token !== undefined) {
      this.byte(token);
      return;
    }
    const at = text.indexOf('@');
    // Only a JID whose parts the decoder takes goes out as JID_PAIR; anything else is a raw string.
    if (
      at >= 1 &&
      at + 1 < text.length &&
      isPartRange(text, 0, at) &&
      isPartRange(text, at + 1, text.length)
    ) {
      this.byte(WIRE.JID_PAIR);
      this.writeJidUser(text, at);
      const server = this.tokenAt(text, at + 1);
      if (server !== undefined) this.byte(server);
      else this.writeString(text.slice(at + 1));
      return;
    }
    this.writeRaw(text, 0, text.length);
  }

  /** The user part text[0, end) of a JID: packed when it can be, raw otherwise. */
  private writeJidUser(text: string, end: number): void {
    const packing = end <= PACKED_MAX ? packingOf(text, 0, end) : 0;
    if (packing === WIRE.NIBBLE_8) this.writePacked(WIRE.NIBBLE_8, text, end, nibbleValue);
    else if (packing === WIRE.HEX_8) this.writePacked(WIRE.HEX_8, text, end, hexValue);
    else this.writeRaw(text, 0, end);
  }

  /** text[from, to) as BINARY_*: ASCII byte by byte, anything else through TextEncoder. */
  private writeRaw(text: string, from: number, to: number): void {
    const length = to - from;
    // Up to 85 UTF-16 units fit BINARY_8 whatever they encode to (≤ 3 bytes each): encode in place.
    if (length <= 85) {
      this.ensure(2 + length * 3);
      const buffer = this.buffer;
      const head = this.length;
      let out = head + 2;
      for (let i = from; i < to; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) {
          const part = from === 0 && to === text.length ? text : text.slice(from, to);
          const { written } = encoder.encodeInto(part, buffer.subarray(head + 2));
          out = head + 2 + written;
          break;
        }
        buffer[out++] = code;
      }
      buffer[head] = WIRE.BINARY_8;
      buffer[head + 1] = out - head - 2;
      this.length = out;
      return;
    }
    this.writeBytes(encoder.encode(from === 0 && to === text.length ? text : text.slice(from, to)));
  }

  private writePacked(tag: number, text: string, end: number, nibbleOf: (code: number) => number): void {
    const odd = end % 2;
    const count = (end + odd) / 2;
    this.ensure(2 + count);
    const buffer = this.buffer;
    buffer[this.length++] = tag;
    buffer[this.length++] = (odd ? 0x80 : 0) | count;
    for (let i = 0; i < end; i += 2) {
      const high = nibbleOf(text.charCodeAt(i));
      const low = i + 1 < end ? nibbleOf(text.charCodeAt(i + 1)) : PAD_NIBBLE;
      buffer[this.length++] = (high << 4) | low;
    }
  }
}

export function encodeNode(node: BinaryNode, options: EncodeOptions = {}): Uint8Array {
  const writer = new BinaryWriter(options.dictionary ?? TOKENS_V11);
  writer.writeNode(node, 1);
  return writer.result();
}
