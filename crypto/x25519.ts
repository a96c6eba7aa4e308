import { x25519 } from '@noble/curves/ed25519.js';
import { requireLength } from './bytes.ts';

export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function x25519KeyPair(): X25519KeyPair {
  const { secretKey, publicKey } = x25519.keygen();
  return { privateKey: secretKey, publicKey };
}

export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  requireLength('X25519 private key', privateKey, 32);
  return x25519.getPublicKey(privateKey);
}

export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  requireLength('X25519 private key', privateKey, 32);
  requireLength('X25519 public key', publicKey, 32);
  return x25519.getSharedSecret(privateKey, publicKey);
}
