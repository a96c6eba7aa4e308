// Encoder for MD binary nodes (docs/protocol-md.md, "Binary nodes: encoder"). A string goes out as the first
// form that fits: a token, NIBBLE_8 (0-9 - ., at most 127 characters), HEX_8 (0-9 A-F, at most 127), a JID,
// else raw UTF-8 in the shortest BINARY_8/20/32. Output = flag byte 00 + the node; never compressed.
// Where the reference clients differ, each dictionary version writes as its client does (MdDictionary).
// Speed: one growable buffer reused across calls, counts taken before writing (no arrays per node), and
// ASCII written byte by byte without TextEncoder.
import { CodecError } from '../errors.ts';
import { type MdDictionary, type MdDictVersion, resolveDictionary } from './dictionary.ts';
import type { MdNode } from './node.ts';
import { DOMAIN_TYPE, MD_TAG, PACKED_MAX } from './wire.ts';

/** Deeper than any stanza; a cycle in the node graph ends here instead of in a stack overflow. */
const MAX_ENCODE_DEPTH = 512;
const MAX_LIST = 0xffff;
/** A buffer that grew past this for one big node is dropped afterwards rather than kept for good. */
const KEEP_BUFFER_BYTES = 1 << 20;
/** Up to 85 UTF-16 units fit BINARY_8 whatever they encode to (at most 3 bytes each). */
const SHORT_RAW = 85;
const PAD_NIBBLE = 15;

const utf8 = new TextEncoder();

// char code → nibble value (-1: not packable) for NIBBLE_8 and HEX_8.
const NIBBLE_VALUE = new Int8Array(128).fill(-1);
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) {
  NIBBLE_VALUE[48 + d] = d;
  HEX_VALUE[48 + d] = d;
}
NIBBLE_VALUE[45] = 10; // '-'
NIBBLE_VALUE[46] = 11; // '.'
for (let h = 0; h < 6; h++) HEX_VALUE[65 + h] = 10 + h; // 'A'-'F'; lowercase is not packed

// Which (length, first character) buckets hold a token: most strings that are not tokens (ids, numbers, JIDs)
// are known not to be one from one read, without hashing them for the map. Lengths past 62 share a bucket and
// characters fold to 7 bits, so a bucket may give a false "maybe", never a false "no".
const hints = new WeakMap<MdDictionary, Uint8Array>();

function hintBucket(s: string): number {
  return Math.min(s.length, 63) * 128 + (s.charCodeAt(0) & 127);
}

function tokenHints(dictionary: MdDictionary): Uint8Array {
  let table = hints.get(dictionary);
  if (!table) {
    table = new Uint8Array(64 * 128);
    for (const token of dictionary.tokenCode.keys()) table[hintBucket(token)] = 1;
    hints.set(dictionary, table);
  }
  return table;
}

function badNode(message: string): never {
  throw new CodecError('BAD_NODE', message);
}

/** A canonical decimal (no sign, no leading zero) in s[start, end) up to max; -1 when it is not one. */
function decimal(s: string, start: number, end: number, max: number): number {
  if (end <= start || end - start > 5 || (s.charCodeAt(start) === 48 && end - start > 1)) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= max ? value : -1;
}

class MdWriter {
  buffer = new Uint8Array(4096);
  length = 0;
  private tokens: ReadonlyMap<string, number> = new Map();
  private hints: Uint8Array = new Uint8Array(64 * 128);
  private emptyAsListEmpty = false;
  private typedDomains = false;
  private interopJids = false;

  use(dictionary: MdDictionary): void {
    this.tokens = dictionary.tokenCode;
    this.hints = tokenHints(dictionary);
    this.emptyAsListEmpty = dictionary.emptyStringAsListEmpty;
    this.typedDomains = dictionary.typedDomains;
    this.interopJids = dictionary.interopJids;
    this.length = 0;
  }

