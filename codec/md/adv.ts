// ADV, the account/device verification of pair-success and pair-device-sign (docs/protocol-md.md
// "pair-success"): the phone signs the new device's identity and MACs it with the adv secret; the companion
// checks both, countersigns, and the phone verifies the countersignature.
//   HMAC-SHA256(adv secret, [06 05 if the container's accountType is HOSTED] ‖ signed identity)
//   account signature = XEdDSA(primary, [06 00 | 06 05 if the inner deviceType is HOSTED] ‖ details ‖ companion)
//   device signature  = XEdDSA(companion, 06 01 ‖ details ‖ companion ‖ primary)
import { concatBytes, constantTimeEqual, hmacSha256, type X25519KeyPair } from '../../crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../crypto/md/index.ts';
import { isCodecError } from '../errors.ts';
import {
  ADV_ENCRYPTION_TYPE,
  type AdvDeviceIdentity,
  type AdvSignedDeviceIdentity,
  decodeAdvDeviceIdentity,
  decodeAdvSignedDeviceIdentity,
  decodeAdvSignedDeviceIdentityHmac,
  encodeAdvDeviceIdentity,
  encodeAdvSignedDeviceIdentity,
  encodeAdvSignedDeviceIdentityHmac,
} from './proto.ts';

export const ADV_PREFIX_ACCOUNT_SIGNATURE = Uint8Array.of(6, 0);
export const ADV_PREFIX_DEVICE_SIGNATURE = Uint8Array.of(6, 1);
/** Hosted accounts: the HMAC prefix and the account-signature prefix. */
export const ADV_PREFIX_HOSTED_ACCOUNT = Uint8Array.of(6, 5);
/** Hosted device signatures, used only when verifying other devices' identities. */
export const ADV_PREFIX_HOSTED_DEVICE_SIGNATURE = Uint8Array.of(6, 6);

const EMPTY = new Uint8Array(0);

export type AdvFailure =
  | 'MALFORMED'
  | 'HMAC_MISMATCH'
  | 'ACCOUNT_SIGNATURE_MISMATCH'
  | 'DEVICE_SIGNATURE_MISMATCH'
  | 'DETAILS_MISMATCH'
  | 'KEY_INDEX_MISMATCH';

