// Sending a text from the companion (docs/protocol-md.md §12.7): the recipient's devices and the account's
// own other devices from usync (cached briefly), a pre-key bundle for each device without a session (one
// fetch for all of them), one Signal message per device (`pkmsg` while a session waits for its first
// answer, then `msg`) with the account's own devices getting the text wrapped as a deviceSentMessage, and
// the `<message><participants>` stanza. Every change to the Signal state is saved once per send. What goes
// wrong is an MdSendError with a typed code: the socket reports it as an event, never a throw.
import { md } from '../../codec/index.ts';
import { isCryptoError } from '../../crypto/index.ts';
import {
  padMessage,
  type SignalKeyStore,
  type SignalPreKeyBundle,
  signalEncrypt,
  signalStartSession,
} from '../../crypto/md/index.ts';
import type { MdSendFailure } from '../../machines/index.ts';
import { mdSignalAddress } from './decrypt.ts';
import * as stanzas from './stanzas.ts';

export class MdSendError extends Error {
  override readonly name = 'MdSendError';
  constructor(
    readonly code: MdSendFailure,
    message: string,
  ) {
    super(message);
  }
}

export function isMdSendError(value: unknown): value is MdSendError {
  return value instanceof MdSendError;
}

/** Device lists by user JID, kept `ttlMs` (default 60 s): a burst of sends asks usync once. */
export class MdDeviceCache {
  private readonly lists = new Map<string, { devices: string[]; at: number }>();
  constructor(
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxUsers = 1000,
  ) {}

  get(user: string): string[] | null {
    const entry = this.lists.get(user);
    if (!entry) return null;
    if (this.now() - entry.at > this.ttlMs) {
      this.lists.delete(user);
      return null;
    }
    return entry.devices;
  }

  set(user: string, devices: string[]): void {
    this.lists.delete(user);
    this.lists.set(user, { devices, at: this.now() });
    if (this.lists.size > this.maxUsers) this.lists.delete(this.lists.keys().next().value!);
  }

  /** Forgets a user's list (a message to it went wrong: ask again next time). */
  drop(user: string): void {
    this.lists.delete(user);
  }
}

export type MdSendStore = SignalKeyStore & { batch?<T>(task: () => Promise<T>): Promise<T> };

export interface MdSendContext {
  /** The companion's own device JID (`user:device@s.whatsapp.net`). */
  me: string;
  /** ADVSignedDeviceIdentity, sent with a pkmsg (§12.7). */
  account: Uint8Array | null;
  store: MdSendStore;
  cache: MdDeviceCache;
  /** Sends an IQ built with the given id and resolves with its answer (result or error). */
  query(build: (id: string) => md.MdNode): Promise<md.MdNode>;
  send(node: md.MdNode): void;
}

export interface MdSendResult {
  to: string;
  /** The devices an `<enc>` went to, with its type. */
  encs: { jid: string; type: 'pkmsg' | 'msg' }[];
}

/** The user JID of a recipient (`123@s.whatsapp.net`, `123@c.us`, or one of its devices). */
export function recipientUser(jid: string): string {
  const parsed = typeof jid === 'string' ? md.tryParseMdJid(jid) : undefined;
  if (
    !parsed ||
    !/^\d{5,20}$/.test(parsed.user) ||
    (parsed.server !== 's.whatsapp.net' && parsed.server !== 'c.us')
  )
    throw new MdSendError('badJid', `${String(jid).slice(0, 80)} is not a user JID`);
  return `${parsed.user}@s.whatsapp.net`;
}

function deviceJidOf(user: string, device: number): string {
  const at = user.indexOf('@');
  return device === 0 ? user : `${user.slice(0, at)}:${device}${user.slice(at)}`;
}

function failIfError(answer: md.MdNode, what: string): void {
  if (answer.attrs.type !== 'error') return;
  const error = md.findChild(answer, 'error');
  throw new MdSendError(
    'iqError',
    `${what} answered ${error?.attrs.code ?? '?'} ${(error?.attrs.text ?? '').slice(0, 60)}`,
  );
}

/** §12.7: usync's device lists for users not in the cache. */
async function devicesOf(ctx: MdSendContext, users: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const missing: string[] = [];
  for (const user of users) {
    const cached = ctx.cache.get(user);
    if (cached) out.set(user, cached);
    else missing.push(user);
  }
  if (missing.length === 0) return out;
  const answer = await ctx.query((id) => stanzas.usyncDevices(id, missing));
  failIfError(answer, 'usync');
  const list = md.findChild(md.findChild(answer, 'usync') ?? answer, 'list');
  for (const user of missing) out.set(user, []);
  for (const entry of list ? md.findChildren(list, 'user') : []) {
    const jid = entry.attrs.jid;
    if (!jid || !out.has(jid)) continue;
    const deviceList = md.findChild(md.findChild(entry, 'devices') ?? entry, 'device-list');
    const ids = (deviceList ? md.findChildren(deviceList, 'device') : [])
      .map((device) => md.getIntAttr(device, 'id'))
      .filter((id): id is number => id !== undefined && id >= 0 && id < 1000);
    out.set(
      jid,
      [...new Set(ids)].map((id) => deviceJidOf(jid, id)),
    );
  }
  for (const user of missing) ctx.cache.set(user, out.get(user)!);
  return out;
}

