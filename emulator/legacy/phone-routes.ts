// The phone's HTTP API for legacy browsers (docs/emulator.md): scan a QR, send messages and media, unlink,
// list what browsers sent, acknowledge, and change the phone. Bodies are validated here; the hub acts.
import { toProtoJid, type WebMessageInfo } from '../../codec/index.ts';
import { randomBytes, toHex } from '../../crypto/index.ts';
import {
  HttpError,
  otherMethods,
  type Route,
  readJson,
  requireObject,
  route,
  sendJson,
} from '../../http/index.ts';
import { PHONE_MEDIA_TYPES, type PhoneMediaType } from '../media-store.ts';
import type { Hub, PhoneChanges } from './hub.ts';

const PHONE = /^\/phones\/(\d{5,20})$/;
const SENT = /^\/phones\/(\d{5,20})\/sent$/;
const ACTION = /^\/phones\/(\d{5,20})\/(scan|messages|unlink|receipts)$/;
const ACKS: Record<string, number> = { delivered: 2, read: 3 };

export function legacyPhoneRoutes(hub: Hub, options: { maxBodyBytes: number }): Route[] {
  return [
    route('GET', PHONE, ({ res, params }) => sendJson(res, 200, hub.describePhone(params[0]!))),
    route('PUT', PHONE, async ({ req, res, params }) => {
      const number = params[0]!;
      hub.phone(number); // phones exist on first use, even when the change is refused
      hub.updatePhone(number, phoneChanges(requireObject(await readJson(req, 64 * 1024))));
      sendJson(res, 200, hub.describePhone(number));
    }),
    otherMethods(PHONE, ['GET', 'PUT']),
    route('GET', SENT, ({ res, params }) => sendJson(res, 200, { sent: hub.sentBy(params[0]!) })),
    otherMethods(SENT, ['GET']),
    route('POST', ACTION, async ({ req, res, params }) => {
      const [number, action] = params as [string, string];
      if (action === 'unlink') return sendJson(res, 200, { unlinked: hub.unlink(number) });
      const body = requireObject(await readJson(req, options.maxBodyBytes));
      if (action === 'receipts') return sendJson(res, 200, receipt(hub, number, body));
      if (action === 'scan') return sendJson(res, 200, await hub.scan(number, body.qr));
      return sendJson(res, 200, phoneMessage(hub, number, body));
    }),
    otherMethods(ACTION, ['POST']),
  ];
}

function phoneChanges(body: Record<string, unknown>): PhoneChanges {
  for (const key of ['multiDevice', 'tosBlocked', 'asleep'] as const) {
    if (body[key] !== undefined && typeof body[key] !== 'boolean')
      throw new HttpError(400, `${key} must be true or false`);
  }
  if (body.pushname !== undefined && (typeof body.pushname !== 'string' || body.pushname.length > 100))
    throw new HttpError(400, 'pushname must be a short string');
  return body as PhoneChanges;
}

function receipt(hub: Hub, number: string, body: Record<string, unknown>): { notified: number } {
  if (typeof body.id !== 'string' || body.id.length === 0 || body.id.length > 100)
    throw new HttpError(400, 'id must be the id of a message a browser sent');
  const ack = body.type === undefined ? 3 : ACKS[String(body.type)];
  if (!ack) throw new HttpError(400, 'type is "delivered" or "read"');
  return { notified: hub.receipt(number, body.id, ack) };
}

function phoneMessage(
  hub: Hub,
  number: string,
  body: Record<string, unknown>,
): { id: string; delivered: number } {
  hub.phone(number); // phones exist on first use, even when the message is refused
  const from = body.from;
  if (typeof from !== 'string' || !/^[^@\s]+@(c\.us|g\.us|s\.whatsapp\.net)$/.test(from)) {
    throw new HttpError(400, '"from" must be a JID like 4915112345678@c.us');
  }
  const id = `3A${toHex(randomBytes(9)).toUpperCase()}`;
  const info: WebMessageInfo = {
    key: { remoteJid: toProtoJid(from), fromMe: false, id },
    messageTimestamp: Math.floor(hub.now() / 1000),
    status: 3,
    pushName: 'Emulated sender',
  };
  if (typeof body.text === 'string' && body.media === undefined) {
    info.message = { conversation: body.text };
  } else if (body.media !== undefined && body.text === undefined) {
    const media = requireObject(body.media, 'media');
    if (!PHONE_MEDIA_TYPES.includes(media.type as PhoneMediaType)) {
      throw new HttpError(400, `media.type is one of ${PHONE_MEDIA_TYPES.join(', ')}`);
    }
    if (
      typeof media.base64 !== 'string' ||
      !/^[A-Za-z0-9+/]*={0,2}$/.test(media.base64) ||
      media.base64.length === 0
    ) {
      throw new HttpError(400, 'media.base64 must be non-empty base64');
    }
    const mimetype = typeof media.mimetype === 'string' ? media.mimetype : 'application/octet-stream';
    const plaintext = new Uint8Array(Buffer.from(media.base64, 'base64'));
    info.message = hub.uploadMedia(id, media.type as PhoneMediaType, plaintext, mimetype).message;
  } else {
    throw new HttpError(400, 'send either "text" or "media"');
  }
  return { id, delivered: hub.sendFromPhone(number, info) };
}
