// The phone's own actions behind the JSON API (docs/emulator.md "The MD phone API"): a contact sends a
// text or an image, the phone lists or unlinks its companions.
import type { md } from '../../codec/index.ts';
import { HttpError } from '../../http/index.ts';
import { deviceJid, lidJid, type MdContext, userJid } from './context.ts';
import { newMessageId, sendFromContact } from './delivery.ts';
import { unlinkDevice } from './devices.ts';
import { isPhoneNumber } from './pairing.ts';

const MAX_TEXT = 64 * 1024;
const CONTACT_JID = /^([1-9]\d{4,19})@(s\.whatsapp\.net|c\.us)$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function requirePhoneNumber(number: string): string {
  if (!isPhoneNumber(number))
    throw new HttpError(400, 'a phone number is 7 to 15 digits, not starting with 0');
  return number;
}

/** POST /md/phones/<n>/messages: {from, text} or {from, image: {base64, mimetype, caption?}}. */
export async function sendMessage(
  ctx: MdContext,
  number: string,
  body: Record<string, unknown>,
): Promise<{ id: string; devices: string[] }> {
  const from = typeof body.from === 'string' ? CONTACT_JID.exec(body.from) : null;
  if (!from) throw new HttpError(400, '"from" must be a contact JID like 4917000000001@s.whatsapp.net');
  if (from[1] === number) throw new HttpError(400, '"from" is the phone itself');
  const account = ctx.state.account(number);
  const contactJid = `${from[1]}@s.whatsapp.net`;
  const id = newMessageId();
  if (typeof body.text === 'string' && body.image === undefined) {
    if (body.text.length === 0 || body.text.length > MAX_TEXT)
      throw new HttpError(400, '"text" must be 1..65536 characters');
    const devices = await sendFromContact(ctx, account, contactJid, {
      id,
      message: { conversation: body.text },
      type: 'text',
    });
    return { id, devices };
  }
  if (body.image !== undefined && body.text === undefined) {
    const image = body.image as Record<string, unknown> | null;
    if (
      !image ||
      typeof image !== 'object' ||
      typeof image.base64 !== 'string' ||
      !BASE64.test(image.base64)
    ) {
      throw new HttpError(400, '"image" must be {"base64": "...", "mimetype": "image/…"}');
    }
    const mimetype =
      typeof image.mimetype === 'string' && /^image\/[\w.+-]+$/.test(image.mimetype) ? image.mimetype : null;
    if (!mimetype) throw new HttpError(400, '"image.mimetype" must be an image type such as image/jpeg');
    const plaintext = new Uint8Array(Buffer.from(image.base64, 'base64'));
    // The same CDN and media crypto as the legacy phone (emulator/media-store.ts).
    const uploaded = ctx.media.upload(id, 'image', plaintext, mimetype, ctx.baseUrl(), ctx.now()).message
      .imageMessage!;
    const imageMessage: md.ImageMessage = {
      url: uploaded.url,
      mimetype,
      fileSha256: uploaded.fileSha256,
      fileLength: uploaded.fileLength,
      height: uploaded.height,
      width: uploaded.width,
      mediaKey: uploaded.mediaKey,
      fileEncSha256: uploaded.fileEncSha256,
      directPath: uploaded.directPath,
      mediaKeyTimestamp: uploaded.mediaKeyTimestamp,
      ...(typeof image.caption === 'string' ? { caption: image.caption.slice(0, 1024) } : {}),
    };
    const devices = await sendFromContact(ctx, account, contactJid, {
      id,
      message: { imageMessage },
      type: 'media',
      mediatype: 'image',
    });
    return { id, devices };
  }
  throw new HttpError(400, 'send either "text" or "image"');
}

/** GET /md/phones/<n>: the account, its linked devices, receipts and what companions sent. */
export function describePhone(ctx: MdContext, number: string) {
  const account = ctx.state.account(number);
  return {
    number,
    jid: userJid(account),
    lid: `${account.lid}@lid`,
    devices: [...account.devices.values()].map((device) => ({
      device: device.id,
      jid: deviceJid(account, device),
      lid: lidJid(account, device),
      keyIndex: device.keyIndex,
      platform: device.platform,
      linkedAt: new Date(device.linkedAt).toISOString(),
      online: ctx.online.has(deviceJid(account, device)),
      preKeys: device.preKeys.length,
      queued: device.queue.length,
    })),
    receipts: account.receipts,
    sent: ctx.sent.get(number) ?? [],
  };
}

/** DELETE /md/phones/<n>/devices/<d>: the companion hears device_removed (§10). */
export function unlinkFromPhone(ctx: MdContext, number: string, device: number): { unlinked: string } {
  const account = ctx.state.account(number);
  if (!unlinkDevice(ctx, account, device, 'remote'))
    throw new HttpError(404, `no device ${device} is linked`);
  return { unlinked: deviceJid(account, device) };
}

/** POST /md/contacts {jid, name?}: a user companions can message (usync lists its device 0, §12.7). */
export function addContact(ctx: MdContext, body: Record<string, unknown>): { jid: string; name: string } {
  const match = typeof body.jid === 'string' ? CONTACT_JID.exec(body.jid) : null;
  if (!match) throw new HttpError(400, '"jid" must be a contact JID like 4917000000001@s.whatsapp.net');
  if (ctx.state.accounts.has(match[1]!)) throw new HttpError(400, '"jid" is a phone of this emulator');
  const contact = ctx.state.contact(`${match[1]}@s.whatsapp.net`);
  if (typeof body.name === 'string' && body.name.length > 0) {
    contact.pushName = body.name.slice(0, 64);
    ctx.state.changed();
  }
  return { jid: contact.jid, name: contact.pushName };
}

/** GET /md/contacts: the contacts the emulator knows, without their keys. */
export function listContacts(ctx: MdContext): { jid: string; name: string }[] {
  return [...ctx.state.contacts.values()].map((contact) => ({ jid: contact.jid, name: contact.pushName }));
}
