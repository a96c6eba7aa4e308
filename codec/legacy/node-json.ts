// Nodes as JSON for people reading captures: byte content becomes {"hex": "…"} (the form of
// test/fixtures/vectors/binary/known-nodes.json), and back.
import { CodecError } from '../errors.ts';
import { type BinaryNode, type NodeAttrs, type NodeContent, setAttr } from './node.ts';

export type JsonNode = [string, Record<string, string> | null, JsonNode[] | string | { hex: string } | null];

export function nodeToJson(node: BinaryNode): JsonNode {
  const [tag, attrs, content] = node;
  return [tag, attrs, contentToJson(content)];
}

function contentToJson(content: NodeContent): JsonNode[2] {
  if (content instanceof Uint8Array) return { hex: Buffer.from(content).toString('hex') };
  if (Array.isArray(content)) return content.map(nodeToJson);
  return content ?? null;
}

export function jsonToNode(value: unknown, path = '$'): BinaryNode {
  if (!Array.isArray(value) || value.length < 1 || value.length > 3) {
    throw new CodecError('BAD_NODE', `${path}: a node is [tag, attrs, content]`);
  }
  const [tag, attrs, content] = value as unknown[];
  if (typeof tag !== 'string' || tag.length === 0)
    throw new CodecError('BAD_NODE', `${path}: the tag must be a string`);
  let cleanAttrs: NodeAttrs | null = null;
  if (attrs !== null && attrs !== undefined) {
    if (typeof attrs !== 'object' || Array.isArray(attrs))
      throw new CodecError('BAD_NODE', `${path}: attrs must be an object`);
    cleanAttrs = {};
    for (const [key, attr] of Object.entries(attrs)) {
      if (typeof attr !== 'string')
        throw new CodecError('BAD_NODE', `${path}: attribute ${key} must be a string`);
      setAttr(cleanAttrs, key, attr);
    }
  }
  return [tag, cleanAttrs, jsonToContent(content, path)];
}

function jsonToContent(content: unknown, path: string): NodeContent {
  if (content === null || content === undefined) return null;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((child, i) => jsonToNode(child, `${path}[2][${i}]`));
  if (typeof content === 'object' && typeof (content as { hex?: unknown }).hex === 'string') {
    const hex = (content as { hex: string }).hex;
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
      throw new CodecError('BAD_NODE', `${path}: bad hex content`);
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  throw new CodecError('BAD_NODE', `${path}: content must be nodes, a string, {"hex": …} or null`);
}
