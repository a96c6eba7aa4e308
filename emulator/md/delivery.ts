// Messages to companion devices (docs/protocol-md.md §12, §13): a contact — or the account's own phone,
// device 0 — encrypts for each linked device with the Signal protocol, using the device's keys (one
// one-time pre-key per new session, consumed once). The encrypted stanza waits in the device's queue
// until the device acks or receipts it: it goes out at once when the device is online, and again at its
// next login (before <ib><offline count=N>) when it never arrived.
import { md } from '../../codec/index.ts';
import { randomBytes, toHex } from '../../crypto/index.ts';
import type { SignalPreKeyBundle } from '../../crypto/md/index.ts';
import type { MdConnection } from './connection.ts';
import { type ConnSession, deviceJid, type MdContext, userJid } from './context.ts';
import { encryptForDevice, type SignalParty } from './signal-party.ts';
import { messageStanza, offlineMarker } from './stanzas.ts';
import type { MdAccount, MdDevice, QueuedStanza } from './state.ts';

export interface Outgoing {
  id: string;
  message: md.Message;
  type: QueuedStanza['type'];
  mediatype?: string;
  category?: 'peer';
  notify?: string;
}

export interface Sender {
  party: SignalParty;
  jid: string;
}

/** Message ids as phones make them: `3A` and 18 upper-case hex digits. */
export function newMessageId(): string {
  return `3A${toHex(randomBytes(9)).toUpperCase()}`;
}

function bundleFor(ctx: MdContext, device: MdDevice): SignalPreKeyBundle {
  const preKey = device.preKeys.shift();
  ctx.state.changed();
  return {
    registrationId: device.registrationId,
    identityKey: device.identity,
    signedPreKey: device.signedPreKey,
    ...(preKey ? { preKey } : {}),
  };
}

function liveConnection(ctx: MdContext, account: MdAccount, device: MdDevice): MdConnection | undefined {
  const connection = ctx.online.get(deviceJid(account, device));
  const session = connection ? ctx.session(connection) : undefined;
  return session?.kind === 'authenticated' && session.live ? connection : undefined;
}

/** Encrypts for one device and queues (and sends, when it is online). False when its queue is full. */
export async function sendToDevice(
  ctx: MdContext,
  account: MdAccount,
  device: MdDevice,
  sender: Sender,
  out: Outgoing,
): Promise<boolean> {
  if (device.queue.length >= ctx.options.maxQueuedMessages) {
    ctx.log.warn({ device: deviceJid(account, device) }, 'md: message queue full, message not queued');
    return false;
  }
  const cipher = await encryptForDevice(
    sender.party,
    () => ctx.state.changed(),
    { name: account.number, deviceId: device.id },
    () => bundleFor(ctx, device),
    md.encodeMessage(out.message),
  );
  // Unlinked while encrypting: nobody to deliver to.
  if (account.devices.get(device.id) !== device) return false;
  const queued: QueuedStanza = {
    id: out.id,
    from: sender.jid,
    t: ctx.nowSeconds(),
    type: out.type,
    ...(out.category ? { category: out.category } : {}),
    ...(out.notify ? { notify: out.notify } : {}),
    ...(out.mediatype ? { mediatype: out.mediatype } : {}),
    encType: cipher.type,
    body: cipher.body,
  };
  device.queue.push(queued);
  ctx.state.changed();
  liveConnection(ctx, account, device)?.sendNode(messageStanza(queued, false));
  return true;
}

/** A companion's message for another companion, relayed as it came (the server cannot read it, §12.7). */
export function relayToDevice(
  ctx: MdContext,
  account: MdAccount,
  device: MdDevice,
  queued: QueuedStanza,
): boolean {
  if (device.queue.length >= ctx.options.maxQueuedMessages) return false;
  device.queue.push(queued);
  ctx.state.changed();
  liveConnection(ctx, account, device)?.sendNode(messageStanza(queued, false));
  return true;
}

/** §12: a contact's message to every linked device of the account; the JIDs of those it was queued for. */
export async function sendFromContact(
  ctx: MdContext,
  account: MdAccount,
  contactJid: string,
  out: Omit<Outgoing, 'notify'>,
): Promise<string[]> {
  const contact = ctx.state.contact(contactJid);
  const sender = { party: contact, jid: contact.jid };
  const devices = [...account.devices.values()];
  const results = await Promise.all(
    devices.map((device) => sendToDevice(ctx, account, device, sender, { ...out, notify: contact.pushName })),
  );
  return devices.filter((_, i) => results[i]).map((device) => deviceJid(account, device));
}

/**
 * §13: what a primary sends a new device: a history-sync notification (NON_BLOCKING_DATA, nothing to
 * download) and an app-state sync key share, from device 0, category peer, type protocol.
 */
export async function bootstrapDevice(ctx: MdContext, account: MdAccount, device: MdDevice): Promise<void> {
  if (device.bootstrapped) return;
  device.bootstrapped = true;
  ctx.state.changed();
  const sender = { party: account, jid: userJid(account) };
  const { PROTOCOL_MESSAGE_TYPE, HISTORY_SYNC_TYPE } = md;
  const history: md.Message = {
    protocolMessage: {
      type: PROTOCOL_MESSAGE_TYPE.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: { syncType: HISTORY_SYNC_TYPE.NON_BLOCKING_DATA },
    },
  };
  const keyShare: md.Message = {
    protocolMessage: {
      type: PROTOCOL_MESSAGE_TYPE.APP_STATE_SYNC_KEY_SHARE,
      appStateSyncKeyShare: {
        keys: [
          {
            keyId: { keyId: randomBytes(6) },
            keyData: {
              keyData: randomBytes(32),
              fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0, device.keyIndex] },
              timestamp: ctx.now(),
            },
          },
        ],
      },
    },
  };
  for (const message of [history, keyShare]) {
    await sendToDevice(ctx, account, device, sender, {
      id: newMessageId(),
      message,
      type: 'protocol',
      category: 'peer',
    });
  }
}

/** At login: everything queued for the device, marked offline, then the offline marker (§12.5). */
export function flushQueue(
  ctx: MdContext,
  connection: MdConnection,
  session: Extract<ConnSession, { kind: 'authenticated' }>,
): number {
  const queued = session.device.queue;
  for (const stanza of queued) connection.sendNode(messageStanza(stanza, true));
  connection.sendNode(offlineMarker(queued.length));
  session.live = true;
  ctx.log.info({ device: session.jid, count: queued.length }, 'md: offline messages delivered');
  return queued.length;
}

/** The device has the message (ack or receipt): it leaves the queue. */
export function acknowledge(ctx: MdContext, device: MdDevice, id: string): void {
  const index = device.queue.findIndex((stanza) => stanza.id === id);
  if (index < 0) return;
  device.queue.splice(index, 1);
  ctx.state.changed();
}
