// docs/protocol.md §2.4: the 144-byte `secret` the server sends on pairing, and the session keys inside it.
// secret = serverPublic(32) ‖ HMAC(sse[32:64], serverPublic ‖ ct)(32) ‖ ct(80),
// ct = AES-256-CBC(sse[0:32], iv = sse[64:80], encKey ‖ macKey), sse = HKDF(X25519 shared, zeros, "", 80).
import { aesCbcDecrypt, aesCbcEncrypt } from './aes-cbc.ts';
import { concatBytes, constantTimeEqual, requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { hmacSha256 } from './hash.ts';
import { hkdf } from './hkdf.ts';
import { type X25519KeyPair, x25519KeyPair, x25519SharedSecret } from './x25519.ts';

export interface SessionKeys {
  encKey: Uint8Array;
  macKey: Uint8Array;
}

export const PAIRING_SECRET_LENGTH = 144;

const ZERO_SALT = new Uint8Array(32);
const EMPTY = new Uint8Array(0);

function expandShared(shared: Uint8Array) {
  const sse = hkdf(shared, ZERO_SALT, EMPTY, 80);
  return { aesKey: sse.subarray(0, 32), hmacKey: sse.subarray(32, 64), iv: sse.subarray(64, 80) };
}

/** Client side: checks the secret's HMAC before anything is decrypted; a bad secret never yields keys. */
export function deriveSessionKeys(clientPrivateKey: Uint8Array, secret: Uint8Array): SessionKeys {
  requireLength('client private key', clientPrivateKey, 32);
  if (!(secret instanceof Uint8Array) || secret.length !== PAIRING_SECRET_LENGTH) {
    throw new CryptoError('BAD_LENGTH', `pairing secret must be ${PAIRING_SECRET_LENGTH} bytes`);
  }
  const serverPublic = secret.subarray(0, 32);
  const expectedMac = secret.subarray(32, 64);
  const ciphertext = secret.subarray(64, 144);
  let shared: Uint8Array;
  try {
    shared = x25519SharedSecret(clientPrivateKey, serverPublic);
  } catch {
    // A low-order public key gives an all-zero shared secret, which the curve library refuses.
    throw new CryptoError('BAD_SECRET', 'pairing secret carries an unusable server public key');
  }
  const { aesKey, hmacKey, iv } = expandShared(shared);
  if (!constantTimeEqual(hmacSha256(hmacKey, serverPublic, ciphertext), expectedMac)) {
    throw new CryptoError('BAD_SECRET', 'pairing secret HMAC does not verify');
  }
  let keys: Uint8Array;
  try {
    keys = aesCbcDecrypt(aesKey, iv, ciphertext);
  } catch {
    throw new CryptoError('BAD_SECRET', 'pairing secret does not decrypt');
  }
  if (keys.length !== 64)
    throw new CryptoError('BAD_SECRET', 'pairing secret holds the wrong amount of key material');
  return { encKey: keys.slice(0, 32), macKey: keys.slice(32, 64) };
}

/** Server side (the emulator): the inverse of deriveSessionKeys. */
export function buildPairingSecret(
  clientPublicKey: Uint8Array,
  keys: SessionKeys,
  serverKeyPair: X25519KeyPair = x25519KeyPair(),
): Uint8Array {
  requireLength('encKey', keys.encKey, 32);
  requireLength('macKey', keys.macKey, 32);
  const { aesKey, hmacKey, iv } = expandShared(x25519SharedSecret(serverKeyPair.privateKey, clientPublicKey));
  const ciphertext = aesCbcEncrypt(aesKey, iv, concatBytes(keys.encKey, keys.macKey));
  return concatBytes(
    serverKeyPair.publicKey,
    hmacSha256(hmacKey, serverKeyPair.publicKey, ciphertext),
    ciphertext,
  );
}
