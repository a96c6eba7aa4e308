// The pairing procedures the MD machine invokes as promise actors (docs/protocol-md.md §6.5-§7.5):
// verifyPairSuccess (the three ADV checks, then the countersignature), preparePairCode (stage 1: a code and
// a fresh pairing ephemeral wrapped under it, PBKDF2 on libuv's pool) and finishPairCode (stage 3: the key
// bundle and the adv secret that replaces the QR's). Pure but for randomness, which tests may fix.
import { md } from '../../codec/index.ts';
import { type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import {
  companionKeyBundle,
  type KeyBundleRandomness,
  randomPairCode,
  unwrapPairingEphemeral,
  WRAPPED_EPHEMERAL_LENGTH,
  type WrapRandomness,
  wrapPairingEphemeral,
} from '../../crypto/md/index.ts';

export type PairingErrorCode = 'BAD_PHONE' | 'BAD_PRIMARY_HELLO';

export class PairingError extends Error {
  override readonly name = 'PairingError';
  constructor(
    readonly code: PairingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---- pair-success (§6.5) ----

export interface PairSuccessInput {
  deviceIdentity: Uint8Array;
  jid: string;
  lid: string | null;
  platform: string | null;
  businessName: string | null;
}

export type PairVerdict =
  | {
      ok: true;
      /** `<device-identity>` of pair-device-sign: accountSignatureKey stripped, deviceSignature added (§6.6). */
      deviceIdentity: Uint8Array;
      /** The ADVSignedDeviceIdentity to keep (§15), accountSignatureKey and deviceSignature included. */
      account: Uint8Array;
      keyIndex: number;
      /** The primary's identity (device 0's Signal identity, §15). */
      primaryIdentityPublic: Uint8Array;
      me: { jid: string; lid: string | null; name?: string };
      platform: string | null;
    }
  | { ok: false; code: 401 | 500; text: 'hmac-mismatch' | 'signature-mismatch' | 'internal-error' };

/**
 * §6.5 steps 1-5 with typed verdicts: HMAC-SHA256 with the adv secret (prefix 06 05 for a HOSTED container),
 * the account signature (prefix by the inner deviceType), then the device signature with 06 01.
 */
export function verifyPairSuccess(
  event: PairSuccessInput,
  credentials: { identityKey: X25519KeyPair; advSecret: Uint8Array },
): PairVerdict {
  let verified: md.VerifiedPairSuccess;
  try {
    verified = md.verifyPairSuccess({
      container: event.deviceIdentity,
      advSecret: credentials.advSecret,
      identity: credentials.identityKey,
    });
  } catch (error) {
    if (!(error instanceof md.AdvError)) throw error;
    const reply = md.pairErrorFor(error);
    return {
      ok: false,
      code: reply.code,
      text: reply.code === 500 ? 'internal-error' : (reply.text as 'hmac-mismatch' | 'signature-mismatch'),
    };
  }
  // The JIDs must name a companion device of a phone-number account (§6.4).
  const jid = md.tryParseMdJid(event.jid);
  const lid = event.lid === null ? null : md.tryParseMdJid(event.lid);
  if (jid?.server !== 's.whatsapp.net' || !jid.device || (event.lid !== null && lid?.server !== 'lid')) {
    return { ok: false, code: 500, text: 'internal-error' };
  }
  return {
    ok: true,
    deviceIdentity: verified.reply,
    account: md.encodeAdvSignedDeviceIdentity(verified.account),
    keyIndex: verified.keyIndex,
    primaryIdentityPublic: verified.accountSignatureKey,
    me: { jid: event.jid, lid: event.lid, ...(event.businessName ? { name: event.businessName } : {}) },
    platform: event.platform,
  };
}

// ---- pair code (§7) ----

/**
 * §7.1: digits only once spaces, dashes, dots, parentheses and a leading + are removed; at least 7 and at
 * most 15 digits; never a leading 0 (a national number, not an international one).
 */
export function normalizePhone(phone: string): string {
  if (typeof phone !== 'string') throw new PairingError('BAD_PHONE', 'a phone number is a string');
  const digits = phone
    .trim()
    .replace(/^\+/, '')
    .replace(/[\s().-]/g, '');
  if (!/^\d+$/.test(digits)) throw new PairingError('BAD_PHONE', 'a phone number has digits only');
  if (digits.length < 7 || digits.length > 15) {
    throw new PairingError('BAD_PHONE', 'a phone number has 7 to 15 digits');
  }
  if (digits.startsWith('0')) {
    throw new PairingError('BAD_PHONE', 'give the number with its country code, not starting with 0');
  }
  return digits;
}

/** `ABCD1234` → `ABCD-1234`, as it is shown (whatsmeow's form). */
export function formatPairCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export interface PreparedPairCode {
  phone: string;
  /** 8 characters of the alphabet (§7.1). */
  code: string;
  /** The same as shown: `XXXX-XXXX`. */
  display: string;
  /** salt ‖ iv ‖ ct (80 bytes) for companion_hello. */
  wrappedEphemeral: Uint8Array;
  /** Fresh per request (§7.2, §16 row 15). */
  ephemeral: X25519KeyPair;
}

export interface PreparePairCodeOptions {
  code?: string;
  ephemeral?: X25519KeyPair;
  randomness?: WrapRandomness;
}

/** Stage 1's inputs: a new code and pairing ephemeral, wrapped with PBKDF2 off the event loop (§7.2). */
export async function preparePairCode(
  input: { phone: string },
  options: PreparePairCodeOptions = {},
): Promise<PreparedPairCode> {
  const phone = normalizePhone(input.phone);
  const code = options.code ?? randomPairCode();
  const ephemeral = options.ephemeral ?? x25519KeyPair();
  const wrappedEphemeral = await wrapPairingEphemeral(code, ephemeral.publicKey, options.randomness);
  return { phone, code, display: formatPairCode(code), wrappedEphemeral, ephemeral };
}

export interface PrimaryHelloInput {
  ref: string;
  wrappedPrimaryEphemeral: Uint8Array;
  primaryIdentityPublic: Uint8Array;
}

export interface FinishedPairCode {
  wrappedKeyBundle: Uint8Array;
  /** Replaces the QR's adv secret (§7.5 step 9, §7.7). */
  advSecret: Uint8Array;
  identityPublic: Uint8Array;
  ref: string;
}

/**
 * Stage 2 → 3 (§7.5): unwraps the primary's ephemeral with the code (a wrong code gives wrong bytes, not an
 * error), seals the key bundle and derives the new adv secret. PairingError BAD_PRIMARY_HELLO for fields of
 * the wrong length.
 */
export async function finishPairCode(
  input: { primaryHello: PrimaryHelloInput; prepared: Pick<PreparedPairCode, 'code' | 'ephemeral'> },
  credentials: { identityKey: X25519KeyPair },
  randomness?: KeyBundleRandomness & { advRandom?: Uint8Array },
): Promise<FinishedPairCode> {
  const { primaryHello, prepared } = input;
  // whatsapp-rust wants exactly 80 bytes; whatsmeow at least 80 and reads the first 80 (§7.4).
  if (primaryHello.wrappedPrimaryEphemeral.length < WRAPPED_EPHEMERAL_LENGTH) {
    throw new PairingError('BAD_PRIMARY_HELLO', 'the wrapped primary ephemeral is shorter than 80 bytes');
  }
  if (primaryHello.primaryIdentityPublic.length !== 32) {
    throw new PairingError('BAD_PRIMARY_HELLO', 'the primary identity is not 32 bytes');
  }
  const primaryEphemeral = await unwrapPairingEphemeral(
    prepared.code,
    primaryHello.wrappedPrimaryEphemeral.subarray(0, WRAPPED_EPHEMERAL_LENGTH),
  );
  const { wrappedKeyBundle, advSecret } = companionKeyBundle({
    companionEphemeralPrivateKey: prepared.ephemeral.privateKey,
    primaryEphemeralPublicKey: primaryEphemeral,
    companionIdentity: credentials.identityKey,
    primaryIdentityPublicKey: primaryHello.primaryIdentityPublic,
    ...(randomness ? { randomness } : {}),
  });
  return {
    wrappedKeyBundle,
    advSecret,
    identityPublic: credentials.identityKey.publicKey,
    ref: primaryHello.ref,
  };
}
