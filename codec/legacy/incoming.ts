// What a decrypted server node means to an application (docs/protocol.md §3, "Messages inside nodes"):
// message batches, receipts, contacts and chat lists. Structures in, structures out; nothing thrown
// for unknown shapes, they come back as `other`.
import { mediaFields } from '../../crypto/index.ts';
import { fromProtoJid } from './jid.ts';
import type { BinaryNode } from './node.ts';
import { decodeWebMessageInfo, type MediaFields, type Message, type WebMessageInfo } from './proto.ts';

/** The media kinds a message can carry (a subset of crypto's media types). */
export type MessageMediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface Contact {
  jid: string;
  name?: string;
  notify?: string;
  short?: string;
}

export interface Chat {
  jid: string;
  name?: string;
  count: number;
  t: number;
  archived: boolean;
  pinned: boolean;
  muted: boolean;
}

export interface Receipt {
  type: string;
  id: string;
  jid?: string;
  owner?: string;
}

export type IncomingNode =
  | { kind: 'messages'; add: string; messages: WebMessageInfo[]; undecodable: number }
  | { kind: 'receipts'; receipts: Receipt[] }
  | { kind: 'contacts'; contacts: Contact[] }
  | { kind: 'chats'; chats: Chat[] }
  | { kind: 'other'; node: BinaryNode };

function children(node: BinaryNode): BinaryNode[] {
  return Array.isArray(node[2]) ? node[2] : [];
}

function readMessages(node: BinaryNode, add: string): IncomingNode {
  const messages: WebMessageInfo[] = [];
  let undecodable = 0;
  for (const child of children(node)) {
    if (child[0] !== 'message' || !(child[2] instanceof Uint8Array)) continue;
    try {
      messages.push(decodeWebMessageInfo(child[2]));
    } catch {
      // One bad protobuf must not cost the rest of the batch; the caller sees the count.
      undecodable += 1;
    }
  }
  return { kind: 'messages', add, messages, undecodable };
}

function readReceipts(node: BinaryNode): Receipt[] {
  return children(node)
    .filter((c) => c[0] === 'received' && c[1]?.index)
    .map(([, attrs]) => ({
      type: attrs?.type ?? 'message',
      id: attrs!.index!,
      ...(attrs?.jid ? { jid: attrs.jid } : {}),
      ...(attrs?.owner ? { owner: attrs.owner } : {}),
    }));
}

function optional(attrs: Record<string, string> | null, key: string): string | undefined {
  const value = attrs?.[key];
  return value === undefined || value === '' ? undefined : value;
}

function readContacts(node: BinaryNode): Contact[] {
  return children(node)
    .filter((c) => c[0] === 'user' && c[1]?.jid)
    .map(([, attrs]) => {
      const contact: Contact = { jid: attrs!.jid! };
      for (const key of ['name', 'notify', 'short'] as const) {
        const value = optional(attrs, key);
        if (value !== undefined) contact[key] = value;
      }
      return contact;
    });
}

function readChats(node: BinaryNode): Chat[] {
  return children(node)
    .filter((c) => c[0] === 'chat' && c[1]?.jid)
    .map(([, attrs]) => ({
      jid: attrs!.jid!,
      ...(optional(attrs, 'name') ? { name: optional(attrs, 'name') } : {}),
      count: Number(attrs?.count ?? 0) || 0,
      t: Number(attrs?.t ?? 0) || 0,
      archived: attrs?.archive === 'true',
      pinned: (attrs?.pin ?? '0') !== '0',
      muted: (attrs?.mute ?? '0') !== '0',
    }));
}

export function readIncomingNode(node: BinaryNode): IncomingNode {
  const [tag, attrs] = node;
  if (tag === 'action') {
    const kids = children(node);
    if (kids.some((c) => c[0] === 'message')) return readMessages(node, attrs?.add ?? 'relay');
    if (kids.some((c) => c[0] === 'received')) return { kind: 'receipts', receipts: readReceipts(node) };
  }
  if (tag === 'response' && attrs?.type === 'contacts')
    return { kind: 'contacts', contacts: readContacts(node) };
  if (tag === 'response' && attrs?.type === 'chat') return { kind: 'chats', chats: readChats(node) };
  return { kind: 'other', node };
}

// ---- one message, as an application wants it ----

export interface MediaReference {
  type: MessageMediaType;
  mediaKey: Uint8Array;
  url?: string;
  directPath?: string;
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
  mimetype?: string;
  fileName?: string;
}

export interface MessageSummary {
  id: string;
  chat: string;
  fromMe: boolean;
  sender: string;
  timestamp: number | null;
  pushName?: string;
  text: string | null;
  media: MediaReference | null;
}

function mediaReference(
  type: MessageMediaType,
  fields: MediaFields & { fileName?: string },
): MediaReference | null {
  // Without a 32-byte key and a place to fetch from there is nothing a worker could do.
  if (fields.mediaKey?.length !== 32 || (!fields.url && !fields.directPath)) return null;
  const ref: MediaReference = { type, mediaKey: fields.mediaKey, ...mediaFields(fields) };
  if (fields.fileName) ref.fileName = fields.fileName;
  return ref;
}

function mediaOf(message: Message): MediaReference | null {
  if (message.imageMessage) return mediaReference('image', message.imageMessage);
  if (message.videoMessage) return mediaReference('video', message.videoMessage);
  if (message.audioMessage) return mediaReference('audio', message.audioMessage);
  if (message.documentMessage) return mediaReference('document', message.documentMessage);
  if (message.stickerMessage) return mediaReference('sticker', message.stickerMessage);
  return null;
}

function textOf(message: Message): string | null {
  return (
    message.conversation ??
    message.extendedTextMessage?.text ??
    message.imageMessage?.caption ??
    message.videoMessage?.caption ??
    null
  );
}

export function summarizeMessage(info: WebMessageInfo): MessageSummary {
  const chat = fromProtoJid(info.key.remoteJid ?? '');
  const fromMe = info.key.fromMe === true;
  const message = info.message ?? {};
  return {
    id: info.key.id ?? '',
    chat,
    fromMe,
    sender: fromProtoJid(info.participant ?? info.key.participant ?? chat),
    timestamp: info.messageTimestamp ?? null,
    ...(info.pushName ? { pushName: info.pushName } : {}),
    text: textOf(message),
    media: mediaOf(message),
  };
}
