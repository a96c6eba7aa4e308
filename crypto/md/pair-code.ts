// The pair-code ("link with phone number") schedule, both sides (docs/protocol-md.md "Pair code"):
// 8-character code → PBKDF2-SHA256 ×131072 → AES-256-CTR wrapping of each side's pairing ephemeral
// (salt32 ‖ iv16 ‖ ct32), then a key bundle AES-256-GCM-sealed under an HKDF of the ephemeral DH
// (salt32 ‖ nonce12 ‖ ct+tag112), and the adv secret both sides derive from it.
import { createCipheriv, pbkdf2 } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal } from '../aes-gcm.ts';
import { constantTimeEqual, randomBytes, requireLength, utf8 } from '../bytes.ts';
import { CryptoError, isCryptoError } from '../errors.ts';
import { hkdf } from '../hkdf.ts';
import { type X25519KeyPair, x25519SharedSecret } from '../x25519.ts';

export const PAIR_CODE_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';
export const PAIR_CODE_LENGTH = 8;
export const PAIR_CODE_BYTES = 5;
export const PAIR_CODE_PBKDF2_ITERATIONS = 131_072;
export const WRAPPED_EPHEMERAL_LENGTH = 80;
export const WRAPPED_KEY_BUNDLE_LENGTH = 156;
export const KEY_BUNDLE_INFO = 'link_code_pairing_key_bundle_encryption_key';
export const ADV_SECRET_INFO = 'adv_secret';

const SALT_LENGTH = 32;
const CTR_IV_LENGTH = 16;
const BUNDLE_NONCE_LENGTH = 12;
const KEY_LENGTH = 32;

function badCode(message: string): CryptoError {
  return new CryptoError('BAD_PAIR_CODE', message);
}

/** 5 bytes → 8 characters, 5 bits each, most significant first. */
export function pairCodeFromBytes(bytes: Uint8Array): string {
  requireLength('pair-code bytes', bytes, PAIR_CODE_BYTES, 'BAD_LENGTH');
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let code = '';
  for (let shift = 35n; shift >= 0n; shift -= 5n) code += PAIR_CODE_ALPHABET[Number((value >> shift) & 31n)];
  return code;
}

