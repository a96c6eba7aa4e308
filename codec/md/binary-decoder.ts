// Decoder for MD binary nodes (docs/protocol-md.md, "Binary nodes"). It is fed hostile bytes by design:
// every length is checked against what remains before anything is read or allocated, list counts are
// checked against the bytes that could hold them, one depth counter covers nested nodes and nested JIDs
// alike (so no input can exhaust the stack), a compressed body may inflate to a bounded size only, and
// every failure is a CodecError with the offset where reading stopped.
import { inflateSync } from 'node:zlib';
import { CodecError, type CodecErrorCode } from '../errors.ts';
import { type MdDictionary, type MdDictVersion, resolveDictionary } from './dictionary.ts';
import type { MdAttrs, MdContent, MdNode } from './node.ts';
import { DOMAIN_TYPE, FLAG_COMPRESSED, MD_TAG } from './wire.ts';

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

const utf8 = new TextDecoder('utf-8');

const NIBBLE_CHARS = '0123456789-.';
// A packed byte holds two characters; a table of all 256 pairs makes unpacking one lookup per byte. null
// marks a byte with a nibble that is not a character (12-14 in nibble strings). The pad nibble 15 reads as
// "\0", as in the reference decoders; the odd-length flag then drops the last character.
function pairTable(charOf: (nibble: number) => string | null): readonly (string | null)[] {
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
    if (tag === MD_TAG.LIST_8) return this.byte();
    if (tag === MD_TAG.LIST_16) return this.uint16();
    if (tag === MD_TAG.LIST_EMPTY) return 0;
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
      case MD_TAG.LIST_EMPTY:
        return [];
      case MD_TAG.LIST_8:
      case MD_TAG.LIST_16: {
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
      case MD_TAG.BINARY_8:
      case MD_TAG.BINARY_20:
      case MD_TAG.BINARY_32: {
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
    if (tag === MD_TAG.BINARY_8) length = this.byte();
    else if (tag === MD_TAG.BINARY_20) {
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
    if (tag >= 1 && tag < MD_TAG.DICTIONARY_0) return this.single[tag]!;
    switch (tag) {
      case MD_TAG.LIST_EMPTY:
        return '';
      case MD_TAG.DICTIONARY_0:
      case MD_TAG.DICTIONARY_1:
      case MD_TAG.DICTIONARY_2:
      case MD_TAG.DICTIONARY_3: {
        const index = this.byte();
        const token = this.double[tag - MD_TAG.DICTIONARY_0]![index];
        if (token === undefined) this.fail('UNKNOWN_TOKEN', `no double-byte token ${tag - 236}/${index}`, at);
        return token;
      }
      case MD_TAG.BINARY_8:
      case MD_TAG.BINARY_20:
      case MD_TAG.BINARY_32: {
        const length = this.binaryLength(tag);
        const start = this.index;
        this.index += length;
        return this.text(start, length);
      }
      case MD_TAG.NIBBLE_8:
        return this.readPacked(NIBBLE_PAIRS, 'nibble');
      case MD_TAG.HEX_8:
        return this.readPacked(HEX_PAIRS, 'hex');
      case MD_TAG.JID_PAIR:
        return this.readJidPair(depth + 1, at);
      case MD_TAG.AD_JID:
        return this.readAdJid(depth + 1, at);
      case MD_TAG.FB_JID:
      case MD_TAG.INTEROP_JID:
        if (!this.interopJids) {
          this.fail(
            'BAD_TAG',
            `tag ${tag} (${tag === MD_TAG.FB_JID ? 'FB' : 'INTEROP'}_JID) is not in dictionary version 2`,
            at,
          );
        }
        return tag === MD_TAG.FB_JID ? this.readFbJid(depth + 1, at) : this.readInteropJid(depth + 1, at);
      case MD_TAG.LIST_8:
      case MD_TAG.LIST_16:
        return this.fail('BAD_TAG', 'a list where a string was expected', at);
      default:
        return this.fail('BAD_TAG', `unknown tag ${tag} where a string was expected`, at);
    }
  }

  /** UTF-8 text; short ASCII (names, ids, numbers) skips TextDecoder, whose call overhead dominates it. */
  private text(start: number, length: number): string {
    const bytes = this.bytes;
    if (length <= 32) {
      let text = '';
      for (let i = start; i < start + length; i++) {
        const code = bytes[i]!;
        if (code >= 0x80) return utf8.decode(bytes.subarray(start, start + length));
        text += String.fromCharCode(code);
      }
      return text;
    }
    return utf8.decode(bytes.subarray(start, start + length));
  }

  private readPacked(pairs: readonly (string | null)[], kind: string): string {
    const at = this.index;
    const head = this.byte();
    const count = head & 0x7f;
    const odd = head >= 0x80;
    if (count === 0 && odd) this.fail('BAD_PACKED', `a ${kind} string of length -1`, at);
    this.need(count);
    const bytes = this.bytes;
    let text = '';
    for (let i = this.index; i < this.index + count; i++) {
      const pair = pairs[bytes[i]!];
      if (pair === null || pair === undefined) this.fail('BAD_PACKED', `invalid ${kind} nibble (12-14)`, i);
      text += pair;
    }
    this.index += count;
    return odd ? text.slice(0, -1) : text;
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
  const maxDepth = Math.min(options.maxDepth ?? MD_DEFAULT_MAX_DEPTH, HARD_MAX_DEPTH);
  if (bytes.length === 0) throw new CodecError('TRUNCATED', 'empty input: expected the flag byte', 0);
  let body = bytes;
  let start = 1;
  let where = '';
  if ((bytes[0]! & FLAG_COMPRESSED) !== 0) {
    body = inflateBody(bytes, options.maxInflatedBytes ?? MD_DEFAULT_MAX_INFLATED_BYTES);
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
