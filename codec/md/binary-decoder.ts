// Decoder for MD binary nodes (docs/protocol-md.md, "Binary nodes"). It is fed hostile bytes by design:
// every length is checked against what remains before anything is read or allocated, list counts are
// checked against the bytes that could hold them, one depth counter covers nested nodes and nested JIDs
// alike (so no input can exhaust the stack), a compressed body may inflate to a bounded size only, and
// every failure is a CodecError with the offset where reading stopped.
//
// Speed (bench/md-codec.ts): offsets into the input, never a copy per field (byte content is a view); tokens
// are array lookups; packed strings and short ASCII ones are made by one String.fromCharCode.apply over a
// reused array, which measured faster than concatenating per character or pair and than Buffer slices (whose
// call overhead dominates short strings). No string cache: the benchmark repeats its bytes, so a cache would
// be measured on hits that real traffic does not give.
import { inflateSync } from 'node:zlib';
import { CodecError, type CodecErrorCode } from '../errors.ts';
import { type MdDictionary, type MdDictVersion, resolveDictionary } from './dictionary.ts';
import type { MdAttrs, MdContent, MdNode } from './node.ts';
import { DOMAIN_TYPE, FLAG_COMPRESSED } from './wire.ts';

export interface MdDecodeOptions {
  /** How deeply nodes (and JIDs inside them, one level each) may nest (default 64, at most 512). */
  maxDepth?: number;
  /** The largest body a compressed node may inflate to (default 16 MiB); beyond it: TOO_LARGE. */
  maxInflatedBytes?: number;
  /**
   * Copy byte content out of the input (default false: byte content is a view into the input, which saves
   * a copy per field; the caller must then not reuse the input buffer).
   */
  copyBytes?: boolean;
}

export const MD_DEFAULT_MAX_DEPTH = 64;
/** Recursion stays far below any engine's stack limit whatever the caller asks for. */
const HARD_MAX_DEPTH = 512;
export const MD_DEFAULT_MAX_INFLATED_BYTES = 16 * 1024 * 1024;

// The smallest encodings, used to refuse impossible counts before looping: a child node is at least
// LIST_8, a size and a one-byte tag; an attribute at least a one-byte key and a one-byte value.
const MIN_NODE_BYTES = 3;
const MIN_ATTR_BYTES = 2;

// Wire tags as literals (the values of MD_TAG in wire.ts) so that the hot switches compare with constants.
const LIST_EMPTY = 0;
const DICTIONARY_0 = 236;
const DICTIONARY_1 = 237;
const DICTIONARY_2 = 238;
const DICTIONARY_3 = 239;
const INTEROP_JID = 245;
const FB_JID = 246;
const AD_JID = 247;
const LIST_8 = 248;
const LIST_16 = 249;
const JID_PAIR = 250;
const HEX_8 = 251;
const BINARY_8 = 252;
const BINARY_20 = 253;
const BINARY_32 = 254;
const NIBBLE_8 = 255;

const utf8 = new TextDecoder('utf-8');

// Character codes of the 16 nibbles; -1 marks nibbles that are not characters (12-14 in nibble strings).
// The pad nibble 15 reads as "\0", as in the reference decoders; the odd-length flag drops the last one.
const NIBBLE_CODES = Int16Array.from([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 45, 46, -1, -1, -1, 0]);
const HEX_CODES = Int16Array.from([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70]);

// Short strings are made by one String.fromCharCode.apply over a reused array of exactly their length: faster
// than concatenating a string per character or per pair, and no allocation but the string itself.
const MAX_CHARS = 2 * 127;
const CHAR_ARRAYS: number[][] = Array.from({ length: MAX_CHARS + 1 }, (_, n) => new Array<number>(n).fill(0));

function domainServer(domainType: number): string | undefined {
  switch (domainType) {
    case DOMAIN_TYPE.WHATSAPP:
      return 's.whatsapp.net';
    case DOMAIN_TYPE.LID:
      return 'lid';
    case DOMAIN_TYPE.HOSTED:
      return 'hosted';
    case DOMAIN_TYPE.HOSTED_LID:
      return 'hosted.lid';
    default:
      return undefined;
  }
}

