// The MD decoder on hand-made bytes: each rule of docs/protocol-md.md "Binary nodes" and each typed error.
// Hex is written with v3 tokens: 19 = iq, 13 = message, 06 = from, 03 = s.whatsapp.net, 76 = lid, cc = msgr.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../codec/index.ts';
import { decodeMdNode, type MdDecodeOptions, type MdNode } from '../../../codec/md/index.ts';
import { hexBytes } from './vector-json.ts';

function decode(hex: string, version: 2 | 3 = 3, options?: MdDecodeOptions): MdNode {
  return decodeMdNode(hexBytes(hex.replace(/\s+/g, '')), version, options);
}

function failure(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw new Error(`expected a CodecError, got ${String(error)}`);
  }
  throw new Error('expected a CodecError, got a result');
}

function decodeError(hex: string, version: 2 | 3 = 3, options?: MdDecodeOptions): CodecError {
  return failure(() => decode(hex, version, options));
}

/** `<message from=…>` with the JID bytes given. */
const withFrom = (jidHex: string) => `00 f803 13 06 ${jidHex}`;

describe('structure', () => {
  it('reads tag, attributes in wire order, and no content', () => {
    expect(decode('00 f805 19 06 03 11 76')).toEqual({
      tag: 'iq',
      attrs: { from: 's.whatsapp.net', to: 'lid' },
      content: undefined,
    });
    expect(Object.keys(decode('00 f805 19 11 76 06 03').attrs)).toEqual(['to', 'from']);
  });

  it('reads LIST_EMPTY content as [] and LIST_EMPTY values as ""', () => {
    expect(decode('00 f802 19 00').content).toEqual([]);
    expect(decode('00 f803 19 06 00').attrs).toEqual({ from: '' });
  });

  it('reads LIST_16 node headers and child lists', () => {
    const children = 'f80113'.repeat(300);
    const node = decode(`00 f802 19 f9012c ${children}`);
    expect((node.content as MdNode[]).length).toBe(300);
    expect((node.content as MdNode[])[299]).toEqual({ tag: 'message', attrs: {}, content: undefined });
  });

  it('gives BINARY content as bytes and BINARY attribute values as UTF-8 text', () => {
    const node = decode('00 f804 19 06 fc03e282ac fc020102');
    expect(node.attrs['from']).toBe('€');
    expect(node.content).toEqual(Uint8Array.of(1, 2));
    expect(decode('00 f803 19 06 fc02c328').attrs['from']).toBe('\ufffd(');
  });

  it('gives byte content as a view of the input unless copyBytes', () => {
    const input = hexBytes('00f80219fc020102');
    const view = decodeMdNode(input, 3).content as Uint8Array;
    const copy = decodeMdNode(input, 3, { copyBytes: true }).content as Uint8Array;
    input[6] = 9;
    expect(view).toEqual(Uint8Array.of(9, 2));
    expect(copy).toEqual(Uint8Array.of(1, 2));
  });

  it('keeps a __proto__ attribute as an own value without touching the prototype', () => {
    const node = decode('00 f803 19 fc095f5f70726f746f5f5f fc0178');
    expect(Object.getPrototypeOf(node.attrs)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(node.attrs, '__proto__')?.value).toBe('x');
  });

  it('reads double-byte tokens from each of DICTIONARY_0..3', () => {
    const node = decode('00 f809 07 04 ec05 11 ed05 08 ee05 1a ef05');
    expect(node.attrs).toEqual({ type: 'screen_width', to: '9', id: 'manufacturer', t: '407' });
  });

  it('ignores the flag byte bits other than 0x02', () => {
    expect(decode('01 f801 19').tag).toBe('iq');
  });
});

describe('packed strings', () => {
  it('unpacks nibbles (0-9, "-", ".") and hex, odd lengths dropping the pad', () => {
    expect(decode(withFrom('ff 03 12ab3f')).attrs['from']).toBe('12-.3\0');
    expect(decode(withFrom('ff 83 12ab3f')).attrs['from']).toBe('12-.3');
    expect(decode(withFrom('fb 82 0a9f')).attrs['from']).toBe('0A9');
    expect(decode(withFrom('ff 00')).attrs['from']).toBe('');
  });

  it('rejects nibbles 12-14 and an odd string of no bytes', () => {
    const bad = decodeError(withFrom('ff 02 12c1'));
    expect([bad.code, bad.offset]).toEqual(['BAD_PACKED', 8]);
    expect(decodeError(withFrom('ff 80')).code).toBe('BAD_PACKED');
    expect(decodeError(withFrom('ff 05 1234')).code).toBe('TRUNCATED');
  });
});

