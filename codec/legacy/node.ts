/** A legacy binary node: `[tag, attrs | null, content]` (docs/protocol.md §3). */
export type NodeContent = BinaryNode[] | string | Uint8Array | null;
export type NodeAttrs = Record<string, string>;
export type BinaryNode = [tag: string, attrs: NodeAttrs | null, content: NodeContent];

/** Wire bytes of docs/protocol.md §3's table. */
export const WIRE = {
  LIST_EMPTY: 0,
  STREAM_END: 2,
  DICTIONARY_0: 236,
  DICTIONARY_3: 239,
  JID_AD: 247,
  LIST_8: 248,
  LIST_16: 249,
  JID_PAIR: 250,
  HEX_8: 251,
  BINARY_8: 252,
  BINARY_20: 253,
  BINARY_32: 254,
  NIBBLE_8: 255,
} as const;

export const PACKED_MAX = 254;

/**
 * Sets an attribute as an own property even when the key is `__proto__`: a plain assignment would
 * swap the object's prototype instead, and attribute keys come from untrusted bytes.
 */
export function setAttr(attrs: NodeAttrs, key: string, value: string): void {
  if (key === '__proto__')
    Object.defineProperty(attrs, key, { value, enumerable: true, writable: true, configurable: true });
  else attrs[key] = value;
}
