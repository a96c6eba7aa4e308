// Decoder for legacy binary nodes (docs/protocol.md §3). It is fed hostile bytes by design: every length is
// checked against what remains before anything is read or allocated, and every failure is a CodecError
// carrying the offset. Token lookups are array indexing; text goes through one shared TextDecoder.
import { CodecError } from '../errors.ts';
import { isJidPart } from './jid.ts';
import { type BinaryNode, type NodeAttrs, type NodeContent, setAttr, WIRE } from './node.ts';
import { type Dictionary, TOKENS_V11, tokenTables, USER_SERVER } from './tokens.ts';

export interface DecodeOptions {
  dictionary?: Dictionary;
  /** How deeply nodes may nest before the input is refused (default 64). */
  maxDepth?: number;
  /**
   * Copy byte content out of the input (default false: byte content is a view into `bytes`, which
   * saves a copy per message; the caller must then not reuse the input buffer).
   */
  copyBytes?: boolean;
}

export const DEFAULT_MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8');

/** Short ASCII strings (names, numbers, ids) skip TextDecoder, whose call overhead dominates them. */
function decodeText(bytes: Uint8Array): string {
  if (bytes.length > 32) return utf8.decode(bytes);
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const code = bytes[i]!;
    if (code >= 0x80) return utf8.decode(bytes);
    text += String.fromCharCode(code);
  }
  return text;
}

const NIBBLE_CHARS = '0123456789-.';

// Each packed byte holds two characters; a table of all 256 pairs makes decoding one lookup per byte.
// null marks a byte with an invalid nibble (12-14 in nibble strings).
function pairTable(charOf: (nibble: number) => string | null): (string | null)[] {
  const table: (string | null)[] = [];
  for (let byte = 0; byte < 256; byte++) {
    const high = charOf(byte >> 4);
    const low = charOf(byte & 0x0f);
    table.push(high === null || low === null ? null : high + low);
  }
  return table;
}

const NIBBLE_PAIRS = pairTable((n) => (n < 12 ? NIBBLE_CHARS[n]! : n === 15 ? '\0' : null));
const HEX_PAIRS = pairTable((n) => '0123456789ABCDEF'[n]!);

class BinaryReader {
  private index = 0;
  private readonly tokens: readonly (string | null)[];

  constructor(
    private readonly bytes: Uint8Array,
    dictionary: Dictionary,
    private readonly maxDepth: number,
    private readonly copyBytes: boolean,
  ) {
    this.tokens = tokenTables(dictionary).decode;
  }

  decode(): BinaryNode {
    if (this.bytes.length === 0) throw new CodecError('TRUNCATED', 'empty input: expected a node', 0);
    const node = this.readNode(1);
    if (this.index !== this.bytes.length) {
      throw new CodecError(
        'TRAILING_BYTES',
        `${this.bytes.length - this.index} bytes left after the node`,
        this.index,
      );
    }
    return node;
  }

  private fail(
    code: ConstructorParameters<typeof CodecError>[0],
    message: string,
    offset = this.index,
  ): never {
    throw new CodecError(code, message, offset);
  }

  private need(count: number): void {
    if (this.index + count > this.bytes.length) {
      this.fail('TRUNCATED', `needed ${count} more bytes, ${this.bytes.length - this.index} left`);
    }
  }

  private byte(): number {
    if (this.index >= this.bytes.length) this.fail('TRUNCATED', 'unexpected end of input');
    return this.bytes[this.index++]!;
  }

  private int(count: number): number {
    this.need(count);
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 256 + this.bytes[this.index++]!;
    return value;
  }

  private listSize(tag: number, at: number): number {
    if (tag === WIRE.LIST_EMPTY) return 0;
    if (tag === WIRE.LIST_8) return this.int(1);
    if (tag === WIRE.LIST_16) return this.int(2);
    return this.fail('BAD_LIST', `expected a list tag, got ${tag}`, at);
  }

  private readNode(depth: number): BinaryNode {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `nodes nest deeper than ${this.maxDepth}`);
    const start = this.index;
    const size = this.listSize(this.byte(), start);
    if (size === 0) this.fail('EMPTY_NODE', 'a node list of size 0', start);
    const tagAt = this.index;
    const tagByte = this.byte();
    if (tagByte === WIRE.STREAM_END) this.fail('STREAM_END', 'STREAM_END where a node starts', tagAt);
    const tag = this.readString(tagByte, tagAt);
    if (tag === null || tag.length === 0) this.fail('BAD_TAG', 'a node without a tag', tagAt);

