// Who is on the emulated WhatsApp and how to reach their devices (docs/protocol-md.md §12.7): the usync
// device-list query and the pre-key bundle fetch a companion sends before it encrypts a message. A user is
// an account (a phone number with its phone as device 0 and its linked companions) or a contact (device 0
// only). Every bundle hands out one one-time pre-key, never again.
import { md } from '../../codec/index.ts';
import { beBytes } from '../../crypto/index.ts';
import type { SignalPreKeyBundle } from '../../crypto/md/index.ts';
import type { MdContext } from './context.ts';
import { partyBundle } from './signal-party.ts';
import { iqError, iqResult } from './stanzas.ts';
import type { MdAccount, MdContact } from './state.ts';

type MdNode = md.MdNode;
const { mdNode } = md;

/** Users one usync answers, and devices one bundle fetch answers, at most. */
export const MAX_USYNC_USERS = 64;
export const MAX_BUNDLES = 64;

type Known = { kind: 'account'; account: MdAccount } | { kind: 'contact'; contact: MdContact };

/** The user a JID names (any device of it), when the emulator knows them. */
function knownUser(ctx: MdContext, jid: string | undefined): { user: Known; device: number } | null {
  const parsed = jid ? md.tryParseMdJid(jid) : undefined;
  if (!parsed || parsed.user === '' || (parsed.server !== 's.whatsapp.net' && parsed.server !== 'c.us'))
    return null;
  const device = parsed.device ?? 0;
  const account = ctx.state.accounts.get(parsed.user);
  if (account) return { user: { kind: 'account', account }, device };
  const contact = ctx.state.contacts.get(`${parsed.user}@s.whatsapp.net`);
  return contact ? { user: { kind: 'contact', contact }, device } : null;
}

/**
 * `iq xmlns=usync type=get <usync context=message mode=query><query><devices version=2/></query>
 * <list><user jid/>…</list></usync>` → the same usync with `<list><user jid><devices><device-list>
 * <device id/>…</device-list></devices></user>…</list>`. A user the emulator does not know comes back with
 * an empty device list.
 */
export function answerUsync(ctx: MdContext, iq: MdNode): MdNode {
  const id = iq.attrs.id!;
  const usync = md.findChild(iq, 'usync');
  const query = usync && md.findChild(usync, 'query');
  const list = usync && md.findChild(usync, 'list');
  if (!usync || !query || !list) return iqError(id, 400, 'bad-request');
  const users = md.findChildren(list, 'user');
  if (users.length > MAX_USYNC_USERS) return iqError(id, 400, 'bad-request');
  const wantsDevices = md.findChild(query, 'devices') !== undefined;
  const answered = users.map((user) => {
    const jid = user.attrs.jid ?? '';
    const known = knownUser(ctx, jid);
    const parsed = md.tryParseMdJid(jid);
    const userJid = parsed && parsed.user !== '' ? `${parsed.user}@s.whatsapp.net` : jid.slice(0, 80);
    if (!wantsDevices) return mdNode('user', { jid: userJid });
    const devices: MdNode[] = [];
    if (known?.user.kind === 'contact') devices.push(mdNode('device', { id: '0' }));
    if (known?.user.kind === 'account') {
      devices.push(mdNode('device', { id: '0' }));
      for (const device of known.user.account.devices.values()) {
        devices.push(mdNode('device', { id: String(device.id), 'key-index': String(device.keyIndex) }));
      }
    }
    return mdNode('user', { jid: userJid }, [mdNode('devices', {}, [mdNode('device-list', {}, devices)])]);
  });
  const attrs: Record<string, string> = { mode: usync.attrs.mode ?? 'query', last: 'true', index: '0' };
  if (usync.attrs.sid) attrs.sid = usync.attrs.sid.slice(0, 64);
  if (usync.attrs.context) attrs.context = usync.attrs.context.slice(0, 32);
  return iqResult(id, [mdNode('usync', attrs, [mdNode('list', {}, answered)])]);
}

/** The bundle of one device of a known user; null when there is no such device. */
function bundleOf(ctx: MdContext, known: Known, device: number): SignalPreKeyBundle | null {
  const changed = () => ctx.state.changed();
  if (known.kind === 'contact') return device === 0 ? partyBundle(known.contact, changed) : null;
  if (device === 0) return partyBundle(known.account, changed);
  const companion = known.account.devices.get(device);
  if (!companion) return null;
  const preKey = companion.preKeys.shift();
  changed();
  return {
    registrationId: companion.registrationId,
    identityKey: companion.identity,
    signedPreKey: companion.signedPreKey,
    ...(preKey ? { preKey } : {}),
  };
}

function bundleNode(jid: string, bundle: SignalPreKeyBundle): MdNode {
  const content: MdNode[] = [
    mdNode('registration', {}, beBytes(bundle.registrationId, 4)),
    mdNode('type', {}, Uint8Array.of(0x05)),
    mdNode('identity', {}, bundle.identityKey),
  ];
  if (bundle.preKey) {
    content.push(
      mdNode('key', {}, [
        mdNode('id', {}, beBytes(bundle.preKey.keyId, 3)),
        mdNode('value', {}, bundle.preKey.publicKey),
      ]),
    );
  }
  content.push(
    mdNode('skey', {}, [
      mdNode('id', {}, beBytes(bundle.signedPreKey.keyId, 3)),
      mdNode('value', {}, bundle.signedPreKey.publicKey),
      mdNode('signature', {}, bundle.signedPreKey.signature),
    ]),
  );
  return mdNode('user', { jid }, content);
}

/**
 * `iq xmlns=encrypt type=get <key><user jid=device reason=identity/>…</key>` → `<list><user jid>
 * <registration/><type/><identity/><key><id/><value/></key><skey><id/><value/><signature/></skey></user>…
 * </list>`; a device the emulator does not know is `<user jid><error code=404 text=item-not-found/></user>`.
 */
export function answerBundles(ctx: MdContext, iq: MdNode): MdNode {
  const id = iq.attrs.id!;
  const key = md.findChild(iq, 'key')!;
  const users = md.findChildren(key, 'user');
  if (users.length === 0 || users.length > MAX_BUNDLES) return iqError(id, 400, 'bad-request');
  const answered = users.map((user) => {
    const jid = (user.attrs.jid ?? '').slice(0, 80);
    const known = knownUser(ctx, jid);
    const bundle = known ? bundleOf(ctx, known.user, known.device) : null;
    if (!bundle) return mdNode('user', { jid }, [mdNode('error', { code: '404', text: 'item-not-found' })]);
    return bundleNode(jid, bundle);
  });
  return iqResult(id, [mdNode('list', {}, answered)]);
}