function bigEndian(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

function bytes(parent: md.MdNode | undefined, tag: string, length: number): Uint8Array | null {
  const child = parent && md.findChild(parent, tag);
  if (!child || !(child.content instanceof Uint8Array) || child.content.length !== length) return null;
  return child.content;
}

/** One `<user>` of the bundle answer (whatsmeow prekeys.go nodeToPreKeyBundle), or null. */
function readBundle(user: md.MdNode): SignalPreKeyBundle | null {
  if (md.findChild(user, 'error')) return null;
  const registration = bytes(user, 'registration', 4);
  const keys = md.findChild(user, 'keys') ?? user;
  const identity = bytes(keys, 'identity', 32);
  const skey = md.findChild(keys, 'skey');
  const skeyId = bytes(skey, 'id', 3);
  const skeyValue = bytes(skey, 'value', 32);
  const signature = bytes(skey, 'signature', 64);
  if (!registration || !identity || !skeyId || !skeyValue || !signature) return null;
  const key = md.findChild(keys, 'key');
  const keyId = bytes(key, 'id', 3);
  const keyValue = bytes(key, 'value', 32);
  return {
    registrationId: bigEndian(registration),
    identityKey: identity,
    signedPreKey: { keyId: bigEndian(skeyId), publicKey: skeyValue, signature },
    ...(keyId && keyValue ? { preKey: { keyId: bigEndian(keyId), publicKey: keyValue } } : {}),
  };
}

/** §12.7: one bundle per device, in one IQ; a device without one is left out. */
async function bundlesOf(ctx: MdSendContext, devices: string[]): Promise<Map<string, SignalPreKeyBundle>> {
  const out = new Map<string, SignalPreKeyBundle>();
  if (devices.length === 0) return out;
  const answer = await ctx.query((id) => stanzas.preKeyBundles(id, devices));
  failIfError(answer, 'the pre-key fetch');
  const list = md.findChild(answer, 'list');
  const wanted = new Set(devices);
  for (const user of list ? md.findChildren(list, 'user') : []) {
    const jid = user.attrs.jid;
    if (!jid || !wanted.has(jid)) continue;
    const bundle = readBundle(user);
    if (bundle) out.set(jid, bundle);
  }
  return out;
}

const sessionName = (jid: string) => {
  const address = mdSignalAddress(jid);
  return `${address.name}.${address.deviceId}`;
};

/**
 * Sends `text` to `jid` as message `id` and resolves with where it went; rejects with MdSendError only.
 * The server's ack arrives later, as a stanza of its own.
 */
export async function sendMdText(
  ctx: MdSendContext,
  input: { jid: string; text: string; id: string },
): Promise<MdSendResult> {
  const to = recipientUser(input.jid);
  const me = md.tryParseMdJid(ctx.me);
  if (!me) throw new MdSendError('badJid', 'the companion has no device JID');
  const own = `${me.user}@s.whatsapp.net`;
  const lists = await devicesOf(ctx, to === own ? [own] : [to, own]);
  const theirs = (lists.get(to) ?? []).filter((jid) => jid !== deviceJidOf(own, me.device ?? 0));
  if (theirs.length === 0) {
    ctx.cache.drop(to);
    throw new MdSendError('noDevices', `${to} has no devices`);
  }
  const ours =
    to === own ? [] : (lists.get(own) ?? []).filter((jid) => jid !== deviceJidOf(own, me.device ?? 0));
  const all = [...theirs, ...ours];
  const withoutSession: string[] = [];
  for (const jid of all) if (!(await ctx.store.loadSession(sessionName(jid)))) withoutSession.push(jid);
  const bundles = await bundlesOf(ctx, withoutSession);

  const message = md.encodeMessage({ conversation: input.text });
  const copy = md.encodeMessage({
    deviceSentMessage: { destinationJid: to, message: { conversation: input.text } },
  });
  const encs: stanzas.OutgoingEnc[] = [];
  let lastError: unknown = null;
  const encryptAll = async () => {
    for (const jid of all) {
      const address = mdSignalAddress(jid);
      try {
        if (withoutSession.includes(jid)) {
          const bundle = bundles.get(jid);
          if (!bundle) continue;
          await signalStartSession(ctx.store, address, bundle);
        }
        const cipher = await signalEncrypt(
          ctx.store,
          address,
          padMessage(theirs.includes(jid) ? message : copy),
        );
        encs.push({ jid, type: cipher.type, body: cipher.body });
      } catch (error) {
        if (!isCryptoError(error)) throw error;
        lastError = error;
      }
    }
  };
  // One save for every session this send starts or advances (md-store's batch).
  await (ctx.store.batch ? ctx.store.batch(encryptAll) : encryptAll());
  if (!encs.some((enc) => theirs.includes(enc.jid))) {
    ctx.cache.drop(to);
    const bundleless = theirs.every((jid) => withoutSession.includes(jid) && !bundles.has(jid));
    if (bundleless) throw new MdSendError('bundleMissing', `no pre-key bundle for any device of ${to}`);
    throw new MdSendError(
      'encryptFailed',
      `no device of ${to} could be encrypted for${isCryptoError(lastError) ? ` (${lastError.code})` : ''}`,
    );
  }
  ctx.send(
    stanzas.textMessage({
      id: input.id,
      to,
      encs,
      ...(ctx.account ? { deviceIdentity: ctx.account } : {}),
    }),
  );
  return { to, encs: encs.map(({ jid, type }) => ({ jid, type })) };
}
