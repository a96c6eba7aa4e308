// The multi-device QR string (docs/protocol-md.md "QR"):
//   [https://wa.me/settings/linked_devices#]REF,base64(noise static),base64(identity),base64(adv secret)[,TYPE]
// walink emits 5 fields with the prefix; the parser also takes the 4-field form, no prefix, and a trailing
// FAQ link field.
import { CodecError } from '../errors.ts';

export const QR_LINK_PREFIX = 'https://wa.me/settings/linked_devices#';

/** The companion web client type (one character). Not DeviceProps.PlatformType. */
export const COMPANION_WEB_CLIENT_TYPE = {
  UNKNOWN: '0',
  CHROME: '1',
  EDGE: '2',
  FIREFOX: '3',
  IE: '4',
  OPERA: '5',
  SAFARI: '6',
  ELECTRON: '7',
  UWP: '8',
  OTHER_WEB_CLIENT: '9',
  MACOS: 'c',
  ANDROID_TABLET: 'd',
  ANDROID_PHONE: 'e',
  ANDROID_AMBIGUOUS: 'f',
} as const;

const CLIENT_TYPE_RE = /^[0-9a-f]$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface MdQrPayload {
  ref: string;
  noisePublicKey: Uint8Array;
  identityPublicKey: Uint8Array;
  advSecret: Uint8Array;
  /** One character of COMPANION_WEB_CLIENT_TYPE; absent in the 4-field form. */
  clientType?: string;
}

export interface ParsedMdQr extends MdQrPayload {
  fields: 4 | 5;
  prefixed: boolean;
}

function key(text: string, what: string): Uint8Array {
  if (!BASE64_RE.test(text)) throw new CodecError('BAD_QR', `${what} is not padded base64`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.length !== 32) throw new CodecError('BAD_QR', `${what} must be 32 bytes, got ${bytes.length}`);
  return bytes;
}

function base64(bytes: Uint8Array, what: string): string {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new CodecError('BAD_QR', `${what} must be 32 bytes`);
  }
  return Buffer.from(bytes).toString('base64');
}

/** The 5-field string, with the deep-link prefix unless `prefix: false`. */
export function buildMdQr(payload: MdQrPayload, options: { prefix?: boolean } = {}): string {
  if (typeof payload.ref !== 'string' || payload.ref.length === 0 || payload.ref.includes(',')) {
    throw new CodecError('BAD_QR', 'the ref must be non-empty without commas');
  }
  const clientType = payload.clientType ?? COMPANION_WEB_CLIENT_TYPE.OTHER_WEB_CLIENT;
  if (!CLIENT_TYPE_RE.test(clientType)) throw new CodecError('BAD_QR', 'the client type is one of 0-9, a-f');
  const fields = [
    payload.ref,
    base64(payload.noisePublicKey, 'the noise key'),
    base64(payload.identityPublicKey, 'the identity key'),
    base64(payload.advSecret, 'the adv secret'),
    clientType,
  ].join(',');
  return options.prefix === false ? fields : QR_LINK_PREFIX + fields;
}

/** CodecError BAD_QR for anything that is not one of the accepted forms. */
export function parseMdQr(text: string): ParsedMdQr {
  if (typeof text !== 'string') throw new CodecError('BAD_QR', 'QR text must be a string');
  const prefixed = text.startsWith(QR_LINK_PREFIX);
  const parts = (prefixed ? text.slice(QR_LINK_PREFIX.length) : text).split(',');
  // A trailing help link (`,https://faq.whatsapp.com/r/ld`) is not a field.
  if (parts.length > 4 && /^https?:\/\//.test(parts[parts.length - 1]!)) parts.pop();
  if (parts.length !== 4 && parts.length !== 5) {
    throw new CodecError('BAD_QR', `a QR has 4 or 5 fields, got ${parts.length}`);
  }
  const [ref, noise, identity, adv, clientType] = parts as [string, string, string, string, string?];
  if (ref.length === 0) throw new CodecError('BAD_QR', 'the ref is empty');
  if (clientType !== undefined && !CLIENT_TYPE_RE.test(clientType)) {
    throw new CodecError('BAD_QR', 'the client type is one character of 0-9, a-f');
  }
  return {
    ref,
    noisePublicKey: key(noise, 'the noise key'),
    identityPublicKey: key(identity, 'the identity key'),
    advSecret: key(adv, 'the adv secret'),
    ...(clientType !== undefined ? { clientType } : {}),
    fields: clientType === undefined ? 4 : 5,
    prefixed,
  };
}