class MdReader {
  index: number;
  private readonly single: readonly string[];
  private readonly double: readonly (readonly string[])[];
  private readonly interopJids: boolean;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    dictionary: MdDictionary,
    private readonly maxDepth: number,
    private readonly copyBytes: boolean,
    private readonly where: string,
  ) {
    this.index = start;
    this.single = dictionary.single;
    this.double = dictionary.double;
    this.interopJids = dictionary.interopJids;
  }

  fail(code: CodecErrorCode, message: string, offset = this.index): never {
    throw new CodecError(code, message + this.where, offset);
  }

  private byte(): number {
    if (this.index >= this.bytes.length) this.fail('TRUNCATED', 'unexpected end of input');
    return this.bytes[this.index++]!;
  }

  private need(count: number): void {
    if (count > this.bytes.length - this.index) {
      this.fail('TRUNCATED', `needed ${count} more bytes, ${this.bytes.length - this.index} left`);
    }
  }

  private uint16(): number {
    this.need(2);
    const bytes = this.bytes;
    const value = (bytes[this.index]! << 8) | bytes[this.index + 1]!;
    this.index += 2;
    return value;
  }

  private listSize(tag: number, at: number): number {
    if (tag === LIST_8) return this.byte();
    if (tag === LIST_16) return this.uint16();
    if (tag === LIST_EMPTY) return 0;
    return this.fail('BAD_LIST', `expected a list tag, got ${tag}`, at);
  }

  readNode(depth: number): MdNode {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `nodes nest deeper than ${this.maxDepth}`);
    const start = this.index;
    const size = this.listSize(this.byte(), start);
    if (size === 0) this.fail('EMPTY_NODE', 'a node list of size 0', start);
    const tagAt = this.index;
    const tag = this.readString(this.byte(), depth, tagAt);
    if (tag.length === 0) this.fail('BAD_TAG', 'a node without a tag', tagAt);

    const attrCount = (size - 1) >> 1;
    if (attrCount * MIN_ATTR_BYTES > this.bytes.length - this.index) {
      this.fail('TRUNCATED', `${attrCount} attributes cannot fit in ${this.bytes.length - this.index} bytes`);
    }
    const attrs: MdAttrs = {};
    for (let i = 0; i < attrCount; i++) {
      const keyAt = this.index;
      const key = this.readString(this.byte(), depth, keyAt);
      const valueAt = this.index;
      const value = this.readString(this.byte(), depth, valueAt);
      // A plain assignment of `__proto__` would replace the prototype; attribute keys are untrusted.
      if (key === '__proto__') {
        Object.defineProperty(attrs, key, { value, enumerable: true, writable: true, configurable: true });
      } else attrs[key] = value;
    }
    const content = (size & 1) === 0 ? this.readContent(depth) : undefined;
    return { tag, attrs, content };
  }

  private readContent(depth: number): MdContent {
    const at = this.index;
    const tag = this.byte();
    switch (tag) {
      case LIST_EMPTY:
        return [];
      case LIST_8:
      case LIST_16: {
        const count = this.listSize(tag, at);
        if (count * MIN_NODE_BYTES > this.bytes.length - this.index) {
          this.fail(
            'TRUNCATED',
            `${count} child nodes cannot fit in ${this.bytes.length - this.index} bytes`,
            at,
          );
        }
        const children: MdNode[] = new Array(count);
        for (let i = 0; i < count; i++) children[i] = this.readNode(depth + 1);
        return children;
      }
      case BINARY_8:
      case BINARY_20:
      case BINARY_32: {
        const length = this.binaryLength(tag);
        const start = this.index;
        this.index += length;
        return this.copyBytes
          ? this.bytes.slice(start, start + length)
          : this.bytes.subarray(start, start + length);
      }
      default:
        return this.readString(tag, depth, at);
    }
  }

  /** The length after a BINARY_* tag, checked against what remains. */
  private binaryLength(tag: number): number {
    const at = this.index;
    let length: number;
    if (tag === BINARY_8) length = this.byte();
    else if (tag === BINARY_20) {
      this.need(3);
      const bytes = this.bytes;
      const high = bytes[at]!;
      if (high > 0x0f) this.fail('BAD_STRING', 'a BINARY_20 length uses more than 20 bits', at);
      length = (high << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
      this.index += 3;
    } else {
      this.need(4);
      const bytes = this.bytes;
      length = bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
      this.index += 4;
    }
    this.need(length);
    return length;
  }

  /** A string in an attribute, a tag or a JID part: LIST_EMPTY reads as "", BINARY_* as UTF-8 text. */
  private readString(tag: number, depth: number, at: number): string {
    if (tag >= 1 && tag < DICTIONARY_0) return this.single[tag]!;
    switch (tag) {
      case LIST_EMPTY:
        return '';
      case DICTIONARY_0:
      case DICTIONARY_1:
      case DICTIONARY_2:
      case DICTIONARY_3: {
        const index = this.byte();
        const token = this.double[tag - DICTIONARY_0]![index];
        if (token === undefined) this.fail('UNKNOWN_TOKEN', `no double-byte token ${tag - 236}/${index}`, at);
        return token;
      }
      case BINARY_8:
      case BINARY_20:
      case BINARY_32: {
        const length = this.binaryLength(tag);
        const start = this.index;
        this.index += length;
        return this.text(start, length);
      }
      case NIBBLE_8:
        return this.readPacked(NIBBLE_CODES, 'nibble');
      case HEX_8:
        return this.readPacked(HEX_CODES, 'hex');
      case JID_PAIR:
        return this.readJidPair(depth + 1, at);
      case AD_JID:
        return this.readAdJid(depth + 1, at);
      case FB_JID:
      case INTEROP_JID:
        if (!this.interopJids) {
          this.fail(
            'BAD_TAG',
            `tag ${tag} (${tag === FB_JID ? 'FB' : 'INTEROP'}_JID) is not in dictionary version 2`,
            at,
          );
        }
        return tag === FB_JID ? this.readFbJid(depth + 1, at) : this.readInteropJid(depth + 1, at);
      case LIST_8:
      case LIST_16:
        return this.fail('BAD_TAG', 'a list where a string was expected', at);
      default:
        return this.fail('BAD_TAG', `unknown tag ${tag} where a string was expected`, at);
    }
  }

  /** UTF-8 text; short ASCII (names, ids, numbers) skips TextDecoder, whose call overhead dominates it. */
  private text(start: number, length: number): string {
    const bytes = this.bytes;
    if (length <= 32) {
      const chars = CHAR_ARRAYS[length]!;
      for (let i = 0; i < length; i++) {
        const code = bytes[start + i]!;
        if (code >= 0x80) return utf8.decode(bytes.subarray(start, start + length));
        chars[i] = code;
      }
      return String.fromCharCode.apply(null, chars);
    }
    return utf8.decode(bytes.subarray(start, start + length));
  }

  private readPacked(codes: Int16Array, kind: string): string {
    const at = this.index;
    const head = this.byte();
    const count = head & 0x7f;
    const odd = head >= 0x80;
    if (count === 0 && odd) this.fail('BAD_PACKED', `a ${kind} string of length -1`, at);
    this.need(count);
    const bytes = this.bytes;
    const start = this.index;
    // the odd-length flag: the last character is padding and not part of the string
    const length = odd ? 2 * count - 1 : 2 * count;
    const chars = CHAR_ARRAYS[length]!;
    let out = 0;
    for (let i = start; i < start + count; i++) {
      const byte = bytes[i]!;
      const high = codes[byte >> 4]!;
      const low = codes[byte & 0x0f]!;
      if (high < 0 || low < 0) this.fail('BAD_PACKED', `invalid ${kind} nibble (12-14)`, i);
      chars[out++] = high;
      if (out < length) chars[out++] = low;
    }
    this.index += count;
    return String.fromCharCode.apply(null, chars);
  }

  private checkJidDepth(depth: number, at: number): void {
    if (depth > this.maxDepth) this.fail('TOO_DEEP', `JIDs nest deeper than ${this.maxDepth}`, at);
  }

  private readJidPair(depth: number, at: number): string {
    this.checkJidDepth(depth, at);
    const user = this.readString(this.byte(), depth, this.index - 1);
    const serverAt = this.index;
    const server = this.readString(this.byte(), depth, serverAt);
    if (server.length === 0) this.fail('BAD_JID', 'a JID_PAIR without a server', serverAt);
    // An empty user is the server itself, `@s.whatsapp.net` (docs/protocol-md.md, "JIDs").
    return `${user}@${server}`;
  }

  private readAdJid(depth: number, at: number): string {
    this.checkJidDepth(depth, at);
    const domainType = this.byte();
    const device = this.byte();
    const userAt = this.index;
    const user = this.readString(this.byte(), depth, userAt);
    if (user.length === 0) this.fail('BAD_JID', 'an AD_JID without a user', userAt);
    const server = domainServer(domainType);
    // Any other domain type is an agent on s.whatsapp.net, written with its device as whatsmeow does.
    if (server === undefined) return `${user}.${domainType}:${device}@s.whatsapp.net`;
    return device === 0 ? `${user}@${server}` : `${user}:${device}@${server}`;
  }

  private readFbJid(depth: number, at: number): string {
    this.checkJidDepth(depth, at);
    const userAt = this.index;
    const user = this.readString(this.byte(), depth, userAt);
    if (user.length === 0) this.fail('BAD_JID', 'an FB_JID without a user', userAt);
    const device = this.uint16();
    const serverAt = this.index;
    const server = this.readString(this.byte(), depth, serverAt);
    if (server !== 'msgr')
      this.fail('BAD_JID', `an FB_JID on server "${server.slice(0, 40)}", not msgr`, serverAt);
    return `${user}:${device}@msgr`;
  }

  private readInteropJid(depth: number, at: number): string {
    this.checkJidDepth(depth, at);
    const userAt = this.index;
    const user = this.readString(this.byte(), depth, userAt);
    if (user.length === 0) this.fail('BAD_JID', 'an INTEROP_JID without a user', userAt);
    const device = this.uint16();
    const integrator = this.uint16();
    const serverAt = this.index;
    const server = this.readString(this.byte(), depth, serverAt);
    if (server !== 'interop') {
      this.fail('BAD_JID', `an INTEROP_JID on server "${server.slice(0, 40)}", not interop`, serverAt);
    }
    return `${integrator}-${user}:${device}@interop`;
  }
}

