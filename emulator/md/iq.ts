// The IQs an authenticated companion sends and their answers (docs/protocol-md.md §9, §14): each row of
// the table is one handler, named `xmlns type child` in the counters. An IQ no row matches is answered
// `<error code=501 text=feature-not-implemented>` and counted by name: never silence.
import { md } from '../../codec/index.ts';
import { concatBytes, constantTimeEqual, sha256, toHex } from '../../crypto/index.ts';
import { xeddsaVerify } from '../../crypto/md/index.ts';
import type { MdConnection } from './connection.ts';
import { type ConnSession, deviceJid, type MdContext } from './context.ts';
import { bootstrapDevice } from './delivery.ts';
import { unlinkDevice } from './devices.ts';
import { answerBundles, answerUsync } from './directory.ts';
import { iqError, iqResult } from './stanzas.ts';
import type { PreKeyRecord } from './state.ts';

type MdNode = md.MdNode;
type Authenticated = Extract<ConnSession, { kind: 'authenticated' }>;

/** What a handler returns: the answer to send (or nothing, when it answered itself). */
type Answer = MdNode | undefined;

interface IqRow {
  xmlns: string;
  type: 'get' | 'set';
  /** The first child's tag, or null when the row matches any. */
  child: string | null;
  handle(
    ctx: MdContext,
    connection: MdConnection,
    session: Authenticated,
    iq: MdNode,
  ): Answer | Promise<Answer>;
}

/** The server keeps at most this many one-time pre-keys per device (WhatsApp's limit is 812). */
export const MAX_PRE_KEYS = 812;
/** App-state collections answered per sync IQ at most. */
const MAX_COLLECTIONS = 32;

const PROPS: [string, string][] = [
  ['max_participants', '1024'],
  ['media_max_size_mb', '100'],
  ['group_max_subject', '100'],
  ['status_v3_text', '1'],
];
const PROPS_HASH = toHex(sha256(new TextEncoder().encode(JSON.stringify(PROPS)))).slice(0, 8);

const PRIVACY: [string, string][] = [
  ['last', 'all'],
  ['online', 'all'],
  ['profile', 'all'],
  ['status', 'contacts'],
  ['groupadd', 'all'],
  ['readreceipts', 'all'],
  ['calladd', 'all'],
];

function bytesOf(node: MdNode | undefined, length?: number): Uint8Array | null {
  if (!node || node.content === undefined || Array.isArray(node.content)) return null;
  const bytes = md.contentBytes(node);
  return length === undefined || bytes.length === length ? bytes : null;
}

