import { randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.ts';

export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Compares in time that depends only on the length, so a MAC check leaks nothing about the bytes. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 with padding: Node's decoder silently skips junk, the protocol never sends any. */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string' || !BASE64.test(text)) {
    throw new CryptoError('BAD_BASE64', 'not standard padded base64');
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new CryptoError('BAD_HEX', 'not an even-length hex string');
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** `value` as `length` big-endian bytes, the low ones kept (§4.1: a registration id in 4, a key id in 3). */
export function beBytes(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = rest & 0xff;
    rest = Math.floor(rest / 256);
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function requireLength(
  what: string,
  bytes: Uint8Array,
  length: number,
  code: 'BAD_KEY_LENGTH' | 'BAD_IV_LENGTH' | 'BAD_LENGTH' = 'BAD_KEY_LENGTH',
): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new CryptoError(
      code,
      `${what} must be ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    );
  }
}