  result(): Uint8Array {
    const out = this.buffer.slice(0, this.length);
    if (this.buffer.length > KEEP_BUFFER_BYTES) this.buffer = new Uint8Array(4096);
    return out;
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

  byte(value: number): void {
    if (this.length === this.buffer.length) this.ensure(1);
    this.buffer[this.length++] = value;
  }

  private uint16(value: number): void {
    this.ensure(2);
    this.buffer[this.length++] = value >> 8;
    this.buffer[this.length++] = value & 0xff;
  }

  private listStart(size: number): void {
    this.ensure(3);
    const buffer = this.buffer;
    if (size === 0) buffer[this.length++] = MD_TAG.LIST_EMPTY;
    else if (size < 256) {
      buffer[this.length++] = MD_TAG.LIST_8;
      buffer[this.length++] = size;
    } else if (size <= MAX_LIST) {
      buffer[this.length++] = MD_TAG.LIST_16;
      buffer[this.length++] = size >> 8;
      buffer[this.length++] = size & 0xff;
    } else badNode(`a list of ${size} entries does not fit LIST_16`);
  }

  writeNode(node: MdNode, depth: number): void {
    if (depth > MAX_ENCODE_DEPTH) badNode(`nodes nest deeper than ${MAX_ENCODE_DEPTH} (a cycle?)`);
    if (node === null || typeof node !== 'object') badNode('a node is an object { tag, attrs, content }');
    const { tag, attrs, content } = node;
    if (typeof tag !== 'string' || tag.length === 0) badNode('a node needs a non-empty string tag');
    let attrCount = 0;
    if (attrs !== undefined && attrs !== null) {
      if (typeof attrs !== 'object' || Array.isArray(attrs)) badNode(`<${tag}> attrs must be an object`);
      for (const key in attrs) {
        const value = attrs[key];
        if (typeof value === 'string') attrCount++;
        // null and undefined are left out, as the reference encoders do
        else if (value !== undefined && value !== null) badNode(`<${tag}> attribute ${key} is not a string`);
      }
    }
    const hasContent = content !== undefined && content !== null;
    this.listStart(1 + 2 * attrCount + (hasContent ? 1 : 0));
    this.writeString(tag);
    if (attrCount > 0) {
      for (const key in attrs) {
        const value = attrs[key];
        if (typeof value !== 'string') continue;
        this.writeString(key);
        this.writeString(value);
      }
    }
    if (!hasContent) return;
    if (typeof content === 'string') this.writeString(content);
    else if (content instanceof Uint8Array) this.writeBytes(content);
    else if (Array.isArray(content)) {
      this.listStart(content.length);
      for (let i = 0; i < content.length; i++) this.writeNode(content[i]!, depth + 1);
    } else badNode(`<${tag}> content must be nodes, a string or bytes`);
  }

  private binaryHeader(length: number): void {
    this.ensure(5);
    const buffer = this.buffer;
    if (length < 256) {
      buffer[this.length++] = MD_TAG.BINARY_8;
      buffer[this.length++] = length;
    } else if (length < 1 << 20) {
      buffer[this.length++] = MD_TAG.BINARY_20;
      buffer[this.length++] = length >> 16;
      buffer[this.length++] = (length >> 8) & 0xff;
      buffer[this.length++] = length & 0xff;
    } else {
      buffer[this.length++] = MD_TAG.BINARY_32;
      buffer[this.length++] = length >>> 24;
      buffer[this.length++] = (length >> 16) & 0xff;
      buffer[this.length++] = (length >> 8) & 0xff;
      buffer[this.length++] = length & 0xff;
    }
  }

  private writeBytes(bytes: Uint8Array): void {
    this.binaryHeader(bytes.length);
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  writeString(s: string): void {
    const n = s.length;
    if (n === 0) {
      // v2 (Baileys 6.17.16): token index 0, the byte 00; v3 (Baileys HEAD): BINARY_8 of length 0
      if (this.emptyAsListEmpty) this.byte(MD_TAG.LIST_EMPTY);
      else {
        this.byte(MD_TAG.BINARY_8);
        this.byte(0);
      }
      return;
    }
    const code = this.hints[hintBucket(s)] ? this.tokens.get(s) : undefined;
    if (code !== undefined) {
      if (code < 256) this.byte(code);
      else {
        this.byte(MD_TAG.DICTIONARY_0 + ((code - 256) >> 8));
        this.byte(code & 0xff);
      }
      return;
    }
    if (n <= PACKED_MAX) {
      let nibble = true;
      let hex = true;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 48 && c <= 57) continue;
        if (c === 45 || c === 46) hex = false;
        else if (c >= 65 && c <= 70) nibble = false;
        else {
          nibble = false;
          hex = false;
        }
        if (!nibble && !hex) break;
      }
      if (nibble || hex) {
        this.writePacked(nibble ? MD_TAG.NIBBLE_8 : MD_TAG.HEX_8, s, nibble ? NIBBLE_VALUE : HEX_VALUE);
        return;
      }
    }
    const at = s.indexOf('@');
    if (at >= 0 && this.writeJid(s, at)) return;
    this.writeRaw(s);
  }

  private writePacked(tag: number, s: string, values: Int8Array): void {
    const n = s.length;
    const odd = n & 1;
    const count = (n + odd) >> 1;
    this.ensure(2 + count);
    const buffer = this.buffer;
    let pos = this.length;
    buffer[pos++] = tag;
    buffer[pos++] = (odd << 7) | count;
    const pairs = n - odd;
    for (let i = 0; i < pairs; i += 2) {
      buffer[pos++] = (values[s.charCodeAt(i)]! << 4) | values[s.charCodeAt(i + 1)]!;
    }
    if (odd) buffer[pos++] = (values[s.charCodeAt(n - 1)]! << 4) | PAD_NIBBLE;
    this.length = pos;
  }

