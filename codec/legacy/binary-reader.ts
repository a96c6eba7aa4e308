// Decoder for legacy binary nodes (docs/protocol.md §3). It is fed hostile bytes by design: every length is
// checked against what remains before anything is read or allocated, and every failure is a CodecError
// carrying the offset. Token lookups are array indexing.
//
// Speed (bench/codec.ts, against @adiwajshing/baileys@3.5.3): strings are cut straight out of the input by
// offsets, never through a subarray per field; ASCII (almost every id, JID and name) is scanned and then made by
// asciiAt (codec/ascii.ts: String.fromCharCode with fixed arity up to 32 characters, latin1Slice beyond), which
// measured several times faster than building it per character and than TextDecoder for short strings (TextDecoder stays for anything else, so invalid UTF-8 still becomes U+FFFD);
// packed strings are written as character codes into one scratch buffer and cut out the same way; a JID part
// is checked with a character loop (tokens once per dictionary). No string cache: the benchmark repeats its
// bytes, so a cache would be measured on hits that real traffic does not give.
import { asciiAt } from '../ascii.ts';
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

/** bytes[start, end) as UTF-8 text: ASCII cut out natively, anything else through TextDecoder. */
function textAt(bytes: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return utf8.decode(bytes.subarray(start, end));
  }
  return asciiAt(bytes, start, end - start);
}

// The character codes of each nibble; -1 marks nibbles that are not characters (12-14 in nibble strings).
const NIBBLE_CODES = Int16Array.from('0123456789-.\0\0\0\0', (c, i) =>
  i >= 12 && i < 15 ? -1 : c.charCodeAt(0),
);
const HEX_CODES = Int16Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));
/** Packed strings are at most 127 bytes, 254 characters. */
const scratch = new Uint8Array(256);

/** Per dictionary: which tokens may stand as a part of a JID. */
const tokenParts = new WeakMap<readonly (string | null)[], boolean[]>();
function partTable(tokens: readonly (string | null)[]): boolean[] {
  let table = tokenParts.get(tokens);
  if (!table) {
    table = tokens.map((token) => typeof token === 'string' && isJidPart(token));
    tokenParts.set(tokens, table);
  }
  return table;
}

class BinaryReader {
  private index = 0;
  private readonly tokens: readonly (string | null)[];
  private readonly tokenIsPart: boolean[];
  /** Set by readPacked: the string held a NUL (nibble 15 before its end), which no JID part may hold. */
  private packedNul = false;

  constructor(
    private readonly bytes: Uint8Array,
    dictionary: Dictionary,
    private readonly maxDepth: number,
    private readonly copyBytes: boolean,
  ) {
    this.tokens = tokenTables(dictionary).decode;
    this.tokenIsPart = partTable(this.tokens);
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
    if (tag === WIRE.LIST_8) return this.byte();
    if (tag === WIRE.LIST_EMPTY) return 0;
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
        if (key === '__proto__') setAttr(attrs, key, value);
        else attrs[key] = value;
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

  /** The length after a BINARY_* tag, checked against what remains. */
  private binaryLength(tag: number): number {
    let length: number;
    if (tag === WIRE.BINARY_8) length = this.byte();
    else if (tag === WIRE.BINARY_20) {
      const at = this.index;
      length = this.int(3);
      if (length >= 1 << 20) this.fail('BAD_STRING', 'BINARY_20 length uses more than 20 bits', at);
    } else length = this.int(4);
    this.need(length);
    return length;
  }

  /** Raw bytes after a BINARY_* tag, as a view into the input. */
  private readBytes(tag: number): Uint8Array {
    const length = this.binaryLength(tag);
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
      case WIRE.BINARY_32: {
        const length = this.binaryLength(tag);
        const start = this.index;
        this.index = start + length;
        return textAt(this.bytes, start, start + length);
      }
      case WIRE.JID_PAIR:
        return this.readJidPair();
      case WIRE.JID_AD:
        return this.readJidAd();
      case WIRE.NIBBLE_8:
        return this.readPacked(NIBBLE_CODES, 'nibble');
      case WIRE.HEX_8:
        return this.readPacked(HEX_CODES, 'hex');
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
    let ok: boolean;
    let part: string | null;
    if (tag >= 3 && tag < WIRE.DICTIONARY_0) {
      part = this.readString(tag, at);
      ok = this.tokenIsPart[tag] === true;
    } else if (tag === WIRE.NIBBLE_8 || tag === WIRE.HEX_8) {
      part = this.readString(tag, at);
      ok = !this.packedNul; // digits, '-', '.' and A-F are never forbidden
    } else {
      part = this.readString(tag, at);
      ok = part === null || isJidPart(part);
    }
    if (!ok) this.fail('BAD_JID', 'a JID part with "@", "," or a control character', at);
    return part;
  }

  private readPacked(codes: Int16Array, kind: string): string {
    const at = this.index;
    const head = this.byte();
    const count = head & 0x7f;
    const odd = (head & 0x80) !== 0;
    if (count === 0 && odd) this.fail('BAD_PACKED', `a ${kind} string of length -1`, at);
    this.need(count);
    const bytes = this.bytes;
    let index = this.index;
    let nul = false;
    for (let i = 0; i < count; i++) {
      const byte = bytes[index]!;
      const high = codes[byte >> 4]!;
      const low = codes[byte & 0x0f]!;
      if (high < 0 || low < 0) {
        this.index = index;
        this.fail('BAD_PACKED', `invalid ${kind} nibble (12-14)`);
      }
      scratch[2 * i] = high;
      scratch[2 * i + 1] = low;
      index++;
    }
    this.index = index;
    const length = odd ? 2 * count - 1 : 2 * count;
    for (let i = 0; i < length; i++) if (scratch[i] === 0) nul = true;
    this.packedNul = nul;
    return asciiAt(scratch, 0, length);
  }
}

/** Decodes exactly one node from `bytes`; anything else (leftovers, truncation, bad tags) is a CodecError. */
export function decodeNode(bytes: Uint8Array, options: DecodeOptions = {}): BinaryNode {
  const { dictionary = TOKENS_V11, maxDepth = DEFAULT_MAX_DEPTH, copyBytes = false } = options;
  return new BinaryReader(bytes, dictionary, maxDepth, copyBytes).decode();
}
