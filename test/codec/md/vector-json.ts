// The node JSON of the MD vector files (test/fixtures/vectors/md/binary-nodes-v*.json): content is null (none),
// a string, {"hex": …} (bytes) or a list of nodes.
import type { MdNode } from '../../../codec/md/index.ts';
import { readJsonFixture } from '../../support/fixtures.ts';

export interface JsonNode {
  tag: string;
  attrs: Record<string, string>;
  content: null | string | { hex: string } | JsonNode[];
}

export interface NodeVector {
  name: string;
  covers: string[];
  node?: JsonNode;
  hex: string;
  decoded: JsonNode;
  reencodesIdentically?: boolean;
  decodedEqualsNode?: boolean;
  decodeOnly?: boolean;
  flag?: string;
  uncompressedHex?: string;
  encoder61716WithV3TablesHex?: string;
}

export interface NodeVectorFile {
  dictVersion: 2 | 3;
  vectors: NodeVector[];
  largeLengths: Record<string, { length: number; header: string }>;
}

export function readNodeVectors(version: 2 | 3): NodeVectorFile {
  return readJsonFixture<NodeVectorFile>(`md/binary-nodes-v${version}.json`);
}

export function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromJson(node: JsonNode): MdNode {
  const { content } = node;
  if (content === null) return { tag: node.tag, attrs: { ...node.attrs } };
  if (typeof content === 'string') return { tag: node.tag, attrs: { ...node.attrs }, content };
  if (Array.isArray(content))
    return { tag: node.tag, attrs: { ...node.attrs }, content: content.map(fromJson) };
  return { tag: node.tag, attrs: { ...node.attrs }, content: hexBytes(content.hex) };
}

export function toJson(node: MdNode): JsonNode {
  const { content } = node;
  let json: JsonNode['content'];
  if (content === undefined) json = null;
  else if (typeof content === 'string') json = content;
  else if (content instanceof Uint8Array) json = { hex: toHex(content) };
  else json = content.map(toJson);
  return { tag: node.tag, attrs: { ...node.attrs }, content: json };
}
