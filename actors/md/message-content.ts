// A decrypted MD Message protobuf as the application wants it (the contract's MdMessageContent,
// docs/protocol-md.md §12.3, §13): a text, an extended text, a media reference the media pipeline takes as
// it takes legacy's (workers/media-job.ts, the key schedules of crypto/media.ts), a history-sync
// notification, an app-state key share, or what walink does not read. Pure: no I/O, no throwing.
import type { MediaReference, MessageMediaType } from '../../codec/index.ts';
import { type md, md as mdCodec } from '../../codec/index.ts';
import { type MediaLocation, mediaFields } from '../../crypto/index.ts';
import type { MdMessageContent } from '../../machines/index.ts';

/** Why a message could not be read; the message is still acked (§12.4) and the reason reported. */
export type MdUndecryptableReason =
  /** The stanza lacks what a message needs (id, from, a readable JID). */
  | 'bad-stanza'
  /** No `<enc>` child, or none walink can read (an unknown type or `v`). */
  | 'no-enc'
  /** A group message (`skmsg`) through a key store without sender keys. */
  | 'group-unsupported'
  /** A group message from a member whose sender key never arrived (§12.6). */
  | 'no-sender-key'
  /** A `msg` with no session to decrypt it (the session was lost, or never opened). */
  | 'no-session'
  /** A `pkmsg` naming a one-time or signed pre-key walink does not have (used or never uploaded). */
  | 'prekey'
  /** Its message key was already used: a redelivery of a message already decrypted. */
  | 'duplicate'
  | 'untrusted-identity'
  /** The Signal message does not authenticate or does not parse. */
  | 'bad-message'
  /** Decrypted, but the plaintext is not padded as §12.3 says. */
  | 'bad-padding'
  /** Decrypted and unpadded, but not a Message protobuf. */
  | 'bad-protobuf';

/** A history-sync blob to fetch and decrypt with the `history` media keys (crypto/media.ts). */
export interface MdHistoryDownload extends MediaLocation {
  type: 'history';
  /** Secret. */
  mediaKey: Uint8Array;
}

/**
 * The machine's MdMessageContent (machines/md/md-types.ts) with more said: where a history sync can be
 * fetched, and a typed reason for what could not be read. Every value is an MdMessageContent.
 */
export type MdDecryptedContent =
  | { kind: 'text'; text: string }
  | { kind: 'extendedText'; text: string; matchedText?: string }
  | { kind: 'media'; media: MediaReference; caption?: string }
  | {
      kind: 'historySync';
      /** HISTORY_SYNC_TYPE (codec/md): NON_BLOCKING_DATA (5) has nothing to download; null when absent. */
      syncType: number | null;
      chunkOrder?: number;
      progress?: number;
      /** Null when there is nothing to download (or no complete key and location). */
      download: MdHistoryDownload | null;
    }
  /** The keys that have both an id and data (codec/md's protobuf form, what storeAppStateKeys takes). */
  | { kind: 'appStateKeys'; keys: md.AppStateSyncKey[] }
  | { kind: 'undecryptable'; reason: MdUndecryptableReason; detail?: string }
  /** Something walink does not read: the Message field (`reactionMessage`…), `protocol:<type>`, or `unknown` (no field walink decodes). */
  | { kind: 'other'; type: string };

/** Compile-time proof that the decryptor's content is what the machine takes. */
export const asMachineContent = (content: MdDecryptedContent): MdMessageContent => content;

type MediaMessage =
  | md.ImageMessage
  | md.VideoMessage
  | md.AudioMessage
  | md.DocumentMessage
  | md.StickerMessage;

/** The media reference a worker can use: a 32-byte key and somewhere to fetch from, as legacy requires. */
function mediaReference(
  type: MessageMediaType,
  fields: MediaMessage & { fileName?: string },
): MediaReference | null {
  if (fields.mediaKey?.length !== 32 || (!fields.url && !fields.directPath)) return null;
  const ref: MediaReference = { type, mediaKey: fields.mediaKey, ...mediaFields(fields) };
  if (fields.fileName) ref.fileName = fields.fileName;
  return ref;
}

