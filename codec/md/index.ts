// The multi-device (MD) protocol's codec (docs/protocol-md.md).

// --- Binary nodes, token dictionaries and JIDs (md-codec) ---
export {
  decodeMdNode,
  MD_DEFAULT_MAX_DEPTH,
  MD_DEFAULT_MAX_INFLATED_BYTES,
  type MdDecodeOptions,
} from './binary-decoder.ts';
export { encodeMdNode } from './binary-encoder.ts';
export {
  dictionaryForMdVersion,
  MD_DICTIONARY_V2,
  MD_DICTIONARY_V3,
  type MdDictionary,
  type MdDictVersion,
} from './dictionary.ts';
export {
  deviceOf,
  formatMdJid,
  isSameUser,
  isServerJid,
  MD_SERVERS,
  type MdJid,
  type MdServer,
  parseMdJid,
  S_WHATSAPP_NET,
  toUserJid,
  tryParseMdJid,
} from './jid.ts';
export {
  childNodes,
  contentBytes,
  contentText,
  findChild,
  findChildren,
  getAttr,
  getIntAttr,
  type MdAttrs,
  type MdContent,
  type MdNode,
  mdNode,
  requireAttr,
  requireChild,
  requireIntAttr,
  requireJidAttr,
} from './node.ts';
export { DOMAIN_TYPE, FLAG_COMPRESSED, MD_TAG, PACKED_MAX } from './wire.ts';
// --- end md-codec ---
