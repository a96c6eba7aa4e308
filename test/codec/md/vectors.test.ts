// Known answers: test/fixtures/vectors/md (binary-nodes-v2/v3, tokens-v2/v3, binary-tags).
import { describe, expect, it } from 'vitest';
import {
  DOMAIN_TYPE,
  decodeMdNode,
  dictionaryForMdVersion,
  encodeMdNode,
  MD_DICTIONARY_V2,
  MD_DICTIONARY_V3,
  MD_TAG,
  PACKED_MAX,
} from '../../../codec/md/index.ts';
import { readJsonFixture } from '../../support/fixtures.ts';
import { fromJson, hexBytes, readNodeVectors, toHex, toJson } from './vector-json.ts';

interface TokenFile {
  dictVersion: number;
  single: string[];
  double: string[][];
}
interface TagFile {
  versions: Record<'2' | '3', { tags: Record<string, number | null> }>;
}

describe.each([2, 3] as const)('dictionary version %i', (version) => {
  const dictionary = dictionaryForMdVersion(version);
  const tokens = readJsonFixture<TokenFile>(`md/tokens-v${version}.json`);

  it('holds the published token table: 236 single-byte and 4 × 256 double-byte tokens', () => {
    expect(dictionary.version).toBe(version);
    expect(dictionary.single).toEqual(tokens.single);
    expect(dictionary.double).toEqual(tokens.double);
    expect(dictionary.single.length).toBe(236);
    expect(dictionary.double.map((table) => table.length)).toEqual([256, 256, 256, 256]);
  });

  it('maps every token back to its bytes (no duplicates, "" is not a token)', () => {
    expect(dictionary.tokenCode.size).toBe(235 + 4 * 256);
    expect(dictionary.tokenCode.has('')).toBe(false);
    for (let byte = 1; byte < tokens.single.length; byte++) {
      expect(dictionary.tokenCode.get(tokens.single[byte]!)).toBe(byte);
    }
    for (let d = 0; d < 4; d++) {
      for (let j = 0; j < 256; j++)
        expect(dictionary.tokenCode.get(tokens.double[d]![j]!)).toBe(256 + 256 * d + j);
    }
  });

  it('uses the wire tags of binary-tags.json', () => {
    const { tags } = readJsonFixture<TagFile>('md/binary-tags.json').versions[String(version) as '2' | '3'];
    for (const [name, value] of Object.entries(tags)) {
      if (name === 'PACKED_MAX') expect(PACKED_MAX).toBe(value);
      else if (value === null) {
        expect(['INTEROP_JID', 'FB_JID']).toContain(name);
        expect(dictionary.interopJids).toBe(false);
      } else expect(MD_TAG[name as keyof typeof MD_TAG]).toBe(value);
    }
    expect(dictionary.interopJids).toBe(version === 3);
  });
});

it('the two dictionaries are different tables (v3 is not an extension of v2)', () => {
  expect(MD_DICTIONARY_V2.tokenCode.get('stream:error')).toBe(119);
  expect(MD_DICTIONARY_V3.tokenCode.get('stream:error')).toBe(157);
  const same = MD_DICTIONARY_V2.single.filter((token, i) => i > 0 && MD_DICTIONARY_V3.single[i] === token);
  expect(same.length).toBe(12); // 13 positions of 236 agree, counting the empty index 0
  expect(() => dictionaryForMdVersion(4)).toThrow(expect.objectContaining({ code: 'UNKNOWN_VERSION' }));
  expect(DOMAIN_TYPE).toEqual({ WHATSAPP: 0, LID: 1, HOSTED: 128, HOSTED_LID: 129 });
});

