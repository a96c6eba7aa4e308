// Incoming MD messages (docs/protocol-md.md §12): the `<message>` stanza read into an envelope, its
// `<enc>` decrypted with the Signal protocol (`pkmsg` opens a session and uses up a one-time pre-key,
// `msg` continues one), the padding stripped (§12.3) and the Message protobuf read (message-content.ts).
// decryptMdMessage never throws: what cannot be read is `undecryptable` with a typed reason, and the
// caller acks it like any other message (§12.4).
import { CodecError, type md, md as mdCodec } from '../../codec/index.ts';
import { isCryptoError } from '../../crypto/index.ts';
import {
  parseSenderKeyRecord,
  processSenderKeyDistribution,
  type SignalAddress,
  type SignalKeyStore,
  type SignalMessageType,
  senderKeyDecrypt,
  serializeSenderKeyRecord,
  signalDecrypt,
  unpadMessage,
} from '../../crypto/md/index.ts';
import { type MdDecryptedContent, type MdUndecryptableReason, mdMessageContent } from './message-content.ts';

/** One `<enc>` child: the Signal message and how it is encrypted. */
export interface MdEnc {
  /** `pkmsg`, `msg`, `skmsg` (group), or what a newer server sends. */
  type: string;
  /** The `v` attribute; 2 (what §12.2 describes) when absent. */
  v?: number;
  body: Uint8Array;
  mediatype?: string;
}

/** A `<message>` stanza's attributes and encrypted parts (§12.2). */
export interface MdEnvelope {
  id: string;
  /** The chat: the sender for a direct message, the group for a group message. */
  from: string;
  /** The sending device in a group or broadcast. */
  participant?: string;
  /** Unix seconds (0 when the stanza carries none). */
  t: number;
  type?: string;
  notify?: string;
  category?: string;
  /** Delivered from the offline queue at login (§12.5). */
  offline?: boolean;
  encs: MdEnc[];
}

/**
 * A companion that decrypts through a store with batch() (MdSignalStore) saves once per message; one with
 * sender keys reads group messages.
 */
export type MdDecryptStore = SignalKeyStore & {
  batch?<T>(task: () => Promise<T>): Promise<T>;
  loadSenderKey?(name: string): string | null;
  storeSenderKey?(name: string, record: string): Promise<void>;
};

/** Reads a `<message>` stanza. CodecError BAD_NODE / MISSING_ATTR / BAD_ATTR when it is not one. */
export function parseMdEnvelope(node: md.MdNode): MdEnvelope {
  if (node?.tag !== 'message') throw new CodecError('BAD_NODE', 'not a <message> stanza');
  const id = mdCodec.requireAttr(node, 'id');
  const from = mdCodec.requireAttr(node, 'from');
  const t = mdCodec.getIntAttr(node, 't') ?? 0;
  const encs: MdEnc[] = [];
  for (const child of mdCodec.findChildren(node, 'enc')) {
    const type = mdCodec.requireAttr(child, 'type');
    const v = mdCodec.getIntAttr(child, 'v') ?? 2;
    const mediatype = mdCodec.getAttr(child, 'mediatype');
    encs.push({ type, v, body: mdCodec.contentBytes(child), ...(mediatype ? { mediatype } : {}) });
  }
  const optional = (name: string) => {
    const value = mdCodec.getAttr(node, name);
    return value === undefined ? {} : { [name]: value };
  };
  return {
    id,
    from,
    ...optional('participant'),
    t,
    ...optional('type'),
    ...optional('notify'),
    ...optional('category'),
    offline: mdCodec.getAttr(node, 'offline') !== undefined,
    encs,
  };
}

/**
 * The Signal address of a sending device (§12.1): the JID's user, `_1` for a LID (`_128` hosted, `_129`
 * hosted LID), and its device (0, the primary, when the JID names none).
 */