    const attrCount = (size - 1) >> 1;
    // Each attribute takes at least two bytes: refuse impossible counts before looping.
    if (attrCount * 2 > this.bytes.length - this.index)
      this.fail('TRUNCATED', `${attrCount} attributes cannot fit`);
    let attrs: NodeAttrs | null = null;
    if (attrCount > 0) {
      attrs = {};
      for (let i = 0; i < attrCount; i++) {
        const keyAt = this.index;
        const key = this.readString(this.byte(), keyAt);
        const valueAt = this.index;
        const value = this.readString(this.byte(), valueAt);
        if (key === null || value === null)
          this.fail('BAD_STRING', 'attribute key and value must be strings', keyAt);
        setAttr(attrs, key, value);
      }
    }
    const content: NodeContent = size % 2 === 0 ? this.readContent(depth) : null;
    return [tag, attrs, content];
  }

  private readContent(depth: number): NodeContent {
    const at = this.index;
    const tag = this.byte();
    if (tag === WIRE.LIST_EMPTY || tag === WIRE.LIST_8 || tag === WIRE.LIST_16) {
      const count = this.listSize(tag, at);
      // A child node takes at least two bytes.
      if (count * 2 > this.bytes.length - this.index)
        this.fail('TRUNCATED', `${count} child nodes cannot fit`, at);
      const children: BinaryNode[] = [];
      for (let i = 0; i < count; i++) children.push(this.readNode(depth + 1));
      return children;
    }
    if (tag === WIRE.BINARY_8 || tag === WIRE.BINARY_20 || tag === WIRE.BINARY_32) {
      const content = this.readBytes(tag);
      return this.copyBytes ? content.slice() : content;
    }
    const text = this.readString(tag, at);
    if (text === null) return this.fail('BAD_STRING', 'content cannot be LIST_EMPTY here', at);
    return text;
  }

  /** Raw bytes after a BINARY_* tag, as a view into the input. */
  private readBytes(tag: number): Uint8Array {
    let length: number;
    if (tag === WIRE.BINARY_8) length = this.int(1);
    else if (tag === WIRE.BINARY_20) {
      const at = this.index;
      length = this.int(3);
      if (length >= 1 << 20) this.fail('BAD_STRING', 'BINARY_20 length uses more than 20 bits', at);
    } else length = this.int(4);
    this.need(length);
    const view = this.bytes.subarray(this.index, this.index + length);
    this.index += length;
    return view;
  }

  private readString(tag: number, at: number): string | null {
    if (tag === WIRE.LIST_EMPTY) return null;
    if (tag === WIRE.STREAM_END) return this.fail('STREAM_END', 'STREAM_END where a string was expected', at);
    if (tag >= 3 && tag < WIRE.DICTIONARY_0) {
      const token = this.tokens[tag];
      if (typeof token !== 'string')
        this.fail('UNKNOWN_TOKEN', `token ${tag} is past the dictionary's end`, at);
      return token;
    }
    if (tag >= WIRE.DICTIONARY_0 && tag <= WIRE.DICTIONARY_3) {
      return this.fail(
        'DICTIONARY_TOKEN',
        `double-byte token (dictionary ${tag - WIRE.DICTIONARY_0}): the legacy dictionaries are empty`,
        at,
      );
    }
    switch (tag) {
      case WIRE.BINARY_8:
      case WIRE.BINARY_20:
      case WIRE.BINARY_32:
        return decodeText(this.readBytes(tag));
      case WIRE.JID_PAIR:
        return this.readJidPair();
      case WIRE.JID_AD:
        return this.readJidAd();
      case WIRE.NIBBLE_8:
        return this.readPacked(NIBBLE_PAIRS, 'nibble');
      case WIRE.HEX_8:
        return this.readPacked(HEX_PAIRS, 'hex');
      default:
        return this.fail('BAD_TAG', `unknown tag ${tag} where a string was expected`, at);
    }
  }

  private readJidPair(): string {
    const userAt = this.index;
    const user = this.readJidPart(userAt);
    const serverAt = this.index;
    const server = this.readJidPart(serverAt);
    if (server === null || server.length === 0)
      this.fail('BAD_STRING', 'JID_PAIR without a server', serverAt);
    return user === null ? server : `${user}@${server}`;
  }

  private readJidAd(): string {
    const agent = this.byte();
    const device = this.byte();
    const userAt = this.index;
    const user = this.readJidPart(userAt);
    if (user === null) this.fail('BAD_STRING', 'JID_AD without a user', userAt);
    // Agent and device 0 are the defaults and are left out of the text form.
    return `${user}${agent ? `.${agent}` : ''}${device ? `:${device}` : ''}@${USER_SERVER}`;
  }

  /**
   * One part of a JID (a user or a server). A part is never a JID itself: nesting them would recurse once
   * per byte pair, past the node depth limit. It holds no `@`, `,` or control character.
   */
  private readJidPart(at: number): string | null {
    const tag = this.byte();
    if (tag === WIRE.JID_PAIR || tag === WIRE.JID_AD) this.fail('BAD_JID', 'a JID inside a JID', at);
    const part = this.readString(tag, at);
    if (part !== null && !isJidPart(part))
      this.fail('BAD_JID', 'a JID part with "@", "," or a control character', at);
    return part;
  }

  private readPacked(pairs: readonly (string | null)[], kind: string): string {
    const at = this.index;
    const head = this.byte();
    const count = head & 0x7f;
    const odd = (head & 0x80) !== 0;
    if (count === 0 && odd) this.fail('BAD_PACKED', `a ${kind} string of length -1`, at);
    this.need(count);
    let text = '';
    for (let i = 0; i < count; i++) {
      const pair = pairs[this.bytes[this.index]!];
      if (pair === null || pair === undefined) this.fail('BAD_PACKED', `invalid ${kind} nibble (12-14)`);
      text += pair;
      this.index++;
    }
    return odd ? text.slice(0, -1) : text;
  }
}

/** Decodes exactly one node from `bytes`; anything else (leftovers, truncation, bad tags) is a CodecError. */
export function decodeNode(bytes: Uint8Array, options: DecodeOptions = {}): BinaryNode {
  const { dictionary = TOKENS_V11, maxDepth = DEFAULT_MAX_DEPTH, copyBytes = false } = options;
  return new BinaryReader(bytes, dictionary, maxDepth, copyBytes).decode();
}
