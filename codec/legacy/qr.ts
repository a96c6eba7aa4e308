// QR text (docs/protocol.md §2.2): `<ref>,<base64(public key, 32 bytes)>,<clientId>`.
import { CodecError } from '../errors.ts';

export interface QrPayload {
  ref: string;
  publicKey: Uint8Array;
  clientId: string;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string, bytes: number, what: string): Uint8Array {
  if (!BASE64_RE.test(text)) throw new CodecError('BAD_QR', `${what} is not padded base64`);
  const decoded = new Uint8Array(Buffer.from(text, 'base64'));
  if (decoded.length !== bytes)
    throw new CodecError('BAD_QR', `${what} must be ${bytes} bytes, got ${decoded.length}`);
  return decoded;
}

export function buildQrText(qr: QrPayload): string {
  if (!qr.ref || qr.ref.includes(','))
    throw new CodecError('BAD_QR', 'the ref must be non-empty without commas');
  if (qr.publicKey.length !== 32) throw new CodecError('BAD_QR', 'the public key must be 32 bytes');
  decodeBase64(qr.clientId, 16, 'clientId');
  return `${qr.ref},${Buffer.from(qr.publicKey).toString('base64')},${qr.clientId}`;
}

export function parseQrText(text: string): QrPayload {
  if (typeof text !== 'string') throw new CodecError('BAD_QR', 'QR text must be a string');
  const parts = text.split(',');
  if (parts.length !== 3) throw new CodecError('BAD_QR', 'QR text is `<ref>,<public key>,<clientId>`');
  const [ref, publicKey, clientId] = parts as [string, string, string];
  if (ref.length === 0) throw new CodecError('BAD_QR', 'the ref is empty');
  decodeBase64(clientId, 16, 'clientId');
  return { ref, publicKey: decodeBase64(publicKey, 32, 'public key'), clientId };
}