export function mdSignalAddress(jid: string): SignalAddress {
  const parsed = mdCodec.parseMdJid(jid);
  if (parsed.user === '') throw new CodecError('BAD_JID', `${jid.slice(0, 80)} is a server, not a device`);
  const domain =
    parsed.server === 'lid' ? 1 : parsed.server === 'hosted' ? 128 : parsed.server === 'hosted.lid' ? 129 : 0;
  return {
    name: domain === 0 ? parsed.user : `${parsed.user}_${domain}`,
    deviceId: parsed.device ?? 0,
  };
}

function isGroupJid(jid: string): boolean {
  const server = mdCodec.tryParseMdJid(jid)?.server;
  return server === 'g.us' || server === 'broadcast';
}

/** The device that encrypted the message: the participant in a group, else the sender. */
export function mdSenderJid(envelope: MdEnvelope): string {
  if (isGroupJid(envelope.from)) {
    if (!envelope.participant) throw new CodecError('MISSING_ATTR', 'a group message without a participant');
    return envelope.participant;
  }
  return envelope.from;
}

function undecryptable(reason: MdUndecryptableReason, detail?: string): MdDecryptedContent {
  return { kind: 'undecryptable', reason, ...(detail ? { detail } : {}) };
}

function reasonOf(error: unknown): MdUndecryptableReason {
  if (!isCryptoError(error)) return 'bad-message';
  switch (error.code) {
    case 'SIGNAL_NO_SESSION':
      return 'no-session';
    case 'SIGNAL_PREKEY':
      return 'prekey';
    case 'SIGNAL_DUPLICATE':
      return 'duplicate';
    case 'SIGNAL_UNTRUSTED_IDENTITY':
      return 'untrusted-identity';
    case 'BAD_PADDING':
      return 'bad-padding';
    default:
      return 'bad-message';
  }
}

/** Decrypts one Signal part to a Message: the padding stripped (§12.3), the protobuf read. */
async function readPart(
  decrypt: () => Promise<Uint8Array>,
): Promise<{ message: md.Message } | { failed: MdDecryptedContent }> {
  let plaintext: Uint8Array;
  try {
    plaintext = unpadMessage(await decrypt());
  } catch (error) {
    // Never the error's message as a whole: a library message may describe key material.
    return { failed: undecryptable(reasonOf(error), isCryptoError(error) ? error.code : undefined) };
  }
  try {
    return { message: mdCodec.decodeMessage(plaintext) };
  } catch {
    return { failed: undecryptable('bad-protobuf') };
  }
}

const isV2 = (enc: MdEnc) => (enc.v ?? 2) === 2;

/** The sender key store's name for one member's key in one group (§12.6). */
export function senderKeyName(group: string, sender: SignalAddress): string {
  return `${group}::${sender.name}.${sender.deviceId}`;
}

