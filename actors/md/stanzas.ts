// The stanzas the companion sends (docs/protocol-md.md §6-§14), as binary-node builders. Pure: ids come
// from the caller, bytes are taken as given. The parser of what the server sends is parse.ts.
import { md } from '../../codec/index.ts';
import { beBytes } from '../../crypto/index.ts';

/** The server's JID as companions address it (§5.3: `@s.whatsapp.net` is the same server). */
export const SERVER_JID = 's.whatsapp.net';

type Node = md.MdNode;
const node = md.mdNode;

const utf8 = (text: string) => new TextEncoder().encode(text);

function iq(id: string, type: 'get' | 'set', xmlns: string, content: Node[]): Node {
  return node('iq', { id, to: SERVER_JID, type, xmlns }, content);
}

/** §6.1: the ack of `pair-device` (and of any server IQ that wants an empty result). */
export function iqResult(id: string): Node {
  return node('iq', { id, to: SERVER_JID, type: 'result' });
}

/** §6.6: the countersigned identity, `accountSignatureKey` already stripped, with `key-index` in decimal. */
export function pairDeviceSign(id: string, deviceIdentity: Uint8Array, keyIndex: number): Node {
  if (!Number.isSafeInteger(keyIndex) || keyIndex < 0) throw new TypeError(`bad key index ${keyIndex}`);
  return node('iq', { id, to: SERVER_JID, type: 'result' }, [
    node('pair-device-sign', {}, [
      node('device-identity', { 'key-index': String(keyIndex) }, deviceIdentity),
    ]),
  ]);
}

/** §6.6: the answer to a `pair-success` that failed a check: (401, hmac-mismatch), (500, internal-error)… */
export function errorIq(id: string, code: number, text: string): Node {
  return node('iq', { id, to: SERVER_JID, type: 'error' }, [node('error', { code: String(code), text })]);
}

export interface CompanionHelloInput {
  id: string;
  /** Digits only (§7.1). */
  phone: string;
  /** salt ‖ iv ‖ ct, 80 bytes (§7.2). */
  wrappedEphemeral: Uint8Array;
  /** The Noise static public key (§7.3 `companion_server_auth_key_pub`). */
  noisePublicKey: Uint8Array;
  /** One character of the web client type table (§6.2); default `1` (Chrome). */
  platformId?: string;
  /** `"<Browser> (<OS>)"`, checked by the server (§7.3); default `Chrome (Linux)`. */
  platformDisplay?: string;
  showPushNotification?: boolean;
}

/** §7.3, stage 1. The nonce is one 00 byte, as WA Web, whatsmeow and whatsapp-rust send it. */
export function companionHello(input: CompanionHelloInput): Node {
  return iq(input.id, 'set', 'md', [
    node(
      'link_code_companion_reg',
      {
        jid: `${input.phone}@s.whatsapp.net`,
        stage: 'companion_hello',
        should_show_push_notification: String(input.showPushNotification ?? true),
      },
      [
        node('link_code_pairing_wrapped_companion_ephemeral_pub', {}, input.wrappedEphemeral),
        node('companion_server_auth_key_pub', {}, input.noisePublicKey),
        node('companion_platform_id', {}, utf8(input.platformId ?? '1')),
        node('companion_platform_display', {}, utf8(input.platformDisplay ?? 'Chrome (Linux)')),
        node('link_code_pairing_nonce', {}, Uint8Array.of(0)),
      ],
    ),
  ]);
}

export interface CompanionFinishInput {
  id: string;
  phone: string;
  /** 156 bytes (§7.5). */
  wrappedKeyBundle: Uint8Array;
  identityPublicKey: Uint8Array;
  /** The ref of the `primary_hello` this answers. */
  ref: string;
}

/** §7.5, stage 3. */
export function companionFinish(input: CompanionFinishInput): Node {
  return iq(input.id, 'set', 'md', [
    node('link_code_companion_reg', { jid: `${input.phone}@s.whatsapp.net`, stage: 'companion_finish' }, [
      node('link_code_pairing_wrapped_key_bundle', {}, input.wrappedKeyBundle),
      node('companion_identity_public', {}, input.identityPublicKey),
      node('link_code_pairing_ref', {}, utf8(input.ref)),
    ]),
  ]);
}

/** §9: how many one-time pre-keys the server holds. */
export function preKeyCount(id: string): Node {
  return iq(id, 'get', 'encrypt', [node('count')]);
}

export interface PreKeyUploadInput {
  id: string;
  registrationId: number;
  identityPublicKey: Uint8Array;
  preKeys: { keyId: number; publicKey: Uint8Array }[];
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
}