describe('JIDs', () => {
  it('reads JID_PAIR, with an empty user as the server itself', () => {
    expect(decode(withFrom('fa ff86 15551234567f 03')).attrs['from']).toBe('15551234567@s.whatsapp.net');
    expect(decode(withFrom('fa 00 03')).attrs['from']).toBe('@s.whatsapp.net');
    expect(decode(withFrom('fa fc00 03')).attrs['from']).toBe('@s.whatsapp.net');
  });

  it('refuses a JID_PAIR without a server', () => {
    expect(decodeError(withFrom('fa ff8115 00')).code).toBe('BAD_JID');
    expect(decodeError(withFrom('fa ff8115 fc00')).code).toBe('BAD_JID');
  });

  it('maps AD_JID domain types to servers and leaves device 0 out', () => {
    const user = 'ff86 15551234567f';
    expect(decode(withFrom(`f7 00 03 ${user}`)).attrs['from']).toBe('15551234567:3@s.whatsapp.net');
    expect(decode(withFrom(`f7 00 00 ${user}`)).attrs['from']).toBe('15551234567@s.whatsapp.net');
    expect(decode(withFrom(`f7 01 03 ${user}`)).attrs['from']).toBe('15551234567:3@lid');
    expect(decode(withFrom(`f7 80 63 ${user}`)).attrs['from']).toBe('15551234567:99@hosted');
    expect(decode(withFrom(`f7 81 00 ${user}`)).attrs['from']).toBe('15551234567@hosted.lid');
    // any other domain type is an agent, written with its device as whatsmeow does
    expect(decode(withFrom(`f7 02 00 ${user}`)).attrs['from']).toBe('15551234567.2:0@s.whatsapp.net');
    expect(decode(withFrom(`f7 05 07 ${user}`), 2).attrs['from']).toBe('15551234567.5:7@s.whatsapp.net');
  });

  it('refuses an AD_JID without a user', () => {
    const error = decodeError(withFrom('f7 00 03 00'));
    expect([error.code, error.offset]).toEqual(['BAD_JID', 8]);
  });

  it('reads FB_JID and INTEROP_JID in version 3, always with the device', () => {
    expect(decode(withFrom('f6 fc0131 0000 cc')).attrs['from']).toBe('1:0@msgr');
    expect(decode(withFrom('f5 fc0131 0102 0007 fc07696e7465726f70')).attrs['from']).toBe('7-1:258@interop');
  });

  it('refuses FB_JID and INTEROP_JID on other servers, and in version 2 at all', () => {
    expect(decodeError(withFrom('f6 fc0131 0000 03')).code).toBe('BAD_JID');
    expect(decodeError(withFrom('f5 fc0131 0000 0000 cc')).code).toBe('BAD_JID');
    for (const tag of ['f5', 'f6']) {
      const error = decodeError(`00 f803 0b 06 ${tag} fc0131 0000 0000 fc01cc`, 2);
      expect([error.code, error.offset]).toEqual(['BAD_TAG', 5]);
      expect(error.message).toMatch(/version 2/);
    }
  });

  it('decodes nested JID pairs (a JID as the user of a JID) within the depth limit', () => {
    expect(decode(withFrom('fa fa fc0161 fc0162 03')).attrs['from']).toBe('a@b@s.whatsapp.net');
  });
});