async function decryptEnvelope(envelope: MdEnvelope, store: MdDecryptStore): Promise<MdDecryptedContent> {
  let sender: SignalAddress;
  try {
    sender = mdSignalAddress(mdSenderJid(envelope));
  } catch (error) {
    return undecryptable('bad-stanza', (error as Error).message);
  }
  const direct = envelope.encs.find((enc) => isV2(enc) && (enc.type === 'pkmsg' || enc.type === 'msg'));
  const group = envelope.encs.find((enc) => isV2(enc) && enc.type === 'skmsg');
  if (!direct && !group) {
    return undecryptable(
      'no-enc',
      envelope.encs.map((enc) => `${enc.type} v${enc.v ?? 2}`).join(', ') || undefined,
    );
  }
  let directContent: MdDecryptedContent | undefined;
  if (direct) {
    const part = await readPart(() =>
      signalDecrypt(store, sender, direct.type as SignalMessageType, direct.body),
    );
    if ('failed' in part && !group) return part.failed;
    if ('message' in part) {
      const distribution = part.message.senderKeyDistributionMessage;
      const groupJid = isGroupJid(envelope.from) ? envelope.from : distribution?.groupId;
      // In a group's own stanza the key is for that group only, whatever groupId claims.
      const forThisGroup =
        !isGroupJid(envelope.from) || !distribution?.groupId || distribution.groupId === envelope.from;
      if (
        groupJid &&
        forThisGroup &&
        distribution?.axolotlSenderKeyDistributionMessage &&
        store.storeSenderKey &&
        store.loadSenderKey
      ) {
        // §12.6: the member's sender key, for this group's skmsgs from this device.
        const name = senderKeyName(groupJid, sender);
        try {
          const previous = store.loadSenderKey(name);
          const record = processSenderKeyDistribution(
            previous ? parseSenderKeyRecord(previous) : null,
            distribution.axolotlSenderKeyDistributionMessage,
          );
          await store.storeSenderKey(name, serializeSenderKeyRecord(record));
        } catch {
          // A distribution that does not parse: the skmsg below will say no-sender-key.
        }
      }
      directContent = mdMessageContent(part.message);
      if (!group) return directContent;
    }
  }
  if (!group) return undecryptable('no-enc');
  if (!store.loadSenderKey || !store.storeSenderKey)
    return directContent ?? undecryptable('group-unsupported');
  const name = senderKeyName(envelope.from, sender);
  const saved = store.loadSenderKey(name);
  let next: string | undefined;
  const part = await readPart(async () => {
    const out = senderKeyDecrypt(saved ? parseSenderKeyRecord(saved) : null, group.body);
    next = serializeSenderKeyRecord(out.record);
    return out.plaintext;
  });
  if (next !== undefined) await store.storeSenderKey(name, next);
  if ('failed' in part) {
    // A pairwise part that said something still counts; otherwise the group part's reason.
    if (directContent && directContent.kind !== 'other') return directContent;
    const failed = part.failed;
    if (failed.kind === 'undecryptable' && failed.reason === 'no-session')
      return undecryptable('no-sender-key');
    return failed;
  }
  return mdMessageContent(part.message);
}

/**
 * Decrypts one `<message>` (a stanza or its parsed envelope) into its content. Never throws. With an
 * MdSignalStore every change it makes (the session, the used pre-key, the identity) is saved once, and
 * the content is returned once that save is durable, so acking after it never loses a session. If the save
 * fails the content is still returned: the store keeps the change and retries at its next save.
 */
export async function decryptMdMessage(
  input: md.MdNode | MdEnvelope,
  store: MdDecryptStore,
): Promise<MdDecryptedContent> {
  let envelope: MdEnvelope;
  try {
    envelope = 'tag' in input ? parseMdEnvelope(input) : input;
  } catch (error) {
    return undecryptable('bad-stanza', (error as Error).message);
  }
  let content: MdDecryptedContent | undefined;
  const run = async () => {
    content = await decryptEnvelope(envelope, store);
    return content;
  };
  try {
    await (store.batch ? store.batch(run) : run());
  } catch {
    // The save failed (the store reported it) or the store itself threw: decided below.
  }
  return content ?? undecryptable('bad-message', 'the key store failed');
}

/** What the socket actor reports for one message: its content, and whether the account's own phone sent it. */
export interface MdDecrypted {
  content: MdDecryptedContent;
  /** From the account's own devices (category `peer`, or the companion's own user): `peer_msg` receipts (§12.4, §13). */
  peer: boolean;
}

/**
 * The decryptor a session plugs into its socket: each envelope decrypted through the device's Signal store
 * (one save per message, before it resolves) and marked `peer` when it comes from the account itself.
 */
export function createMdDecryptor(device: {
  signal: MdDecryptStore;
  credentials: { me: { jid: string } | null };
}): (input: md.MdNode | MdEnvelope) => Promise<MdDecrypted> {
  return async (input) => {
    const content = await decryptMdMessage(input, device.signal);
    let peer = false;
    try {
      const envelope = 'tag' in input ? parseMdEnvelope(input) : input;
      const me = device.credentials.me;
      const own = me ? mdCodec.tryParseMdJid(me.jid) : undefined;
      const sender = mdCodec.tryParseMdJid(mdSenderJid(envelope));
      peer =
        envelope.category === 'peer' ||
        (!!own && !!sender && own.user === sender.user && own.server === sender.server);
    } catch {
      // A stanza too broken to say: decryptMdMessage already called it bad-stanza.
    }
    return { content, peer };
  };
}
