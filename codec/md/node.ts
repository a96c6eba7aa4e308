// MD binary nodes as objects (docs/protocol-md.md, "Binary nodes: the node"), and the small readers that code
// above the codec uses to pick stanzas apart. Every reader fails with a CodecError naming the tag and what
// was missing, so a malformed stanza never becomes an `undefined` further down.
import { CodecError } from '../errors.ts';
import { type MdJid, parseMdJid } from './jid.ts';

/**
 * Content as the decoder returns it: child nodes for a list (LIST_EMPTY gives []), bytes for BINARY_8/20/32,
 * a string for a token, a packed string or a JID. Absent (undefined) means the node has no content.
 */
export type MdContent = MdNode[] | string | Uint8Array;

/** Attribute values are always strings; the encoder writes them in insertion order. */
export type MdAttrs = Record<string, string>;

export interface MdNode {
  tag: string;
  attrs: MdAttrs;
  content?: MdContent;
}

export function mdNode(tag: string, attrs: MdAttrs = {}, content?: MdContent): MdNode {
  return { tag, attrs, content };
}

/** The child nodes, or [] when the content is not a list. */
export function childNodes(node: MdNode): MdNode[] {
  return Array.isArray(node.content) ? node.content : [];
}

export function findChild(node: MdNode, tag: string): MdNode | undefined {
  const content = node.content;
  if (!Array.isArray(content)) return undefined;
  for (const child of content) if (child.tag === tag) return child;
  return undefined;
}

export function findChildren(node: MdNode, tag: string): MdNode[] {
  return childNodes(node).filter((child) => child.tag === tag);
}

export function requireChild(node: MdNode, tag: string): MdNode {
  const child = findChild(node, tag);
  if (!child) throw new CodecError('MISSING_CHILD', `<${node.tag}> has no <${tag}> child`);
  return child;
}

/** An attribute's value; only own attributes count (never `toString` and the like from the prototype). */
export function getAttr(node: MdNode, name: string): string | undefined {
  return Object.hasOwn(node.attrs, name) ? node.attrs[name] : undefined;
}

export function requireAttr(node: MdNode, name: string): string {
  const value = getAttr(node, name);
  if (value === undefined) throw new CodecError('MISSING_ATTR', `<${node.tag}> has no ${name} attribute`);
  return value;
}

const DECIMAL = /^(?:0|-?[1-9]\d{0,15})$/;

/** A decimal integer attribute (e.g. `t`, `count`, `code`); undefined when absent, BAD_ATTR when not an integer. */
export function getIntAttr(node: MdNode, name: string): number | undefined {
  const value = getAttr(node, name);
  if (value === undefined) return undefined;
  if (!DECIMAL.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new CodecError('BAD_ATTR', `<${node.tag}> ${name}="${value.slice(0, 40)}" is not an integer`);
  }
  return Number(value);
}

export function requireIntAttr(node: MdNode, name: string): number {
  const value = getIntAttr(node, name);
  if (value === undefined) throw new CodecError('MISSING_ATTR', `<${node.tag}> has no ${name} attribute`);
  return value;
}

/** A JID attribute, parsed (CodecError BAD_JID when malformed, MISSING_ATTR when absent). */
export function requireJidAttr(node: MdNode, name: string): MdJid {
  return parseMdJid(requireAttr(node, name));
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/**
 * The content as bytes. String content (a token or packed string the decoder turned into text) is given
 * as its UTF-8 bytes, since senders may choose either form for the same value.
 */
export function contentBytes(node: MdNode): Uint8Array {
  const content = node.content;
  if (content instanceof Uint8Array) return content;
  if (typeof content === 'string') return utf8Encoder.encode(content);
  throw new CodecError('BAD_CONTENT', `<${node.tag}> has ${describe(content)}, expected bytes`);
}

/** The content as text: string content as is, byte content decoded as UTF-8. */
export function contentText(node: MdNode): string {
  const content = node.content;
  if (typeof content === 'string') return content;
  if (content instanceof Uint8Array) return utf8Decoder.decode(content);
  throw new CodecError('BAD_CONTENT', `<${node.tag}> has ${describe(content)}, expected text`);
}

function describe(content: MdContent | undefined): string {
  if (content === undefined || content === null) return 'no content';
  if (Array.isArray(content)) return `${content.length} child nodes`;
  return typeof content;
}
