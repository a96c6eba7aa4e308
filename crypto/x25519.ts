// X25519 through OpenSSL (node:crypto): a Noise handshake does a key generation and three agreements on
// each side, and the JavaScript ladder is several times slower. Keys are raw 32-byte strings throughout.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { requireLength } from './bytes.ts';
import { CryptoError } from './errors.ts';

// The DER wrappers of a raw X25519 key: PKCS#8 (private) and SPKI (public), key bytes last.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const KEY_LENGTH = 32;

export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function x25519KeyPair(): X25519KeyPair {
  const pair = generateKeyPairSync('x25519', {
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  return {
    privateKey: new Uint8Array(pair.privateKey.subarray(pair.privateKey.length - KEY_LENGTH)),
    publicKey: new Uint8Array(pair.publicKey.subarray(pair.publicKey.length - KEY_LENGTH)),
  };
}

export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  requireLength('X25519 private key', privateKey, 32);
  const der = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - KEY_LENGTH));
}

/**
 * CryptoError BAD_PUBLIC_KEY for a low-order public key (the all-zero shared secret RFC 7748 §6.1 says to
 * refuse): a peer's bytes can never make this throw anything untyped.
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  requireLength('X25519 private key', privateKey, 32);
  requireLength('X25519 public key', publicKey, 32);
  try {
    const shared = diffieHellman({
      privateKey: privateKeyObject(privateKey),
      publicKey: createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, publicKey]),
        format: 'der',
        type: 'spki',
      }),
    });
    return new Uint8Array(shared);
  } catch {
    throw new CryptoError('BAD_PUBLIC_KEY', 'X25519 with a low-order public key');
  }
}

function privateKeyObject(privateKey: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
}
