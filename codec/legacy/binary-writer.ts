// Encoder for legacy binary nodes, making docs/protocol.md §3's encoder choices: tokens first, then JID pairs
// with packed users, then raw BINARY_* strings. Writes into one growable buffer.
import { CodecError } from '../errors.ts';
import { isJidPart } from './jid.ts';
import { type BinaryNode, PACKED_MAX, WIRE } from './node.ts';
import { type Dictionary, TOKENS_V11, tokenTables } from './tokens.ts';

export interface EncodeOptions {
  dictionary?: Dictionary;
}

const NIBBLE_RE = /^[0-9.-]+$/;
const HEX_RE = /^[0-9A-F]+$/;
const PAD_NIBBLE = 15;

function nibbleValue(code: number): number {
  if (code === 45) return 10; // '-'
  if (code === 46) return 11; // '.'
  return code - 48;
}

function hexValue(code: number): number {
  return code <= 57 ? code - 48 : code - 55;
}

class BinaryWriter {
  private buffer = new Uint8Array(256);
  private length = 0;
  private readonly tokens: ReadonlyMap<string, number>;
  private readonly encoder = new TextEncoder();

  constructor(dictionary: Dictionary) {
    this.tokens = tokenTables(dictionary).encode;
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
    if (size === 0) this.byte(WIRE.LIST_EMPTY);
    else if (size < 256) {
      this.byte(WIRE.LIST_8);
      this.byte(size);
    } else if (size < 65536) {
      this.byte(WIRE.LIST_16);
      this.int(size, 2);
    } else throw new CodecError('BAD_NODE', `a list of ${size} items does not fit LIST_16`);
  }

  writeNode(node: BinaryNode, depth: number): void {
    if (!Array.isArray(node) || node.length < 1 || node.length > 3) {
      throw new CodecError('BAD_NODE', 'a node is [tag, attrs, content]');
    }
    const [tag, attrs, content] = node;
    if (typeof tag !== 'string' || tag.length === 0)
      throw new CodecError('BAD_NODE', 'a node needs a non-empty string tag');
    if (depth > 1024) throw new CodecError('BAD_NODE', 'nodes nest too deeply to encode');
    const entries: [string, string][] = [];
    if (attrs !== null && attrs !== undefined) {
      if (typeof attrs !== 'object' || Array.isArray(attrs))
        throw new CodecError('BAD_NODE', 'attrs must be an object');
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined) continue; // left out, as docs/protocol.md says
        if (typeof value !== 'string') throw new CodecError('BAD_NODE', `attribute ${key} must be a string`);
        entries.push([key, value]);
      }
    }
    const hasContent = content !== null && content !== undefined;
    this.listStart(1 + 2 * entries.length + (hasContent ? 1 : 0));
    this.writeString(tag);
    for (const [key, value] of entries) {
      this.writeString(key);
      this.writeString(value);
    }
    if (!hasContent) return;
    if (Array.isArray(content)) {
      this.listStart(content.length);
      for (const child of content) this.writeNode(child, depth + 1);
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
      this.byte(WIRE.BINARY_8);
      this.byte(length);
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
    if (at >= 1 && isJidPart(text.slice(0, at)) && at + 1 < text.length && isJidPart(text.slice(at + 1))) {
      this.byte(WIRE.JID_PAIR);
      this.writeJidUser(text.slice(0, at));
      this.writeString(text.slice(at + 1));
      return;
    }
    this.writeRaw(text);
  }

  private writeJidUser(user: string): void {
    if (user.length <= PACKED_MAX && NIBBLE_RE.test(user)) this.writePacked(WIRE.NIBBLE_8, user, nibbleValue);
    else if (user.length <= PACKED_MAX && HEX_RE.test(user)) this.writePacked(WIRE.HEX_8, user, hexValue);
    else this.writeRaw(user);
  }

  private writeRaw(text: string): void {
    // Up to 85 UTF-16 units fit BINARY_8 whatever they encode to (≤ 3 bytes each): encode in place.
    if (text.length <= 85) {
      this.ensure(2 + text.length * 3);
      const { written } = this.encoder.encodeInto(text, this.buffer.subarray(this.length + 2));
      this.buffer[this.length] = WIRE.BINARY_8;
      this.buffer[this.length + 1] = written;
      this.length += 2 + written;
      return;
    }
    this.writeBytes(this.encoder.encode(text));
  }

  private writePacked(tag: number, text: string, nibbleOf: (code: number) => number): void {
    const odd = text.length % 2;
    const count = (text.length + odd) / 2;
    this.ensure(2 + count);
    this.buffer[this.length++] = tag;
    this.buffer[this.length++] = (odd ? 0x80 : 0) | count;
    for (let i = 0; i < text.length; i += 2) {
      const high = nibbleOf(text.charCodeAt(i));
      const low = i + 1 < text.length ? nibbleOf(text.charCodeAt(i + 1)) : PAD_NIBBLE;
      this.buffer[this.length++] = (high << 4) | low;
    }
  }
}

export function encodeNode(node: BinaryNode, options: EncodeOptions = {}): Uint8Array {
  const writer = new BinaryWriter(options.dictionary ?? TOKENS_V11);
  writer.writeNode(node, 1);
  return writer.result();
}
