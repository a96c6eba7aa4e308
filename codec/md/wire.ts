// Wire bytes of MD binary nodes (docs/protocol-md.md, "Binary nodes: tags"). Both dictionary versions use the
// same values; INTEROP_JID and FB_JID exist only in version 3.

export const MD_TAG = {
  LIST_EMPTY: 0,
  DICTIONARY_0: 236,
  DICTIONARY_1: 237,
  DICTIONARY_2: 238,
  DICTIONARY_3: 239,
  INTEROP_JID: 245,
  FB_JID: 246,
  AD_JID: 247,
  LIST_8: 248,
  LIST_16: 249,
  JID_PAIR: 250,
  HEX_8: 251,
  BINARY_8: 252,
  BINARY_20: 253,
  BINARY_32: 254,
  NIBBLE_8: 255,
} as const;

/** The longest string (in characters) written as NIBBLE_8 / HEX_8: a length byte holds 127 packed bytes. */
export const PACKED_MAX = 127;

/** Bit of the leading flag byte meaning "the rest is zlib (RFC 1950)". */
export const FLAG_COMPRESSED = 0x02;

/** AD_JID domain types (docs/protocol-md.md, "Binary nodes: JIDs"). Other values are read as an agent. */
export const DOMAIN_TYPE = {
  WHATSAPP: 0,
  LID: 1,
  HOSTED: 128,
  HOSTED_LID: 129,
} as const;
