// SHA-256 and HMAC-SHA256 through node:crypto: these run on every frame and every media byte,
// where OpenSSL's native code is several times faster than a JavaScript implementation.
import { createHash, createHmac } from 'node:crypto';

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** HMAC-SHA256 over the concatenation of `data`, without building the concatenation. */
export function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const part of data) mac.update(part);
  return new Uint8Array(mac.digest());
}