/** §9: the one-time pre-keys (3-byte ids) and the signed pre-key. */
export function preKeyUpload(input: PreKeyUploadInput): Node {
  return iq(input.id, 'set', 'encrypt', [
    node('registration', {}, beBytes(input.registrationId, 4)),
    node('type', {}, Uint8Array.of(5)),
    node('identity', {}, input.identityPublicKey),
    node(
      'list',
      {},
      input.preKeys.map((key) =>
        node('key', {}, [node('id', {}, beBytes(key.keyId, 3)), node('value', {}, key.publicKey)]),
      ),
    ),
    node('skey', {}, [
      node('id', {}, beBytes(input.signedPreKey.keyId, 3)),
      node('value', {}, input.signedPreKey.publicKey),
      node('signature', {}, input.signedPreKey.signature),
    ]),
  ]);
}

/** §9: `passive active`, after which the server delivers. */
export function passiveActive(id: string): Node {
  return iq(id, 'set', 'passive', [node('active')]);
}

/** §11: the keep-alive. */
export function ping(id: string): Node {
  return iq(id, 'get', 'w:p', [node('ping')]);
}

export interface AckInput {
  id: string;
  to: string;
  class: string;
  type?: string;
  participant?: string;
}

/** §12.4: `<ack id to class type>` for every message, notification and receipt. */
export function ack(input: AckInput): Node {
  const attrs: md.MdAttrs = { id: input.id, to: input.to, class: input.class };
  if (input.type) attrs.type = input.type;
  if (input.participant) attrs.participant = input.participant;
  return node('ack', attrs);
}

export interface ReceiptInput {
  id: string;
  to: string;
  participant?: string;
  /** `inactive` (no presence sent, §12.4), `peer_msg`, `hist_sync`; absent: a delivery receipt. */
  type?: string;
}

export function receipt(input: ReceiptInput): Node {
  const attrs: md.MdAttrs = { id: input.id, to: input.to };
  if (input.participant) attrs.participant = input.participant;
  if (input.type) attrs.type = input.type;
  return node('receipt', attrs);
}

/** §14: logout. `jid` is the companion's own device JID. */
export function removeCompanionDevice(id: string, jid: string): Node {
  return iq(id, 'set', 'md', [node('remove-companion-device', { jid, reason: 'user_initiated' })]);
}

/** §9: what deployed companions ask once logged in; the answers are only logged. */
export function propsQuery(id: string, hash?: string): Node {
  return iq(id, 'get', 'w', [node('props', { protocol: '2', ...(hash ? { hash } : {}) })]);
}

export function blocklistQuery(id: string): Node {
  return node('iq', { id, to: SERVER_JID, type: 'get', xmlns: 'blocklist' });
}

export function privacyQuery(id: string): Node {
  return iq(id, 'get', 'privacy', [node('privacy')]);
}

/** §12.7: the device lists of users (`user@s.whatsapp.net`), for a message. */
export function usyncDevices(id: string, users: string[]): Node {
  return iq(id, 'get', 'usync', [
    node('usync', { sid: id, mode: 'query', last: 'true', index: '0', context: 'message' }, [
      node('query', {}, [node('devices', { version: '2' })]),
      node(
        'list',
        {},
        users.map((jid) => node('user', { jid })),
      ),
    ]),
  ]);
}

/** §12.7: one pre-key bundle per device JID. */
export function preKeyBundles(id: string, devices: string[]): Node {
  return iq(id, 'get', 'encrypt', [
    node(
      'key',
      {},
      devices.map((jid) => node('user', { jid, reason: 'identity' })),
    ),
  ]);
}

export interface OutgoingEnc {
  /** The device JID the `<enc>` is for. */
  jid: string;
  type: 'pkmsg' | 'msg';
  body: Uint8Array;
}

export interface TextMessageInput {
  id: string;
  /** The chat: the recipient's user JID. */
  to: string;
  encs: OutgoingEnc[];
  /** The companion's ADVSignedDeviceIdentity, sent along when an `<enc>` is a pkmsg (§12.7). */
  deviceIdentity?: Uint8Array;
}

/** §12.7: `<message to id type=text><participants><to jid><enc v=2 type/></to>…</participants>`. */
export function textMessage(input: TextMessageInput): Node {
  const content: Node[] = [
    node(
      'participants',
      {},
      input.encs.map((enc) =>
        node('to', { jid: enc.jid }, [node('enc', { v: '2', type: enc.type }, enc.body)]),
      ),
    ),
  ];
  if (input.deviceIdentity && input.encs.some((enc) => enc.type === 'pkmsg')) {
    content.push(node('device-identity', {}, input.deviceIdentity));
  }
  return node('message', { to: input.to, id: input.id, type: 'text' }, content);
}
