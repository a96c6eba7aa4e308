// WebMessageInfo (de)serialisation over codec/proto/whatsapp.proto: encoding with protobufjs, decoding with
// the table-driven reader of proto-reader.ts built from the same parsed schema.
// Decoded objects are plain: uint64 → number, bytes → Uint8Array, absent fields stay absent.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { CodecError } from '../errors.ts';
import { readMessage, tableFor } from './proto-reader.ts';

const schema = protobuf.parse(readFileSync(new URL('./proto/whatsapp.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const WebMessageInfoType = schema.lookupType('walink.WebMessageInfo');
const webMessageInfoTable = tableFor(WebMessageInfoType);

export const MESSAGE_STATUS = {
  ERROR: 0,
  PENDING: 1,
  SERVER_ACK: 2,
  DELIVERY_ACK: 3,
  READ: 4,
  PLAYED: 5,
} as const;

export interface MessageKey {
  remoteJid?: string;
  fromMe?: boolean;
  id?: string;
  participant?: string;
}

export interface ContextInfo {
  stanzaId?: string;
  participant?: string;
  quotedMessage?: Message;
  remoteJid?: string;
  mentionedJid?: string[];
}

export interface MediaFields {
  url?: string;
  mimetype?: string;
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
  mediaKey?: Uint8Array;
  directPath?: string;
  mediaKeyTimestamp?: number;
  contextInfo?: ContextInfo;
}

export interface ImageMessage extends MediaFields {
  caption?: string;
  height?: number;
  width?: number;
  jpegThumbnail?: Uint8Array;
}
export interface VideoMessage extends MediaFields {
  seconds?: number;
  caption?: string;
  gifPlayback?: boolean;
  height?: number;
  width?: number;
  jpegThumbnail?: Uint8Array;
  streamingSidecar?: Uint8Array;
}
export interface AudioMessage extends MediaFields {
  seconds?: number;
  ptt?: boolean;
  streamingSidecar?: Uint8Array;
}
export interface DocumentMessage extends MediaFields {
  title?: string;
  pageCount?: number;
  fileName?: string;
  jpegThumbnail?: Uint8Array;
}
export interface StickerMessage extends MediaFields {
  height?: number;
  width?: number;
}
export interface ExtendedTextMessage {
  text?: string;
  matchedText?: string;
  canonicalUrl?: string;
  description?: string;
  title?: string;
  contextInfo?: ContextInfo;
}

export interface Message {
  conversation?: string;
  imageMessage?: ImageMessage;
  contactMessage?: { displayName?: string; vcard?: string };
  locationMessage?: { degreesLatitude?: number; degreesLongitude?: number; name?: string; address?: string };
  extendedTextMessage?: ExtendedTextMessage;
  documentMessage?: DocumentMessage;
  audioMessage?: AudioMessage;
  videoMessage?: VideoMessage;
  protocolMessage?: { key?: MessageKey; type?: number };
  stickerMessage?: StickerMessage;
}

export interface WebMessageInfo {
  key: MessageKey;
  message?: Message;
  messageTimestamp?: number;
  status?: number;
  participant?: string;
  ignore?: boolean;
  starred?: boolean;
  broadcast?: boolean;
  pushName?: string;
  mediaCiphertextSha256?: Uint8Array;
  messageStubType?: number;
  messageStubParameters?: string[];
  duration?: number;
}

export function encodeWebMessageInfo(info: WebMessageInfo): Uint8Array {
  const problem = WebMessageInfoType.verify(info);
  if (problem) throw new CodecError('BAD_PROTO', `invalid WebMessageInfo: ${problem}`);
  return WebMessageInfoType.encode(WebMessageInfoType.fromObject(info)).finish().slice();
}

/**
 * One pass over the bytes (codec/legacy/proto-reader.ts) into plain objects: uint64 → number, enums →
 * numbers, bytes → fresh Uint8Arrays (never views into the frame), absent fields absent.
 */
export function decodeWebMessageInfo(bytes: Uint8Array): WebMessageInfo {
  const object = readMessage(webMessageInfoTable, bytes);
  // proto2 `required`: every consumer reads `key`.
  if (!object.key) throw new CodecError('BAD_PROTO', 'WebMessageInfo without its required key');
  return object as unknown as WebMessageInfo;
}
