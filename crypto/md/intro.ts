// What precedes the first frame of a multi-device connection (docs/protocol-md.md "Connection header"):
// the 4-byte header `W A 06 <dictionary version>`, optionally preceded by the edge-routing pre-intro
// `E D 00 01 ‖ u24 length ‖ routing_info`. Only the 4-byte header is the Noise prologue.
import { CryptoError } from '../errors.ts';

export const WA_MAGIC = 6;
export const HEADER_LENGTH = 4;
export const MAX_ROUTING_INFO_LENGTH = 0xffffff;
const EDGE_ROUTING_MAGIC = [0x45, 0x44, 0x00, 0x01] as const;
const PRE_INTRO_HEAD = EDGE_ROUTING_MAGIC.length + 3;

/** `57 41 06 0N`: the connection header and Noise prologue for a token dictionary version. */
export function connectionHeader(dictVersion: number): Uint8Array {
  if (!Number.isInteger(dictVersion) || dictVersion < 0 || dictVersion > 255) {
    throw new CryptoError('BAD_INTRO', `dictionary version must be a byte, got ${dictVersion}`);
  }
  return Uint8Array.of(0x57, 0x41, WA_MAGIC, dictVersion);
}

/** The bytes sent before the first frame: the pre-intro when routing info is known, then the header. */
export function buildConnectionIntro(header: Uint8Array, routingInfo?: Uint8Array | null): Uint8Array {
  checkHeader(header, 0);
  if (!routingInfo) return header.slice();
  if (routingInfo.length > MAX_ROUTING_INFO_LENGTH) {
    throw new CryptoError('BAD_INTRO', `routing info is ${routingInfo.length} bytes, at most 2^24 - 1`);
  }
  const out = new Uint8Array(PRE_INTRO_HEAD + routingInfo.length + HEADER_LENGTH);
  out.set(EDGE_ROUTING_MAGIC, 0);
  out[4] = routingInfo.length >>> 16;
  out[5] = (routingInfo.length >>> 8) & 0xff;
  out[6] = routingInfo.length & 0xff;
  out.set(routingInfo, PRE_INTRO_HEAD);
  out.set(header, PRE_INTRO_HEAD + routingInfo.length);
  return out;
}

export interface ConnectionIntro {
  /** The 4-byte header, which is the Noise prologue. */
  header: Uint8Array;
  dictVersion: number;
  routingInfo: Uint8Array | null;
  /** How many bytes of the input the intro took. */
  length: number;
}

/**
 * Parses the start of a connection's first bytes (server side). Returns null while more bytes are needed;
 * throws CryptoError BAD_INTRO as soon as the bytes seen cannot start an intro, so a peer cannot make the
 * server wait on garbage.
 */
export function parseConnectionIntro(
  bytes: Uint8Array,
  maxRoutingInfoLength = MAX_ROUTING_INFO_LENGTH,
): ConnectionIntro | null {
  let offset = 0;
  let routingInfo: Uint8Array | null = null;
  if (bytes.length > 0 && bytes[0] === EDGE_ROUTING_MAGIC[0]) {
    for (let i = 1; i < EDGE_ROUTING_MAGIC.length && i < bytes.length; i++) {
      if (bytes[i] !== EDGE_ROUTING_MAGIC[i])
        throw new CryptoError('BAD_INTRO', 'bad edge-routing pre-intro');
    }
    if (bytes.length < PRE_INTRO_HEAD) return null;
    const length = (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]!;
    if (length > maxRoutingInfoLength) {
      throw new CryptoError('BAD_INTRO', `routing info of ${length} bytes exceeds ${maxRoutingInfoLength}`);
    }
    if (bytes.length < PRE_INTRO_HEAD + length) return null;
    routingInfo = bytes.slice(PRE_INTRO_HEAD, PRE_INTRO_HEAD + length);
    offset = PRE_INTRO_HEAD + length;
  }
  checkHeader(bytes.subarray(offset, offset + HEADER_LENGTH), offset, true);
  if (bytes.length < offset + HEADER_LENGTH) return null;
  const header = bytes.slice(offset, offset + HEADER_LENGTH);
  return { header, dictVersion: header[3]!, routingInfo, length: offset + HEADER_LENGTH };
}

/** Checks the bytes present against `W A 06 ?`; `partial` allows fewer than 4. */
function checkHeader(header: Uint8Array, at: number, partial = false): void {
  if (!(header instanceof Uint8Array) || (!partial && header.length !== HEADER_LENGTH)) {
    throw new CryptoError('BAD_INTRO', 'the connection header is 4 bytes');
  }
  const expected = [0x57, 0x41, WA_MAGIC];
  for (let i = 0; i < expected.length && i < header.length; i++) {
    if (header[i] !== expected[i]) {
      throw new CryptoError('BAD_INTRO', `not a WA connection header (byte ${at + i})`);
    }
  }
}