function media(type: MessageMediaType, fields: MediaMessage & { caption?: string }): MdDecryptedContent {
  const ref = mediaReference(type, fields);
  // A media message without its key or location is nothing a worker could fetch.
  if (!ref) return { kind: 'other', type: `${type}-incomplete` };
  return { kind: 'media', media: ref, ...(fields.caption ? { caption: fields.caption } : {}) };
}

function historySync(n: md.HistorySyncNotification): MdDecryptedContent {
  const download: MdHistoryDownload | null =
    n.mediaKey?.length === 32 && n.directPath
      ? {
          type: 'history',
          mediaKey: n.mediaKey,
          ...mediaFields(n, ['directPath', 'fileSha256', 'fileEncSha256', 'fileLength']),
        }
      : null;
  return {
    kind: 'historySync',
    syncType: n.syncType ?? null,
    ...(n.chunkOrder !== undefined ? { chunkOrder: n.chunkOrder } : {}),
    ...(n.progress !== undefined ? { progress: n.progress } : {}),
    download,
  };
}

function appStateKeys(share: NonNullable<md.ProtocolMessage['appStateSyncKeyShare']>): MdDecryptedContent {
  // A key without its id or data cannot be used or found again.
  const keys = (share.keys ?? []).filter(
    (key) => (key.keyId?.keyId?.length ?? 0) > 0 && (key.keyData?.keyData?.length ?? 0) > 0,
  );
  return { kind: 'appStateKeys', keys };
}

const PROTOCOL_TYPE_NAMES = new Map<number, string>(
  Object.entries(mdCodec.PROTOCOL_MESSAGE_TYPE).map(([name, value]) => [value, name]),
);

function protocol(p: md.ProtocolMessage): MdDecryptedContent {
  const { HISTORY_SYNC_NOTIFICATION, APP_STATE_SYNC_KEY_SHARE } = mdCodec.PROTOCOL_MESSAGE_TYPE;
  if (p.type === HISTORY_SYNC_NOTIFICATION && p.historySyncNotification)
    return historySync(p.historySyncNotification);
  if (p.type === APP_STATE_SYNC_KEY_SHARE && p.appStateSyncKeyShare)
    return appStateKeys(p.appStateSyncKeyShare);
  const name = p.type === undefined ? 'unknown' : (PROTOCOL_TYPE_NAMES.get(p.type) ?? String(p.type));
  return { kind: 'other', type: `protocol:${name}` };
}

/**
 * The Message inside the wrappers that only carry another one: what the account's own phone sent to a chat
 * (deviceSentMessage), ephemeral chats, view-once media, documents with a caption. Bounded: a wrapper in a
 * wrapper in a wrapper is as deep as clients go.
 */
function unwrap(message: md.Message): md.Message {
  let current = message;
  for (let depth = 0; depth < 4; depth++) {
    const inner =
      current.deviceSentMessage?.message ??
      current.ephemeralMessage?.message ??
      current.viewOnceMessage?.message ??
      current.documentWithCaptionMessage?.message;
    if (!inner) break;
    current = inner;
  }
  return current;
}

/** What a decoded Message says, by the first field walink reads (§12.3). */
export function mdMessageContent(wrapped: md.Message): MdDecryptedContent {
  const message = unwrap(wrapped);
  if (typeof message.conversation === 'string') return { kind: 'text', text: message.conversation };
  const ext = message.extendedTextMessage;
  if (ext && typeof ext.text === 'string') {
    return {
      kind: 'extendedText',
      text: ext.text,
      ...(ext.matchedText !== undefined ? { matchedText: ext.matchedText } : {}),
    };
  }
  if (message.imageMessage) return media('image', message.imageMessage);
  if (message.videoMessage) return media('video', message.videoMessage);
  if (message.audioMessage) return media('audio', message.audioMessage);
  if (message.documentMessage) return media('document', message.documentMessage);
  if (message.stickerMessage) return media('sticker', message.stickerMessage);
  if (message.protocolMessage) return protocol(message.protocolMessage);
  const field = Object.keys(message)[0];
  return { kind: 'other', type: field ?? 'unknown' };
}