  /**
   * Writes `s` (with its first '@' at `at`) as a JID, or returns false when it is not one the wire can carry
   * without loss of the text, which then goes out raw (docs/protocol-md.md, "Binary nodes: JIDs").
   */
  private writeJid(s: string, at: number): boolean {
    const serverStart = at + 1;
    if (serverStart === s.length || s.indexOf('@', serverStart) >= 0) return false;
    const colon = s.indexOf(':');
    if (colon < 0 || colon > at) {
      this.byte(MD_TAG.JID_PAIR);
      if (at === 0) this.byte(MD_TAG.LIST_EMPTY);
      else this.writeString(s.slice(0, at));
      this.writeString(s.slice(serverStart));
      return true;
    }
    if (colon === 0) return false;
    const device = decimal(s, colon + 1, at, 0xffff);
    if (device < 0) return false;
    const server = s.slice(serverStart);
    switch (server) {
      case 's.whatsapp.net':
      case 'lid':
      case 'hosted':
      case 'hosted.lid':
        return device <= 0xff && this.writeAdJid(s.slice(0, colon), device, server);
      case 'msgr':
        if (!this.interopJids) return false;
        this.byte(MD_TAG.FB_JID);
        this.writeString(s.slice(0, colon));
        this.uint16(device);
        this.writeString(server);
        return true;
      case 'interop': {
        const dash = s.indexOf('-');
        const integrator = dash > 0 && dash < colon - 1 ? decimal(s, 0, dash, 0xffff) : -1;
        if (!this.interopJids || integrator < 0) return false;
        this.byte(MD_TAG.INTEROP_JID);
        this.writeString(s.slice(dash + 1, colon));
        this.uint16(device);
        this.uint16(integrator);
        this.writeString(server);
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * AD_JID: domain type, device, user. `user_agent` is Baileys' agent notation: version 3 writes the agent as
   * the domain type of an s.whatsapp.net JID (so `_1` reads back as @lid), version 2 drops it.
   */
  private writeAdJid(base: string, device: number, server: string): boolean {
    let user = base;
    let agent = -1;
    const underscore = base.indexOf('_');
    if (underscore >= 0) {
      agent = decimal(base, underscore + 1, base.length, 0xff);
      if (underscore === 0 || agent < 0) return false;
      user = base.slice(0, underscore);
    }
    let domainType: number;
    if (server === 'lid') domainType = DOMAIN_TYPE.LID;
    else if (!this.typedDomains) domainType = DOMAIN_TYPE.WHATSAPP;
    else if (server === 'hosted') domainType = DOMAIN_TYPE.HOSTED;
    else if (server === 'hosted.lid') domainType = DOMAIN_TYPE.HOSTED_LID;
    else domainType = agent >= 0 ? agent : DOMAIN_TYPE.WHATSAPP;
    this.ensure(3);
    this.buffer[this.length++] = MD_TAG.AD_JID;
    this.buffer[this.length++] = domainType;
    this.buffer[this.length++] = device;
    this.writeString(user);
    return true;
  }

  private writeRaw(s: string): void {
    const n = s.length;
    if (n <= SHORT_RAW) {
      this.ensure(2 + 3 * n);
      const buffer = this.buffer;
      const start = this.length + 2;
      let pos = start;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buffer[pos++] = c;
      }
      if (i < n) pos = start + utf8.encodeInto(s, buffer.subarray(start)).written;
      buffer[this.length] = MD_TAG.BINARY_8;
      buffer[this.length + 1] = pos - start;
      this.length = pos;
      return;
    }
    // Encode after room for the longest header, then move the bytes up to the header they need.
    this.ensure(5 + 3 * n);
    const start = this.length + 5;
    const written = utf8.encodeInto(s, this.buffer.subarray(start)).written;
    this.binaryHeader(written);
    if (this.length !== start) this.buffer.copyWithin(this.length, start, start + written);
    this.length += written;
  }
}

let idle: MdWriter | null = new MdWriter();

/**
 * Encodes a node for a connection that speaks `dictionary`: the flag byte 00, then the node. Malformed nodes
 * (no tag, non-string attribute values, more than 65535 children, cycles) are CodecError BAD_NODE.
 */
export function encodeMdNode(node: MdNode, dictionary: MdDictionary | MdDictVersion): Uint8Array {
  const dict = resolveDictionary(dictionary);
  // The shared writer is taken for the call; a nested call (a getter that encodes) gets its own.
  const writer = idle ?? new MdWriter();
  idle = null;
  try {
    writer.use(dict);
    writer.byte(0);
    writer.writeNode(node, 1);
    return writer.result();
  } finally {
    idle = writer;
  }
}
