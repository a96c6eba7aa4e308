// docs/protocol.md §2.5 and 2.7: proofs that the client still holds macKey.
import { requireLength } from './bytes.ts';
import { hmacSha256 } from './hash.ts';
import type { SessionKeys } from './pairing.ts';

/** The answer to `["Cmd",{"type":"challenge"}]`: HMAC-SHA256(macKey, challenge). */
export function challengeAnswer(macKey: Uint8Array, challenge: Uint8Array): Uint8Array {
  requireLength('macKey', macKey, 32);
  return hmacSha256(macKey, challenge);
}

/** The token that logs a browser out without an open socket: HMAC-SHA256(macKey, encKey). */
export function offlineLogoutToken(keys: SessionKeys): Uint8Array {
  requireLength('encKey', keys.encKey, 32);
  requireLength('macKey', keys.macKey, 32);
  return hmacSha256(keys.macKey, keys.encKey);
}