/** The inverse of pairCodeFromBytes; the code must be exactly 8 characters of the alphabet (upper case). */
export function pairCodeToBytes(code: string): Uint8Array {
  checkPairCode(code);
  let value = 0n;
  for (const char of code) value = (value << 5n) | BigInt(PAIR_CODE_ALPHABET.indexOf(char));
  const bytes = new Uint8Array(PAIR_CODE_BYTES);
  for (let i = PAIR_CODE_BYTES - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

export function checkPairCode(code: string): void {
  if (typeof code !== 'string' || code.length !== PAIR_CODE_LENGTH) {
    throw badCode(`a pair code is ${PAIR_CODE_LENGTH} characters`);
  }
  for (const char of code) {
    if (!PAIR_CODE_ALPHABET.includes(char)) throw badCode(`'${char}' is not a pair-code character`);
  }
}

/** What a person types: any case, spaces, one dash in the middle (`ABCD-1234`). Returns the canonical code. */
export function normalizePairCode(input: string): string {
  if (typeof input !== 'string') throw badCode('a pair code is a string');
  const compact = input.trim().toUpperCase().replace(/\s+/g, '');
  const code = /^.{4}-.{4}$/.test(compact) ? compact.replace('-', '') : compact;
  checkPairCode(code);
  return code;
}

export function randomPairCode(): string {
  return pairCodeFromBytes(randomBytes(PAIR_CODE_BYTES));
}

/** PBKDF2-SHA256(code, salt, 131072, 32) on libuv's thread pool: it never blocks the event loop. */
export function derivePairCodeKey(code: string, salt: Uint8Array): Promise<Uint8Array> {
  checkPairCode(code);
  requireLength('pair-code salt', salt, SALT_LENGTH, 'BAD_LENGTH');
  return new Promise((resolve, reject) => {
    pbkdf2(utf8(code), salt, PAIR_CODE_PBKDF2_ITERATIONS, KEY_LENGTH, 'sha256', (error, key) => {
      if (error) reject(new CryptoError('BAD_SECRET', `PBKDF2 failed: ${error.message}`));
      else resolve(new Uint8Array(key));
    });
  });
}

function aesCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export interface WrapRandomness {
  salt?: Uint8Array;
  iv?: Uint8Array;
}

/** salt(32) ‖ iv(16) ‖ AES-256-CTR(PBKDF2(code, salt), iv, ephemeral public key) = 80 bytes. */
export async function wrapPairingEphemeral(
  code: string,
  ephemeralPublicKey: Uint8Array,
  randomness: WrapRandomness = {},
): Promise<Uint8Array> {
  requireLength('pairing ephemeral public key', ephemeralPublicKey, KEY_LENGTH);
  const salt = randomness.salt ?? randomBytes(SALT_LENGTH);
  const iv = randomness.iv ?? randomBytes(CTR_IV_LENGTH);
  requireLength('pair-code CTR IV', iv, CTR_IV_LENGTH, 'BAD_IV_LENGTH');
  const key = await derivePairCodeKey(code, salt);
  const wrapped = new Uint8Array(WRAPPED_EPHEMERAL_LENGTH);
  wrapped.set(salt, 0);
  wrapped.set(iv, SALT_LENGTH);
  wrapped.set(aesCtr(key, iv, ephemeralPublicKey), SALT_LENGTH + CTR_IV_LENGTH);
  return wrapped;
}

/**
 * The other side's ephemeral public key. CTR has no authentication: a wrong code yields 32 wrong bytes and
 * no error; the mistake shows only when the key bundle does not open.
 */
export async function unwrapPairingEphemeral(code: string, wrapped: Uint8Array): Promise<Uint8Array> {
  requireLength('wrapped pairing ephemeral', wrapped, WRAPPED_EPHEMERAL_LENGTH, 'BAD_LENGTH');
  const salt = wrapped.subarray(0, SALT_LENGTH);
  const iv = wrapped.subarray(SALT_LENGTH, SALT_LENGTH + CTR_IV_LENGTH);
  const key = await derivePairCodeKey(code, salt);
  return aesCtr(key, iv, wrapped.subarray(SALT_LENGTH + CTR_IV_LENGTH));
}

export interface KeyBundleContents {
  companionIdentityPublicKey: Uint8Array;
  primaryIdentityPublicKey: Uint8Array;
  advRandom: Uint8Array;
}

export interface KeyBundleRandomness {
  salt?: Uint8Array;
  nonce?: Uint8Array;
}

export function keyBundleKey(ephemeralShared: Uint8Array, salt: Uint8Array): Uint8Array {
  requireLength('pairing ephemeral shared secret', ephemeralShared, KEY_LENGTH, 'BAD_LENGTH');
  requireLength('key bundle salt', salt, SALT_LENGTH, 'BAD_LENGTH');
  return hkdf(ephemeralShared, salt, utf8(KEY_BUNDLE_INFO), KEY_LENGTH);
}

/** salt(32) ‖ nonce(12) ‖ AES-256-GCM(companion identity ‖ primary identity ‖ adv random) = 156 bytes. */
export function sealKeyBundle(
  ephemeralShared: Uint8Array,
  contents: KeyBundleContents,
  randomness: KeyBundleRandomness = {},
): Uint8Array {
  requireLength('companion identity public key', contents.companionIdentityPublicKey, KEY_LENGTH);
  requireLength('primary identity public key', contents.primaryIdentityPublicKey, KEY_LENGTH);
  requireLength('adv random', contents.advRandom, KEY_LENGTH, 'BAD_LENGTH');
  const salt = randomness.salt ?? randomBytes(SALT_LENGTH);
  const nonce = randomness.nonce ?? randomBytes(BUNDLE_NONCE_LENGTH);
  const plaintext = new Uint8Array(3 * KEY_LENGTH);
  plaintext.set(contents.companionIdentityPublicKey, 0);
  plaintext.set(contents.primaryIdentityPublicKey, KEY_LENGTH);
  plaintext.set(contents.advRandom, 2 * KEY_LENGTH);
  const sealed = aesGcmSeal(keyBundleKey(ephemeralShared, salt), nonce, plaintext);
  const out = new Uint8Array(WRAPPED_KEY_BUNDLE_LENGTH);
  out.set(salt, 0);
  out.set(nonce, SALT_LENGTH);
  out.set(sealed, SALT_LENGTH + BUNDLE_NONCE_LENGTH);
  return out;
}

/** CryptoError BAD_TAG when the bundle was sealed under another shared secret (a wrong code). */
export function openKeyBundle(ephemeralShared: Uint8Array, wrapped: Uint8Array): KeyBundleContents {
  requireLength('wrapped key bundle', wrapped, WRAPPED_KEY_BUNDLE_LENGTH, 'BAD_LENGTH');
  const salt = wrapped.subarray(0, SALT_LENGTH);
  const nonce = wrapped.subarray(SALT_LENGTH, SALT_LENGTH + BUNDLE_NONCE_LENGTH);
  const plaintext = aesGcmOpen(
    keyBundleKey(ephemeralShared, salt),
    nonce,
    wrapped.subarray(SALT_LENGTH + BUNDLE_NONCE_LENGTH),
  );
  return {
    companionIdentityPublicKey: plaintext.slice(0, KEY_LENGTH),
    primaryIdentityPublicKey: plaintext.slice(KEY_LENGTH, 2 * KEY_LENGTH),
    advRandom: plaintext.slice(2 * KEY_LENGTH),
  };
}

/** HKDF-SHA256(ephemeral shared ‖ identity shared ‖ adv random, no salt, info "adv_secret", 32). */
export function deriveAdvSecret(
  ephemeralShared: Uint8Array,
  identityShared: Uint8Array,
  advRandom: Uint8Array,
): Uint8Array {
  requireLength('pairing ephemeral shared secret', ephemeralShared, KEY_LENGTH, 'BAD_LENGTH');
  requireLength('identity shared secret', identityShared, KEY_LENGTH, 'BAD_LENGTH');
  requireLength('adv random', advRandom, KEY_LENGTH, 'BAD_LENGTH');
  const ikm = new Uint8Array(3 * KEY_LENGTH);
  ikm.set(ephemeralShared, 0);
  ikm.set(identityShared, KEY_LENGTH);
  ikm.set(advRandom, 2 * KEY_LENGTH);
  return hkdf(ikm, new Uint8Array(0), utf8(ADV_SECRET_INFO), KEY_LENGTH);
}

export interface CompanionKeyBundleInput {
  companionEphemeralPrivateKey: Uint8Array;
  /** Unwrapped from primary_hello with the code. */
  primaryEphemeralPublicKey: Uint8Array;
  companionIdentity: X25519KeyPair;
  primaryIdentityPublicKey: Uint8Array;
  randomness?: KeyBundleRandomness & { advRandom?: Uint8Array };
}

/** Companion, stage 2: the 156-byte bundle for companion_finish and the adv secret that replaces the QR's. */
export function companionKeyBundle(input: CompanionKeyBundleInput): {
  wrappedKeyBundle: Uint8Array;
  advSecret: Uint8Array;
} {
  const ephemeralShared = x25519SharedSecret(
    input.companionEphemeralPrivateKey,
    input.primaryEphemeralPublicKey,
  );
  const advRandom = input.randomness?.advRandom ?? randomBytes(KEY_LENGTH);
  const wrappedKeyBundle = sealKeyBundle(
    ephemeralShared,
    {
      companionIdentityPublicKey: input.companionIdentity.publicKey,
      primaryIdentityPublicKey: input.primaryIdentityPublicKey,
      advRandom,
    },
    input.randomness,
  );
  const identityShared = x25519SharedSecret(
    input.companionIdentity.privateKey,
    input.primaryIdentityPublicKey,
  );
  return { wrappedKeyBundle, advSecret: deriveAdvSecret(ephemeralShared, identityShared, advRandom) };
}

export interface PrimaryKeyBundleInput {
  primaryEphemeralPrivateKey: Uint8Array;
  /** Unwrapped from companion_hello with the code. */
  companionEphemeralPublicKey: Uint8Array;
  primaryIdentity: X25519KeyPair;
  wrappedKeyBundle: Uint8Array;
  /** When known (the registration's identity), the bundle's companion identity must equal it. */
  expectedCompanionIdentityPublicKey?: Uint8Array;
}

/**
 * Phone, on companion_finish: opens the bundle and derives the same adv secret. CryptoError BAD_TAG for a
 * wrong code, BAD_KEY_BUNDLE when an identity inside is not the one expected.
 */
export function primaryOpenKeyBundle(input: PrimaryKeyBundleInput): {
  companionIdentityPublicKey: Uint8Array;
  advSecret: Uint8Array;
} {
  const ephemeralShared = x25519SharedSecret(
    input.primaryEphemeralPrivateKey,
    input.companionEphemeralPublicKey,
  );
  let contents: KeyBundleContents;
  try {
    contents = openKeyBundle(ephemeralShared, input.wrappedKeyBundle);
  } catch (error) {
    if (isCryptoError(error) && error.code === 'BAD_TAG') {
      throw new CryptoError('BAD_TAG', 'the key bundle does not open: wrong pair code');
    }
    throw error;
  }
  if (!constantTimeEqual(contents.primaryIdentityPublicKey, input.primaryIdentity.publicKey)) {
    throw new CryptoError('BAD_KEY_BUNDLE', 'the key bundle names another primary identity');
  }
  const expected = input.expectedCompanionIdentityPublicKey;
  if (expected && !constantTimeEqual(contents.companionIdentityPublicKey, expected)) {
    throw new CryptoError('BAD_KEY_BUNDLE', 'the key bundle names another companion identity');
  }
  const identityShared = x25519SharedSecret(
    input.primaryIdentity.privateKey,
    contents.companionIdentityPublicKey,
  );
  return {
    companionIdentityPublicKey: contents.companionIdentityPublicKey,
    advSecret: deriveAdvSecret(ephemeralShared, identityShared, contents.advRandom),
  };
}
