// The MD encoder's choices (docs/protocol-md.md, "Binary nodes: encoder") beyond the published vectors, and its
// refusals. Expected bytes are spelled with v3 tokens: 19 = iq, 06 = from, 03 = s.whatsapp.net, cc = msgr.
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../codec/index.ts';
import { decodeMdNode, encodeMdNode, MD_DICTIONARY_V3, type MdNode } from '../../../codec/md/index.ts';
import { toHex } from './vector-json.ts';

/** The bytes of `from`'s value in `<iq from=…>` (after 00 f803 19 06). */
function valueHex(value: string, version: 2 | 3 = 3): string {
  const hex = toHex(encodeMdNode({ tag: 'iq', attrs: { from: value } }, version));
  const prefix = version === 3 ? '00f8031906' : '00f8031e06';
  expect(hex.startsWith(prefix)).toBe(true);
  return hex.slice(prefix.length);
}

function roundTrip(value: string, version: 2 | 3 = 3): string | undefined {
  return decodeMdNode(encodeMdNode({ tag: 'iq', attrs: { from: value } }, version), version).attrs['from'];
}

function badNode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CodecError) return error.code;
    throw error;
  }
  throw new Error('expected a CodecError');
}

describe('the order of encodings: token, nibble, hex, JID, raw', () => {
  it('writes tokens, single and double byte', () => {
    expect(valueHex('s.whatsapp.net')).toBe('03');
    expect(valueHex('screen_width')).toBe('ec05');
  });

  it('packs digits, "-" and "." as nibbles up to 127 characters, then writes them raw', () => {
    expect(valueHex('123-4.5')).toBe('ff84123a4b5f');
    expect(valueHex('1'.repeat(127)).slice(0, 4)).toBe('ffc0'); // 64 bytes, odd
    expect(valueHex('1'.repeat(128)).slice(0, 4)).toBe('fc80');
  });

  it('writes a digit string that is a token as the token', () => {
    expect(valueHex('401')).toBe(MD_DICTIONARY_V3.tokenCode.get('401')!.toString(16).padStart(2, '0'));
    expect(valueHex('402')).toBe('ff82402f');
  });

  it('packs uppercase hex up to 127 characters; lowercase goes raw', () => {
    expect(valueHex('3EB0A')).toBe('fb833eb0af');
    expect(valueHex('3eb0a')).toBe('fc053365623061');
    expect(valueHex('A'.repeat(128)).slice(0, 4)).toBe('fc80');
  });

  it('writes non-ASCII raw as UTF-8 in the shortest BINARY form', () => {
    expect(valueHex('é')).toBe('fc02c3a9');
    expect(valueHex('€'.repeat(85)).slice(0, 4)).toBe('fcff');
    expect(valueHex('€'.repeat(86)).slice(0, 8)).toBe('fd000102');
    expect(valueHex('😀x'.repeat(50)).slice(0, 4)).toBe('fcfa'); // 250 bytes from 150 UTF-16 units
    expect(valueHex('😀x'.repeat(60)).slice(0, 8)).toBe('fd00012c');
    expect(roundTrip('😀x'.repeat(60))).toBe('😀x'.repeat(60));
    expect(roundTrip(`${'a'.repeat(300)}€`)).toBe(`${'a'.repeat(300)}€`);
  });

  it('writes "" as byte 00 in version 2 (6.17.16) and as BINARY_8 0 in version 3 (HEAD)', () => {
    expect(valueHex('', 2)).toBe('00');
    expect(valueHex('', 3)).toBe('fc00');
    expect(roundTrip('', 2)).toBe('');
    expect(roundTrip('', 3)).toBe('');
  });
});