describe.each([2, 3] as const)('binary-nodes-v%i.json', (version) => {
  const file = readNodeVectors(version);
  const encoded = file.vectors.filter((v) => !v.decodeOnly);
  const decodeOnly = file.vectors.filter((v) => v.decodeOnly);

  it('has the published number of vectors', () => {
    expect(file.dictVersion).toBe(version);
    expect(file.vectors.length).toBe(version === 2 ? 77 : 85);
    expect(decodeOnly.length).toBe(version === 2 ? 0 : 6);
  });

  it.each(file.vectors.map((v) => [v.name, v] as const))('%s decodes to its `decoded`', (_name, v) => {
    expect(toJson(decodeMdNode(hexBytes(v.hex), version))).toEqual(v.decoded);
  });

  const plain = encoded.filter((v) => v.flag === undefined);
  it.each(plain.map((v) => [v.name, v] as const))('%s: encode(node) is its hex', (_name, v) => {
    expect(toHex(encodeMdNode(fromJson(v.node!), version))).toBe(v.hex);
  });

  it.each(encoded.map((v) => [v.name, v] as const))(
    '%s: encode(decoded) == hex as `reencodesIdentically` says',
    (_name, v) => {
      const again = toHex(encodeMdNode(fromJson(v.decoded), version));
      expect(again === v.hex).toBe(v.reencodesIdentically);
    },
  );

  it('zlib-pair-device inflates to the plain encoding of the same node', () => {
    const v = file.vectors.find((x) => x.name === 'zlib-pair-device')!;
    expect(v.hex.slice(0, 2)).toBe('02');
    const node = decodeMdNode(hexBytes(v.hex), version);
    expect(toJson(node)).toEqual(v.decoded);
    expect(toJson(decodeMdNode(hexBytes(v.uncompressedHex!), version))).toEqual(v.decoded);
    expect(toHex(encodeMdNode(node, version))).toBe(v.uncompressedHex);
    expect(toHex(encodeMdNode(fromJson(v.node!), version))).toBe(v.uncompressedHex);
  });

  it('writes the length headers of largeLengths (BINARY_8 to 255, BINARY_20 to 2^20 - 1, then BINARY_32)', () => {
    const headers = Object.values(file.largeLengths).filter((entry) => typeof entry === 'object');
    expect(headers.length).toBe(4);
    for (const { length, header } of headers) {
      const bytes = encodeMdNode({ tag: 'x', attrs: {}, content: new Uint8Array(length) }, version);
      const headerAt = bytes.length - length - header.length / 2;
      expect(toHex(bytes.subarray(headerAt, bytes.length - length))).toBe(header);
      expect(toHex(bytes.subarray(0, headerAt))).toBe(
        toHex(encodeMdNode({ tag: 'x', attrs: {} }, version)).replace('f801', 'f802'),
      );
      const content = decodeMdNode(bytes, version).content as Uint8Array;
      // Buffer.compare: a deep toEqual over a MiB of elements would take seconds
      expect(Buffer.compare(content, new Uint8Array(length))).toBe(0);
    }
  });
});

describe('where Baileys 6.17.16 and HEAD differ, each version writes as its vectors mark canonical', () => {
  const v3 = readNodeVectors(3).vectors.filter((v) => v.encoder61716WithV3TablesHex !== undefined);

  it('six v3 vectors carry the 6.17.16-logic bytes; v3 writes HEAD bytes, never those', () => {
    expect(v3.map((v) => v.name).sort()).toEqual(
      [
        'attr-empty-string',
        'content-empty-string',
        'jid-agent',
        'jid-hosted',
        'jid-hosted-lid',
        'success',
      ].sort(),
    );
    for (const v of v3) {
      const ours = toHex(encodeMdNode(fromJson(v.node!), 3));
      expect(ours).toBe(v.hex);
      expect(ours).not.toBe(v.encoder61716WithV3TablesHex);
    }
  });

  it('the v3 decoder reads the 6.17.16-logic bytes too', () => {
    const expected: Record<string, unknown> = {
      'attr-empty-string': { name: '' },
      'jid-agent': { participant: '15551234567:3@s.whatsapp.net' },
      'jid-hosted': { participant: '15551234567:99@s.whatsapp.net' },
      'jid-hosted-lid': { participant: '123456789012345:99@s.whatsapp.net' },
    };
    for (const v of v3) {
      const node = decodeMdNode(hexBytes(v.encoder61716WithV3TablesHex!), 3);
      if (v.name in expected) expect(node.attrs).toEqual(expected[v.name]);
      if (v.name === 'content-empty-string') expect(node.content).toEqual([]);
      if (v.name === 'success') expect(node.attrs['display_name']).toBe('');
    }
  });
});