describe('typed errors with offsets', () => {
  const cases: [string, string, string, number][] = [
    ['empty input', '', 'TRUNCATED', 0],
    ['only the flag byte', '00', 'TRUNCATED', 1],
    ['a list size past the end', '00 f8', 'TRUNCATED', 2],
    ['leftover bytes', '00 f801 19 00', 'TRAILING_BYTES', 4],
    ['a node that is not a list', '00 19', 'BAD_LIST', 1],
    ['a node list of size 0', '00 00', 'EMPTY_NODE', 1],
    ['an empty tag', '00 f801 00', 'BAD_TAG', 3],
    ['an empty raw tag', '00 f801 fc00', 'BAD_TAG', 3],
    ['an unused tag byte (240)', '00 f801 f0', 'BAD_TAG', 3],
    ['a list where a string belongs', '00 f801 f8', 'BAD_TAG', 3],
    ['a truncated double-byte token', '00 f801 ec', 'TRUNCATED', 4],
    ['attributes that cannot fit', '00 f8ff 19 06 03', 'TRUNCATED', 4],
    ['children that cannot fit', '00 f802 19 f9ffff f80119', 'TRUNCATED', 4],
    ['a BINARY_20 length over 20 bits', '00 f802 19 fd100000', 'BAD_STRING', 5],
    ['a BINARY_32 length of 4 GiB', '00 f802 19 feffffffff 00', 'TRUNCATED', 9],
    ['a BINARY_8 past the end', '00 f802 19 fc05 0102', 'TRUNCATED', 6],
  ];
  it.each(cases)('%s: %s', (_name, hex, code, offset) => {
    const error = decodeError(hex);
    expect(error.code).toBe(code);
    expect(error.offset).toBe(offset);
  });
});

describe('depth', () => {
  /** `depth` nodes each holding the next as its only child. */
  function nested(depth: number): string {
    return `00${'f80219f801'.repeat(depth - 1)}f80119`;
  }

  it('decodes nodes nested exactly maxDepth deep and refuses one more', () => {
    expect(decode(nested(64)).tag).toBe('iq');
    expect(decodeError(nested(65)).code).toBe('TOO_DEEP');
    expect(decode(nested(5), 3, { maxDepth: 5 }).tag).toBe('iq');
    expect(decodeError(nested(6), 3, { maxDepth: 5 }).code).toBe('TOO_DEEP');
  });

  it('counts a JID as one level, and a JID nest hits the limit with a CodecError', () => {
    expect(decode(withFrom('fa fc0161 03'), 3, { maxDepth: 2 }).attrs['from']).toBe('a@s.whatsapp.net');
    expect(decodeError(withFrom('fa fc0161 03'), 3, { maxDepth: 1 }).code).toBe('TOO_DEEP');
    const deep = withFrom(`${'fa'.repeat(100_000)}fc0161${'03'.repeat(100_000)}`);
    const error = decodeError(deep);
    expect(error.code).toBe('TOO_DEEP');
    expect(error.offset).toBeLessThan(100);
  });

  it('stays below the stack limit whatever maxDepth asks for', () => {
    for (const maxDepth of [1e9, Number.POSITIVE_INFINITY]) {
      const error = decodeError(nested(20_000), 3, { maxDepth });
      expect(error.code).toBe('TOO_DEEP');
      expect(error.message).toMatch(/512/);
    }
    expect(decodeError(nested(65), 3, { maxDepth: Number.NaN }).message).toMatch(/64/);
  });
});

describe('zlib', () => {
  const plain = hexBytes('f803190603');

  it('inflates a body flagged 0x02', () => {
    const compressed = Uint8Array.of(2, ...deflateSync(plain));
    expect(decodeMdNode(compressed, 3)).toEqual({
      tag: 'iq',
      attrs: { from: 's.whatsapp.net' },
      content: undefined,
    });
  });

  it('refuses a body that inflates past maxInflatedBytes (a zip bomb) with TOO_LARGE', () => {
    const bomb = Uint8Array.of(2, ...deflateSync(new Uint8Array(20 * 1024 * 1024)));
    expect(bomb.length).toBeLessThan(100_000);
    const error = failure(() => decodeMdNode(bomb, 3));
    expect([error.code, error.offset]).toEqual(['TOO_LARGE', 1]);
    const small = Uint8Array.of(2, ...deflateSync(new Uint8Array(1000)));
    expect(failure(() => decodeMdNode(small, 3, { maxInflatedBytes: 999 })).code).toBe('TOO_LARGE');
  });

  it('refuses a body that is not zlib', () => {
    expect(decodeError('02 f803190603').code).toBe('BAD_ZLIB');
    expect(decodeError('02').code).toBe('BAD_ZLIB');
  });

  it('reports errors inside the inflated body as such', () => {
    const error = failure(() => decodeMdNode(Uint8Array.of(2, ...deflateSync(hexBytes('f80319'))), 3));
    expect(error.code).toBe('TRUNCATED');
    expect(error.message).toMatch(/inflated body/);
  });
});