describe('JIDs', () => {
  const U = 'ff8615551234567f'; // the user 15551234567, nibble-packed
  it('writes user@server as JID_PAIR and @server with an empty user', () => {
    expect(valueHex('15551234567@s.whatsapp.net')).toBe('faff8615551234567f03');
    expect(valueHex('@s.whatsapp.net')).toBe('fa0003');
    expect(valueHex('user@example.com')).toBe('fa0efc0b6578616d706c652e636f6d'); // 0e = user
  });

  it('writes a device as AD_JID, with the domain type of each version', () => {
    expect(valueHex('15551234567:2@s.whatsapp.net')).toBe(`f70002${U}`);
    expect(valueHex('15551234567:2@lid', 2)).toBe(`f70102${U}`);
    expect(valueHex('15551234567:2@hosted', 3)).toBe(`f78002${U}`);
    expect(valueHex('15551234567:2@hosted.lid', 3)).toBe(`f78102${U}`);
    expect(valueHex('15551234567:2@hosted', 2)).toBe(`f70002${U}`);
    expect(valueHex('15551234567_1:2@s.whatsapp.net', 3)).toBe(`f70102${U}`);
    expect(valueHex('15551234567_1:2@s.whatsapp.net', 2)).toBe(`f70002${U}`);
  });

  it('writes @msgr and @interop JIDs with a device as FB_JID / INTEROP_JID in version 3 only', () => {
    expect(valueHex('15551234567:5@msgr', 3)).toBe(`f6${U}0005cc`);
    expect(roundTrip('15551234567:5@msgr', 3)).toBe('15551234567:5@msgr');
    expect(valueHex('7-15551234567:1@interop', 3)).toBe(`f5${U}00010007fc07696e7465726f70`);
    expect(roundTrip('7-15551234567:1@interop', 3)).toBe('7-15551234567:1@interop');
    expect(roundTrip('15551234567:5@msgr', 2)).toBe('15551234567:5@msgr');
    expect(valueHex('15551234567:5@msgr', 2).slice(0, 2)).toBe('fc');
  });

  it('writes raw what the wire cannot carry as a JID without changing the text', () => {
    const raw = [
      'a@', // no server
      'a@b@c', // a second @
      ':3@s.whatsapp.net', // a device without a user
      '1:256@s.whatsapp.net', // a device past one byte
      '1:03@s.whatsapp.net', // not a canonical number
      '1:x@s.whatsapp.net',
      '1:2:3@s.whatsapp.net',
      '1:3@g.us', // a device on a server without domain type
      '_1:3@s.whatsapp.net',
      '1_x:3@s.whatsapp.net',
      'x-:1@interop',
      '9:1@interop',
    ];
    for (const text of raw) {
      expect(valueHex(text).slice(0, 2)).toBe('fc');
      expect(roundTrip(text)).toBe(text);
    }
  });

  it('writes an explicit :0 device as AD_JID, which reads back without it (as Baileys does)', () => {
    expect(valueHex('15551234567:0@s.whatsapp.net')).toBe(`f70000${U}`);
    expect(roundTrip('15551234567:0@s.whatsapp.net')).toBe('15551234567@s.whatsapp.net');
  });
});

describe('nodes', () => {
  it('starts with the flag byte 00 and keeps attribute order', () => {
    const bytes = encodeMdNode({ tag: 'iq', attrs: { to: 'lid', from: 's.whatsapp.net' } }, 3);
    expect(toHex(bytes)).toBe('00f80519117606' + '03');
    expect(Object.keys(decodeMdNode(bytes, 3).attrs)).toEqual(['to', 'from']);
  });

  it('leaves out null and undefined attributes, and null content', () => {
    const attrs = { a: undefined, b: null, to: 'lid' } as unknown as Record<string, string>;
    expect(toHex(encodeMdNode({ tag: 'iq', attrs, content: null as unknown as undefined }, 3))).toBe(
      '00f803191176',
    );
  });

  it('writes children, bytes and the empty list', () => {
    const node: MdNode = {
      tag: 'iq',
      attrs: {},
      content: [
        { tag: 'iq', attrs: {}, content: Uint8Array.of(1) },
        { tag: 'iq', attrs: {}, content: [] },
      ],
    };
    expect(toHex(encodeMdNode(node, 3))).toBe('00f80219f802f80219fc0101f8021900');
  });

  it('returns independent results although it reuses one buffer', () => {
    const first = encodeMdNode({ tag: 'iq', attrs: { id: 'a' } }, 3);
    const copy = first.slice();
    encodeMdNode({ tag: 'message', attrs: { id: 'b'.repeat(10_000) } }, 3);
    expect(first).toEqual(copy);
  });

  it('refuses malformed nodes with BAD_NODE', () => {
    const cyclic: MdNode = { tag: 'iq', attrs: {}, content: [] };
    (cyclic.content as MdNode[]).push(cyclic);
    const cases: unknown[] = [
      null,
      'iq',
      { attrs: {} },
      { tag: '', attrs: {} },
      { tag: 'iq', attrs: [] },
      { tag: 'iq', attrs: { id: 5 } },
      { tag: 'iq', attrs: {}, content: 5 },
      { tag: 'iq', attrs: {}, content: ['x'] },
      { tag: 'iq', attrs: {}, content: new Array(65_536).fill({ tag: 'iq', attrs: {} }) },
      cyclic,
    ];
    for (const node of cases) expect(badNode(() => encodeMdNode(node as MdNode, 3))).toBe('BAD_NODE');
  });

  it('takes the dictionary or its version', () => {
    expect(badNode(() => encodeMdNode({ tag: 'iq', attrs: {} }, 4 as 3))).toBe('UNKNOWN_VERSION');
  });
});