function bigEndian(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

function badRequest(iq: MdNode): MdNode {
  return iqError(iq.attrs.id!, 400, 'bad-request');
}

/** §9: `iq encrypt set`: registration id, identity, one-time pre-keys and the signed pre-key. */
function uploadPreKeys(ctx: MdContext, session: Authenticated, iq: MdNode): MdNode {
  const { device } = session;
  const registration = bytesOf(md.findChild(iq, 'registration'), 4);
  const type = bytesOf(md.findChild(iq, 'type'), 1);
  const identity = bytesOf(md.findChild(iq, 'identity'), 32);
  if (!registration || type?.[0] !== 0x05 || !identity) return badRequest(iq);
  // The identity is the one the device registered with; a different one is another device.
  if (!constantTimeEqual(identity, device.identity)) return iqError(iq.attrs.id!, 406, 'not-acceptable');
  const keys = md.findChildren(md.findChild(iq, 'list') ?? md.mdNode('list'), 'key');
  if (keys.length > MAX_PRE_KEYS) return badRequest(iq);
  const preKeys: PreKeyRecord[] = [];
  for (const key of keys) {
    const id = bytesOf(md.findChild(key, 'id'), 3);
    const value = bytesOf(md.findChild(key, 'value'), 32);
    if (!id || !value) return badRequest(iq);
    preKeys.push({ keyId: bigEndian(id), publicKey: value });
  }
  const skey = md.findChild(iq, 'skey');
  if (skey) {
    const id = bytesOf(md.findChild(skey, 'id'), 3);
    const value = bytesOf(md.findChild(skey, 'value'), 32);
    const signature = bytesOf(md.findChild(skey, 'signature'), 64);
    if (!id || !value || !signature) return badRequest(iq);
    if (!xeddsaVerify(device.identity, concatBytes(Uint8Array.of(0x05), value), signature)) {
      return iqError(iq.attrs.id!, 406, 'not-acceptable');
    }
    device.signedPreKey = { keyId: bigEndian(id), publicKey: value, signature };
  }
  device.registrationId = bigEndian(registration);
  const known = new Set(device.preKeys.map((key) => key.keyId));
  for (const key of preKeys) if (!known.has(key.keyId)) device.preKeys.push(key);
  if (device.preKeys.length > MAX_PRE_KEYS) device.preKeys.splice(0, device.preKeys.length - MAX_PRE_KEYS);
  ctx.state.changed();
  return iqResult(iq.attrs.id!);
}

/** §9: `w:sync:app:state`: every collection asked for comes back, at the version asked, without patches. */
function appStateSync(iq: MdNode): MdNode {
  const sync = md.findChild(iq, 'sync');
  const collections = sync ? md.findChildren(sync, 'collection') : [];
  if (!sync || collections.length > MAX_COLLECTIONS) return badRequest(iq);
  const answered = collections.map((collection) =>
    md.mdNode('collection', {
      name: collection.attrs.name ?? '',
      version: /^\d{1,15}$/.test(collection.attrs.version ?? '') ? collection.attrs.version! : '0',
    }),
  );
  return iqResult(iq.attrs.id!, [md.mdNode('sync', {}, answered)]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

/**
 * §14: logout. Only the device itself can be removed this way. A `logout` fault closes the socket instead
 * (the device stays linked) or answers late.
 */
async function removeCompanion(
  ctx: MdContext,
  connection: MdConnection,
  session: Authenticated,
  iq: MdNode,
): Promise<Answer> {
  const remove = md.findChild(iq, 'remove-companion-device')!;
  const jid = md.tryParseMdJid(remove.attrs.jid ?? '');
  const own = jid && jid.user === session.account.number && (jid.device ?? 0) === session.device.id;
  if (!own) return iqError(iq.attrs.id!, 403, 'forbidden');
  const fault = ctx.faults.atStep('logout');
  if (fault && 'close' in fault) {
    connection.close('fault: closeSocket at logout');
    return undefined;
  }
  if (fault) {
    await sleep(fault.delayMs);
    if (!connection.isOpen) return undefined;
  }
  connection.sendNode(iqResult(iq.attrs.id!));
  ctx.log.info(
    { device: deviceJid(session.account, session.device), reason: remove.attrs.reason },
    'md: logout',
  );
  unlinkDevice(ctx, session.account, session.device.id, 'logout');
  return undefined;
}

export const IQ_TABLE: IqRow[] = [
  { xmlns: 'w:p', type: 'get', child: 'ping', handle: (_c, _k, _s, iq) => iqResult(iq.attrs.id!) },
  {
    xmlns: 'encrypt',
    type: 'get',
    child: 'count',
    handle: (_c, _k, session, iq) =>
      iqResult(iq.attrs.id!, [md.mdNode('count', { value: String(session.device.preKeys.length) })]),
  },
  {
    xmlns: 'encrypt',
    type: 'get',
    child: 'key',
    handle: (ctx, _k, _s, iq) => answerBundles(ctx, iq),
  },
  { xmlns: 'usync', type: 'get', child: 'usync', handle: (ctx, _k, _s, iq) => answerUsync(ctx, iq) },
  {
    xmlns: 'encrypt',
    type: 'set',
    child: null,
    handle: (ctx, _k, session, iq) => uploadPreKeys(ctx, session, iq),
  },
  {
    xmlns: 'passive',
    type: 'set',
    child: null,
    handle: (ctx, connection, session, iq) => {
      connection.sendNode(iqResult(iq.attrs.id!));
      // §13: once the device is active for the first time, the phone shares history and app-state keys.
      if (md.findChild(iq, 'active') && !session.device.bootstrapped) {
        bootstrapDevice(ctx, session.account, session.device).catch((error: unknown) =>
          ctx.log.warn({ err: (error as Error).message }, 'md: phone bootstrap failed'),
        );
      }
      return undefined;
    },
  },
  {
    xmlns: 'w',
    type: 'get',
    child: 'props',
    handle: (_c, _k, _s, iq) =>
      iqResult(iq.attrs.id!, [
        md.mdNode(
          'props',
          { protocol: '2', hash: PROPS_HASH },
          PROPS.map(([name, value]) => md.mdNode('prop', { name, value })),
        ),
      ]),
  },
  {
    xmlns: 'blocklist',
    type: 'get',
    child: null,
    handle: (_c, _k, _s, iq) => iqResult(iq.attrs.id!, [md.mdNode('list')]),
  },
  {
    xmlns: 'privacy',
    type: 'get',
    child: 'privacy',
    handle: (_c, _k, _s, iq) =>
      iqResult(iq.attrs.id!, [
        md.mdNode(
          'privacy',
          {},
          PRIVACY.map(([name, value]) => md.mdNode('category', { name, value })),
        ),
      ]),
  },
  { xmlns: 'w:sync:app:state', type: 'set', child: 'sync', handle: (_c, _k, _s, iq) => appStateSync(iq) },
  { xmlns: 'md', type: 'set', child: 'remove-companion-device', handle: removeCompanion },
];

/** `xmlns type child`: how IQs are named in logs and counters. */
export function iqName(iq: MdNode): string {
  const first = md.childNodes(iq)[0]?.tag ?? '-';
  return `${iq.attrs.xmlns ?? '-'} ${iq.attrs.type ?? '-'} ${first}`;
}

/** Answers one get/set IQ of an authenticated companion. */
export async function answerIq(
  ctx: MdContext,
  connection: MdConnection,
  session: Authenticated,
  iq: MdNode,
): Promise<void> {
  const forced = ctx.faults.take(
    'iqError',
    (rule) => rule.xmlns === iq.attrs.xmlns && (rule.type === undefined || rule.type === iq.attrs.type),
  );
  if (forced) {
    connection.sendNode(iqError(iq.attrs.id!, forced.code, 'fault'));
    return;
  }
  const first = md.childNodes(iq)[0]?.tag;
  const row = IQ_TABLE.find(
    (r) => r.xmlns === iq.attrs.xmlns && r.type === iq.attrs.type && (r.child === null || r.child === first),
  );
  if (!row) {
    const name = iqName(iq);
    ctx.count(ctx.stats.unhandledIqs, name);
    ctx.log.info({ conn: connection.id, iq: name }, 'md: IQ not modelled, answered 501');
    connection.sendNode(iqError(iq.attrs.id!, 501, 'feature-not-implemented'));
    return;
  }
  const answer = await row.handle(ctx, connection, session, iq);
  if (answer) connection.sendNode(answer);
}
