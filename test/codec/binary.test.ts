import { describe, expect, it } from 'vitest';
import { type BinaryNode, CodecError, decodeNode, encodeNode } from '../../codec/index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

function roundTrip(node: BinaryNode): BinaryNode {
  return decodeNode(encodeNode(node));
}

function codecError(input: Uint8Array, options?: Parameters<typeof decodeNode>[1]): CodecError {
  try {
    decodeNode(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    return error as CodecError;
  }
  throw new Error(`decoded without an error: ${hex(input)}`);
}

describe('encoder choices (docs/protocol.md §3)', () => {
  it('writes a non-JID string raw, never packed: "1" is fc 01 31', () => {
    expect(hex(encodeNode(['query', { epoch: '1' }, null]))).toBe('f803446bfc0131');
  });

  it('packs a JID user of digits as NIBBLE_8, with the odd-length bit', () => {
    const encoded = encodeNode(['x', { jid: '12345@c.us' }, null]);
    // f8 03 <x raw> <jid token> fa ff 83 12 34 5f 50
    expect(hex(encoded).endsWith('faff8312345f50')).toBe(true);
    expect(roundTrip(['x', { jid: '12345@c.us' }, null])).toEqual(['x', { jid: '12345@c.us' }, null]);
  });

  it('packs an upper-case hex JID user as HEX_8 and anything else raw', () => {
    expect(hex(encodeNode(['x', { jid: '3EB0A1@g.us' }, null]))).toContain('fafb033eb0a1');
    const raw = encodeNode(['x', { jid: 'abc@g.us' }, null]);
    expect(hex(raw)).toContain('fafc03616263');
    expect(roundTrip(['x', { jid: 'abc@g.us' }, null])).toEqual(['x', { jid: 'abc@g.us' }, null]);
  });

  it('encodes c.us as token 80 and decodes token 80 as c.us', () => {
    expect(hex(encodeNode(['x', { server: 'c.us' }, null]))).toMatch(/50$/);
    expect(roundTrip(['x', { server: 'c.us' }, null])).toEqual(['x', { server: 'c.us' }, null]);
    expect(roundTrip(['x', { server: 's.whatsapp.net' }, null])).toEqual(['x', { server: 'c.us' }, null]);
  });

  it('leaves out attributes whose value is null or undefined', () => {
    const node = ['query', { type: 'chat', epoch: undefined, kind: null }, null] as unknown as BinaryNode;
    expect(hex(encodeNode(node))).toBe(hex(encodeNode(['query', { type: 'chat' }, null])));
  });

  it('uses LIST_EMPTY, LIST_8 and LIST_16 by child count', () => {
    expect(roundTrip(['x', null, []])).toEqual(['x', null, []]);
    expect(hex(encodeNode(['x', null, []]))).toMatch(/00$/);
    const many: BinaryNode[] = Array.from({ length: 300 }, (_, i) => [
      'user',
      { jid: `${i + 100}@c.us` },
      null,
    ]);
    const encoded = encodeNode(['response', { type: 'contacts' }, many]);
    const listAt = hex(encoded).indexOf('f9012c');
    expect(listAt).toBeGreaterThan(0);
    expect(roundTrip(['response', { type: 'contacts' }, many])).toEqual([
      'response',
      { type: 'contacts' },
      many,
    ]);
  });

  it('uses BINARY_8, BINARY_20 and BINARY_32 by byte length', () => {
    for (const [length, tag] of [
      [255, 'fc'],
      [256, 'fd'],
      [(1 << 20) - 1, 'fd'],
      [1 << 20, 'fe'],
    ] as const) {
      const content = new Uint8Array(length).fill(7);
      const encoded = encodeNode(['message', null, content]);
      expect(hex(encoded.subarray(3, 4))).toBe(tag);
      const decoded = decodeNode(encoded);
      expect(decoded[2]).toBeInstanceOf(Uint8Array);
      expect((decoded[2] as Uint8Array).length).toBe(length);
    }
  });

  it('gives raw string content back as bytes (the wire cannot tell them apart)', () => {
    const decoded = roundTrip(['conversation', null, 'hello']);
    expect(decoded[2]).toEqual(new Uint8Array(Buffer.from('hello')));
    expect(roundTrip(['x', null, 'available'])).toEqual(['x', null, 'available']);
  });
});

describe('decoder tags', () => {
  it('decodes JID_PAIR with an empty user to just the server', () => {
    expect(decodeNode(bytes('f803 3f 2d fa 00 50'))).toEqual(['picture', { jid: 'c.us' }, null]);
  });

  it('decodes JID_AD as user[.agent][:device]@c.us', () => {
    expect(decodeNode(bytes('f803 3f 2d f7 00 00 ff 02 12 34'))).toEqual([
      'picture',
      { jid: '1234@c.us' },
      null,
    ]);
    expect(decodeNode(bytes('f803 3f 2d f7 01 02 ff 02 12 34'))).toEqual([
      'picture',
      { jid: '1234.1:2@c.us' },
      null,
    ]);
  });

  it('decodes nibble - and . and hex A-F', () => {
    expect(decodeNode(bytes('f803 3f 2d fa ff 02 ab 12 50'))).toEqual([
      'picture',
      { jid: '-.12@c.us' },
      null,
    ]);
    expect(decodeNode(bytes('f803 3f 2d fa fb 02 3e b0 50'))).toEqual([
      'picture',
      { jid: '3EB0@c.us' },
      null,
    ]);
  });
});

describe('hostile input gives a CodecError with the offset', () => {
  const valid = encodeNode([
    'action',
    { type: 'relay', epoch: '1' },
    [
      ['message', null, new Uint8Array(40).fill(1)],
      ['user', { jid: '4915112345678@c.us', notify: 'Anna' }, null],
    ],
  ]);

  it('refuses every truncation of a valid node', () => {
    for (let length = 0; length < valid.length; length++) {
      const error = codecError(valid.subarray(0, length));
      expect(['TRUNCATED', 'BAD_LIST', 'EMPTY_NODE']).toContain(error.code);
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(length);
    }
  });

  it('refuses trailing bytes', () => {
    const error = codecError(new Uint8Array([...valid, 0]));
    expect(error.code).toBe('TRAILING_BYTES');
    expect(error.offset).toBe(valid.length);
  });

  it('refuses lengths past the end without allocating them', () => {
    expect(codecError(bytes('f802 3f fe 7f ff ff ff')).code).toBe('TRUNCATED');
    expect(codecError(bytes('f802 3f fd 0f ff ff')).code).toBe('TRUNCATED');
    expect(codecError(bytes('f9ffff 3f')).code).toBe('TRUNCATED');
    expect(codecError(bytes('f802 3f f9 ff ff f801 3f')).code).toBe('TRUNCATED');
  });

  it('refuses unknown tags, tokens past the dictionary, and the empty dictionaries', () => {
    expect(codecError(bytes('f801 01')).code).toBe('BAD_TAG');
    expect(codecError(bytes('f801 f5')).code).toBe('BAD_TAG');
    const past = codecError(bytes('f801 b0'));
    expect([past.code, past.offset]).toEqual(['UNKNOWN_TOKEN', 2]);
    expect(codecError(bytes('f801 ec 01')).code).toBe('DICTIONARY_TOKEN');
    expect(codecError(bytes('f801 02')).code).toBe('STREAM_END');
    expect(codecError(bytes('3f')).code).toBe('BAD_LIST');
  });

  it('refuses N = 0, an empty tag and LIST_EMPTY as a tag', () => {
    expect(codecError(bytes('00')).code).toBe('EMPTY_NODE');
    expect(codecError(bytes('f800')).code).toBe('EMPTY_NODE');
    expect(codecError(bytes('f801 fc00')).code).toBe('BAD_TAG');
    expect(codecError(bytes('f801 00')).code).toBe('BAD_TAG');
  });

  it('refuses nibbles 12-14 and a packed string of length -1', () => {
    for (const nibble of ['c', 'd', 'e']) {
      const error = codecError(bytes(`f803 3f 2d fa ff 01 1${nibble} 50`));
      expect([error.code, error.offset]).toEqual(['BAD_PACKED', 7]);
    }
    expect(codecError(bytes('f803 3f 2d ff 80')).code).toBe('BAD_PACKED');
  });

  it('refuses nesting deeper than the configured limit', () => {
    let node: BinaryNode = ['leaf', null, null];
    for (let i = 0; i < 10; i++) node = ['x', null, [node]];
    const encoded = encodeNode(node);
    expect(decodeNode(encoded, { maxDepth: 11 })).toEqual(node);
    expect(codecError(encoded, { maxDepth: 10 }).code).toBe('TOO_DEEP');
  });

  it('refuses attribute keys or values that are LIST_EMPTY', () => {
    expect(codecError(bytes('f803 3f 00 2d')).code).toBe('BAD_STRING');
  });
});
