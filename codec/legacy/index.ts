// The legacy protocol's codec (docs/protocol.md §1, §3): frames, binary nodes with the v11 dictionary,
// JIDs, QR text and the WebMessageInfo protobuf.
export { DEFAULT_MAX_DEPTH, type DecodeOptions, decodeNode } from './binary-reader.ts';
export { type EncodeOptions, encodeNode } from './binary-writer.ts';
export {
  ackFrame,
  type ClientFrame,
  clientBinaryFrame,
  jsonFrame,
  PING_FRAME,
  parseClientFrame,
  parseServerFrame,
  pongFrame,
  type ServerFrame,
  serverBinaryFrame,
} from './frame.ts';
export {
  type Chat,
  type Contact,
  type IncomingNode,
  type MediaReference,
  type MessageMediaType,
  type MessageSummary,
  type Receipt,
  readIncomingNode,
  summarizeMessage,
} from './incoming.ts';
export {
  formatJid,
  fromProtoJid,
  isJidPart,
  type JidParts,
  parseJid,
  toProtoJid,
  userJid,
} from './jid.ts';
export { FLAG, METRIC, type MetricName } from './metrics.ts';
export type { BinaryNode, NodeAttrs, NodeContent } from './node.ts';
export { type JsonNode, jsonToNode, nodeToJson } from './node-json.ts';
export {
  type AudioMessage,
  type ContextInfo,
  type DocumentMessage,
  decodeWebMessageInfo,
  type ExtendedTextMessage,
  encodeWebMessageInfo,
  type ImageMessage,
  MESSAGE_STATUS,
  type Message,
  type MessageKey,
  type StickerMessage,
  type VideoMessage,
  type WebMessageInfo,
} from './proto.ts';
export { buildQrText, parseQrText, type QrPayload } from './qr.ts';
export { newMessageId, TagGenerator } from './tags.ts';
export { type Dictionary, dictionaryForVersion, TOKENS_V11, USER_SERVER } from './tokens.ts';
