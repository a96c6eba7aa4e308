// What a ClientPayload says (docs/protocol-md.md §4): a registration carries devicePairingData, whose
// signed pre-key signature and build hash the server checks before it hands out refs (§4.2, §4.4); a login
// carries username and device (§4.3), and the handshake has already proven the Noise static key.
import { createHash } from 'node:crypto';
import { md } from '../../codec/index.ts';
import { concatBytes, constantTimeEqual } from '../../crypto/index.ts';
import { xeddsaVerify } from '../../crypto/md/index.ts';
import type { Registration } from './context.ts';
import { MdEmulatorError } from './errors.ts';

function bad(message: string): MdEmulatorError {
  return new MdEmulatorError('BAD_PAYLOAD', message);
}

function field(value: Uint8Array | undefined, what: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw bad(`devicePairingData.${what} must be ${length} bytes`);
  }
  return value;
}

function bigEndian(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

/** MD5 of the `primary.secondary.tertiary` version string (§4.2 buildHash). */
export function buildHashOf(version: md.AppVersion | undefined): Uint8Array {
  const text = `${version?.primary ?? 0}.${version?.secondary ?? 0}.${version?.tertiary ?? 0}`;
  return new Uint8Array(createHash('md5').update(text).digest());
}

/** Checks a registration payload; MdEmulatorError BAD_PAYLOAD says which field is wrong. */
export function readRegistration(payload: md.ClientPayload, noiseStatic: Uint8Array): Registration {
  const data = payload.devicePairingData;
  if (!data) throw bad('a registration needs devicePairingData');
  const registrationId = bigEndian(field(data.eRegid, 'eRegid', 4));
  const keyType = field(data.eKeytype, 'eKeytype', 1);
  if (keyType[0] !== 0x05) throw bad('devicePairingData.eKeytype must be 05');
  const identity = field(data.eIdent, 'eIdent', 32);
  const keyId = bigEndian(field(data.eSkeyId, 'eSkeyId', 3));
  const signedPreKey = field(data.eSkeyVal, 'eSkeyVal', 32);
  const signature = field(data.eSkeySig, 'eSkeySig', 64);
  if (!xeddsaVerify(identity, concatBytes(Uint8Array.of(0x05), signedPreKey), signature)) {
    throw bad('the signed pre-key signature does not verify against eIdent');
  }
  const buildHash = field(data.buildHash, 'buildHash', 16);
  if (!constantTimeEqual(buildHash, buildHashOf(payload.userAgent?.appVersion))) {
    throw bad('buildHash is not the MD5 of the user agent version');
  }
  let props: md.DeviceProps = {};
  if (data.deviceProps) props = md.decodeDeviceProps(data.deviceProps);
  return {
    noiseStatic,
    identity,
    registrationId,
    signedPreKey: { keyId, publicKey: signedPreKey, signature },
    platform: {
      ...(props.os !== undefined ? { os: props.os } : {}),
      ...(props.platformType !== undefined ? { platformType: props.platformType } : {}),
    },
  };
}

/** The phone number and device a login names. */
export function readLogin(payload: md.ClientPayload): { number: string; device: number } {
  if (
    typeof payload.username !== 'number' ||
    !Number.isSafeInteger(payload.username) ||
    payload.username <= 0
  ) {
    throw bad('a login needs a username');
  }
  return { number: String(payload.username), device: payload.device ?? 0 };
}