function inflateBody(bytes: Uint8Array, maxInflatedBytes: number): Uint8Array {
  try {
    const inflated = inflateSync(bytes.subarray(1), { maxOutputLength: maxInflatedBytes });
    // A plain Uint8Array, so that byte content is the same type whether the node was compressed or not.
    return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CodecError('TOO_LARGE', `the compressed node inflates past ${maxInflatedBytes} bytes`, 1);
    }
    throw new CodecError('BAD_ZLIB', `the compressed node does not inflate: ${(error as Error).message}`, 1);
  }
}

/** A limit option as an integer in 0..max; a limit that is not a number (NaN) means the default. */
function bounded(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined || Number.isNaN(value)) return fallback;
  return Math.max(0, Math.min(Math.floor(value), max));
}

/**
 * Decodes one MD node from a frame's plaintext: the flag byte (bit 0x02: zlib-inflate the rest), then exactly
 * one node; leftovers, truncation and bad tags are CodecErrors. Offsets count from the start of `bytes`, or
 * from the start of the inflated body for compressed input (the message says so).
 */
export function decodeMdNode(
  bytes: Uint8Array,
  dictionary: MdDictionary | MdDictVersion,
  options: MdDecodeOptions = {},
): MdNode {
  const dict = resolveDictionary(dictionary);
  const maxDepth = bounded(options.maxDepth, MD_DEFAULT_MAX_DEPTH, HARD_MAX_DEPTH);
  if (bytes.length === 0) throw new CodecError('TRUNCATED', 'empty input: expected the flag byte', 0);
  let body = bytes;
  let start = 1;
  let where = '';
  if ((bytes[0]! & FLAG_COMPRESSED) !== 0) {
    body = inflateBody(bytes, bounded(options.maxInflatedBytes, MD_DEFAULT_MAX_INFLATED_BYTES, 2 ** 31 - 1));
    start = 0;
    where = ' in the inflated body';
  }
  const reader = new MdReader(body, start, dict, maxDepth, options.copyBytes ?? false, where);
  if (start >= body.length) reader.fail('TRUNCATED', 'no node after the flag byte', start);
  const node = reader.readNode(1);
  if (reader.index !== body.length) {
    reader.fail('TRAILING_BYTES', `${body.length - reader.index} bytes left after the node`);
  }
  return node;
}
