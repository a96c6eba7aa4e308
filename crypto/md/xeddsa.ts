// XEdDSA: Ed25519 signatures made and checked with Curve25519 (Montgomery) keys, as Signal specifies them
// and WhatsApp uses them for the certificate chain, ADV and signed pre-keys (docs/protocol-md.md "XEdDSA").
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { requireLength } from '../bytes.ts';

export const XEDDSA_SIGNATURE_LENGTH = 64;

const { Point } = ed25519;
const P = Point.Fp.ORDER;
const Q = Point.Fn.ORDER;

// hash_1(X) = SHA-512((2^256 - 1 - 1) as 32 little-endian bytes ‖ X): 0xFE then 31 × 0xFF.
const HASH1_PREFIX = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xfe : 0xff));

function clamp(privateKey: Uint8Array): bigint {
  const k = privateKey.slice();
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return bytesToNumberLE(k);
}

function modQ(bytes: Uint8Array): bigint {
  return bytesToNumberLE(bytes) % Q;
}

/**
 * Signs with a raw 32-byte X25519 private key (clamped here, as X25519 does). `random` is the 64 secret
 * random bytes Z of the spec; pass fixed bytes only in tests.
 */
export function xeddsaSign(
  privateKey: Uint8Array,
  message: Uint8Array,
  random: Uint8Array = randomBytes(64),
): Uint8Array {
  requireLength('XEdDSA private key', privateKey, 32);
  requireLength('XEdDSA random', random, 64, 'BAD_LENGTH');
  const k = clamp(privateKey) % Q;
  const edwards = Point.BASE.multiply(k).toBytes();
  // The Edwards key must have sign bit 0: negate the scalar when k·B has it set.
  const a = (edwards[31]! & 0x80) !== 0 ? Q - k : k;
  edwards[31]! &= 0x7f;
  const aBytes = numberToBytesLE(a, 32);
  const r = modQ(sha512.create().update(HASH1_PREFIX).update(aBytes).update(message).update(random).digest());
  // r = 0 has probability 2^-252; multiply() refuses it, the identity point is still the right R.
  const R = (r === 0n ? Point.ZERO : Point.BASE.multiply(r)).toBytes();
  const h = modQ(sha512.create().update(R).update(edwards).update(message).digest());
  const s = (r + h * a) % Q;
  const signature = new Uint8Array(XEDDSA_SIGNATURE_LENGTH);
  signature.set(R, 0);
  signature.set(numberToBytesLE(s, 32), 32);
  return signature;
}

/**
 * Verifies against a 32-byte Curve25519 public key. Never throws: wrong lengths, keys off the curve and
 * non-canonical encodings are all just `false`. The Edwards key's sign bit comes from bit 7 of the last
 * signature byte (curve25519-js stores it there; spec signers leave it 0), as every deployed verifier does.
 */
export function xeddsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== XEDDSA_SIGNATURE_LENGTH) return false;
    if (!(message instanceof Uint8Array)) return false;
    const u = bytesToNumberLE(publicKey);
    if (u >= P || u === P - 1n) return false;
    const y = Point.Fp.mul(Point.Fp.sub(u, 1n), Point.Fp.inv(Point.Fp.add(u, 1n)));
    const edwards = numberToBytesLE(y, 32);
    edwards[31]! |= signature[63]! & 0x80;
    const plain = signature.slice();
    plain[63]! &= 0x7f;
    return ed25519.verify(plain, message, edwards, { zip215: false });
  } catch {
    return false;
  }
}
