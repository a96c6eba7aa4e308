import { describe, expect, it } from 'vitest';
import { decodeNode, encodeNode, jsonToNode, nodeToJson, TOKENS_V11 } from '../../codec/index.ts';
import { readJsonFixture } from '../support/fixtures.ts';

interface KnownNodes {
  vectors: { name: string; hex: string; node: unknown }[];
}

const { vectors } = readJsonFixture<KnownNodes>('binary/known-nodes.json');
const tokens = readJsonFixture<(string | null)[]>('binary/tokens-v11.json');

describe('the v11 token dictionary', () => {
  it('is the shared table: 176 entries, 80 = s.whatsapp.net, 175 = recent', () => {
    expect(TOKENS_V11).toEqual(tokens);
    expect(TOKENS_V11.length).toBe(176);
    expect(TOKENS_V11[80]).toBe('s.whatsapp.net');
    expect(TOKENS_V11[175]).toBe('recent');
  });
});

describe('known nodes (test/fixtures/vectors/binary/known-nodes.json)', () => {
  it.each(vectors.map((v) => [v.name, v] as const))('%s decodes exactly', (_name, v) => {
    expect(nodeToJson(decodeNode(Buffer.from(v.hex, 'hex')))).toEqual(v.node);
  });

  const encodable = vectors.filter((v) => /query|action/.test(v.name));
  it('has query and action vectors to encode', () => expect(encodable.length).toBeGreaterThanOrEqual(4));
  it.each(encodable.map((v) => [v.name, v] as const))('%s encodes byte-exactly', (_name, v) => {
    expect(Buffer.from(encodeNode(jsonToNode(v.node))).toString('hex')).toBe(v.hex);
  });
});