export class AdvError extends Error {
  override readonly name = 'AdvError';
  constructor(
    readonly code: AdvFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The `<error code text>` a companion answers pair-success with when a check fails. */
export function pairErrorFor(error: AdvError): { code: 401 | 500; text: string } {
  switch (error.code) {
    case 'HMAC_MISMATCH':
      return { code: 401, text: 'hmac-mismatch' };
    case 'ACCOUNT_SIGNATURE_MISMATCH':
    case 'DEVICE_SIGNATURE_MISMATCH':
      return { code: 401, text: 'signature-mismatch' };
    default:
      return { code: 500, text: 'internal-error' };
  }
}

function accountSignaturePrefix(deviceType: number | undefined): Uint8Array {
  return deviceType === ADV_ENCRYPTION_TYPE.HOSTED ? ADV_PREFIX_HOSTED_ACCOUNT : ADV_PREFIX_ACCOUNT_SIGNATURE;
}

function hmacPrefix(accountType: number | undefined): Uint8Array {
  return accountType === ADV_ENCRYPTION_TYPE.HOSTED ? ADV_PREFIX_HOSTED_ACCOUNT : EMPTY;
}

export function accountSignatureMessage(
  details: Uint8Array,
  deviceType: number | undefined,
  companionIdentityPublicKey: Uint8Array,
): Uint8Array {
  return concatBytes(accountSignaturePrefix(deviceType), details, companionIdentityPublicKey);
}

export function deviceSignatureMessage(
  details: Uint8Array,
  companionIdentityPublicKey: Uint8Array,
  accountSignatureKey: Uint8Array,
): Uint8Array {
  return concatBytes(ADV_PREFIX_DEVICE_SIGNATURE, details, companionIdentityPublicKey, accountSignatureKey);
}

function decodeOr<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (error) {
    if (isCodecError(error)) throw new AdvError('MALFORMED', `${what}: ${error.message}`);
    throw error;
  }
}

function requireField(value: Uint8Array | undefined, what: string, length?: number): Uint8Array {
  if (!value || (length !== undefined && value.length !== length)) {
    throw new AdvError('MALFORMED', `${what} is missing or has the wrong length`);
  }
  return value;
}

// ---- companion ----

export interface VerifiedPairSuccess {
  deviceIdentity: AdvDeviceIdentity;
  /** The key-index attribute of pair-device-sign (a missing one counts as 0, as whatsmeow and Baileys do). */
  keyIndex: number;
  /** The primary's identity key (for the Signal identity of device 0). */
  accountSignatureKey: Uint8Array;
  /** The signed identity with our device signature: what to persist as the account. */
  account: Required<Pick<AdvSignedDeviceIdentity, 'details' | 'accountSignatureKey' | 'accountSignature'>> & {
    deviceSignature: Uint8Array;
  };
  /** The content of pair-device-sign's `<device-identity>`: the account without accountSignatureKey. */
  reply: Uint8Array;
}

/**
 * Companion, on pair-success: checks the HMAC and the account signature, then countersigns. Throws AdvError
 * (map it with pairErrorFor): MALFORMED → 500, HMAC_MISMATCH → 401 hmac-mismatch,
 * ACCOUNT_SIGNATURE_MISMATCH → 401 signature-mismatch.
 */
export function verifyPairSuccess(input: {
  /** `<device-identity>` bytes: an ADVSignedDeviceIdentityHMAC. */
  container: Uint8Array;
  advSecret: Uint8Array;
  identity: X25519KeyPair;
}): VerifiedPairSuccess {
  const container = decodeOr(() => decodeAdvSignedDeviceIdentityHmac(input.container), 'the ADV container');
  const signedBytes = requireField(container.details, 'the container details');
  const mac = requireField(container.hmac, 'the container HMAC', 32);
  const expected = hmacSha256(input.advSecret, hmacPrefix(container.accountType), signedBytes);
  if (!constantTimeEqual(expected, mac)) throw new AdvError('HMAC_MISMATCH', 'the ADV HMAC does not match');

  const signed = decodeOr(() => decodeAdvSignedDeviceIdentity(signedBytes), 'the signed device identity');
  const details = requireField(signed.details, 'the device identity details');
  const accountSignatureKey = requireField(signed.accountSignatureKey, 'the account signature key', 32);
  const accountSignature = requireField(signed.accountSignature, 'the account signature', 64);
  const deviceIdentity = decodeOr(() => decodeAdvDeviceIdentity(details), 'the device identity');

  const message = accountSignatureMessage(details, deviceIdentity.deviceType, input.identity.publicKey);
  if (!xeddsaVerify(accountSignatureKey, message, accountSignature)) {
    throw new AdvError('ACCOUNT_SIGNATURE_MISMATCH', 'the account signature does not verify');
  }
  const deviceSignature = xeddsaSign(
    input.identity.privateKey,
    deviceSignatureMessage(details, input.identity.publicKey, accountSignatureKey),
  );
  return {
    deviceIdentity,
    keyIndex: deviceIdentity.keyIndex ?? 0,
    accountSignatureKey,
    account: { details, accountSignatureKey, accountSignature, deviceSignature },
    reply: encodeAdvSignedDeviceIdentity({ details, accountSignature, deviceSignature }),
  };
}

// ---- phone ----

export interface PairSuccessIdentity {
  /** The serialized ADVDeviceIdentity. */
  details: Uint8Array;
  /** The serialized ADVSignedDeviceIdentity (what the HMAC covers). */
  signedIdentity: Uint8Array;
  /** The serialized ADVSignedDeviceIdentityHMAC: pair-success's `<device-identity>`. */
  container: Uint8Array;
}

/**
 * Phone (emulator), on a scan or a finished pair code: the device identity for a new companion, signed by the
 * primary and MACed with the adv secret. `accountType` and `deviceType` are written even when E2EE (0).
 */
export function buildPairSuccessIdentity(input: {
  primaryIdentity: X25519KeyPair;
  companionIdentityPublicKey: Uint8Array;
  advSecret: Uint8Array;
  device: { rawId: number; timestamp: number; keyIndex: number; accountType?: number; deviceType?: number };
  /** The container's (outer) account type; default E2EE. */
  accountType?: number;
}): PairSuccessIdentity {
  const deviceType = input.device.deviceType ?? ADV_ENCRYPTION_TYPE.E2EE;
  const details = encodeAdvDeviceIdentity({
    rawId: input.device.rawId,
    timestamp: input.device.timestamp,
    keyIndex: input.device.keyIndex,
    accountType: input.device.accountType ?? ADV_ENCRYPTION_TYPE.E2EE,
    deviceType,
  });
  const accountSignature = xeddsaSign(
    input.primaryIdentity.privateKey,
    accountSignatureMessage(details, deviceType, input.companionIdentityPublicKey),
  );
  const signedIdentity = encodeAdvSignedDeviceIdentity({
    details,
    accountSignatureKey: input.primaryIdentity.publicKey,
    accountSignature,
  });
  const accountType = input.accountType ?? ADV_ENCRYPTION_TYPE.E2EE;
  const container = encodeAdvSignedDeviceIdentityHmac({
    details: signedIdentity,
    hmac: hmacSha256(input.advSecret, hmacPrefix(accountType), signedIdentity),
    accountType,
  });
  return { details, signedIdentity, container };
}

/**
 * Phone, on pair-device-sign: the reply must carry the details the phone signed, a key-index attribute equal
 * to their keyIndex, and a device signature by the companion's identity key.
 */
export function verifyPairDeviceSign(input: {
  /** `<device-identity>` content of pair-device-sign. */
  reply: Uint8Array;
  /** Its `key-index` attribute. */
  keyIndexAttribute: string | undefined;
  /** The details sent in pair-success. */
  expectedDetails: Uint8Array;
  companionIdentityPublicKey: Uint8Array;
  primaryIdentityPublicKey: Uint8Array;
}): { deviceSignature: Uint8Array; keyIndex: number } {
  const signed = decodeOr(() => decodeAdvSignedDeviceIdentity(input.reply), 'the pair-device-sign identity');
  const details = requireField(signed.details, 'the device identity details');
  const deviceSignature = requireField(signed.deviceSignature, 'the device signature', 64);
  if (!constantTimeEqual(details, input.expectedDetails)) {
    throw new AdvError('DETAILS_MISMATCH', 'pair-device-sign carries other details than pair-success');
  }
  const keyIndex = decodeOr(() => decodeAdvDeviceIdentity(details), 'the device identity').keyIndex ?? 0;
  if (input.keyIndexAttribute === undefined || !/^\d+$/.test(input.keyIndexAttribute)) {
    throw new AdvError('KEY_INDEX_MISMATCH', 'pair-device-sign lacks a decimal key-index');
  }
  if (Number(input.keyIndexAttribute) !== keyIndex) {
    throw new AdvError('KEY_INDEX_MISMATCH', `key-index ${input.keyIndexAttribute} is not ${keyIndex}`);
  }
  const message = deviceSignatureMessage(
    details,
    input.companionIdentityPublicKey,
    input.primaryIdentityPublicKey,
  );
  if (!xeddsaVerify(input.companionIdentityPublicKey, message, deviceSignature)) {
    throw new AdvError('DEVICE_SIGNATURE_MISMATCH', 'the device signature does not verify');
  }
  return { deviceSignature, keyIndex };
}
