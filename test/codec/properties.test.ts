import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BinaryNode,
  buildQrText,
  CodecError,
  decodeNode,
  encodeNode,
  isJidPart,
  jsonFrame,
  parseClientFrame,
  parseJid,
  parseQrText,
  parseServerFrame,
  TOKENS_V11,
} from '../../codec/index.ts';

const RUNS = 10_000;
const WIRE_SERVER = 's.whatsapp.net';
const tokens = TOKENS_V11.filter((t): t is string => typeof t === 'string' && t !== WIRE_SERVER);

const text = fc
  .oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.constantFrom(...tokens),
    fc.stringMatching(/^[0-9]{1,15}@(c\.us|g\.us|broadcast)$/),
    fc.stringMatching(/^[0-9A-F]{1,20}@[a-z.]{0,8}$/),
    fc.stringMatching(/^[0-9.-]{1,12}$/),
    fc.string({ minLength: 256, maxLength: 400 }),
  )
  .filter((s) => !s.includes(WIRE_SERVER));
const nonEmptyText = text.filter((s) => s.length > 0);

const attrs = fc.option(fc.dictionary(nonEmptyText, text, { minKeys: 1, maxKeys: 4 }), { nil: null });

const { node } = fc.letrec<{ node: BinaryNode }>((tie) => ({
  node: fc.tuple(
    nonEmptyText,
    attrs,
    fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      text,
      fc.uint8Array({ maxLength: 300 }),
      fc.array(tie('node'), { maxLength: 4 }),
    ),
  ) as fc.Arbitrary<BinaryNode>,
}));

/** Whether the encoder writes `text` as a JID pair: a user and a server that are both JID parts. */
function isWrittenAsJid(text: string): boolean {
  const at = text.indexOf('@');
  return at >= 1 && at + 1 < text.length && isJidPart(text.slice(0, at)) && isJidPart(text.slice(at + 1));
}

/** What the wire gives back: string content that is not a token or a JID travels raw, as bytes. */
function canonical([tag, nodeAttrs, content]: BinaryNode): BinaryNode {
  let out = content;
  if (
    typeof content === 'string' &&
    !tokens.includes(content) &&
    content !== 'c.us' &&
    !isWrittenAsJid(content)
  ) {
    out = new TextEncoder().encode(content);
  } else if (Array.isArray(content)) out = content.map(canonical);
  return [tag, nodeAttrs, out];
}

describe('binary node properties (fast-check)', () => {
  it(`decode(encode(node)) equals node in canonical form (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(node, (n) => {
        expect(decodeNode(encodeNode(n))).toEqual(canonical(n));
      }),
      { numRuns: RUNS },
    );
  });

  it(`random bytes give a node or a CodecError, nothing else (${RUNS} cases)`, () => {
    const listStart = fc.constantFrom(0xf8, 0xf9, 0x00);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .tuple(listStart, fc.uint8Array({ maxLength: 64 }))
            .map(([b, rest]) => new Uint8Array([b, ...rest])),
        ),
        (bytes) => {
          try {
            const decoded = decodeNode(bytes);
            expect(Array.isArray(decoded)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(CodecError);
            expect((error as CodecError).offset).toBeLessThanOrEqual(bytes.length);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`mutated valid nodes give a node or a CodecError (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(node, fc.nat(), fc.integer({ min: 0, max: 255 }), (n, at, value) => {
        const bytes = encodeNode(n);
        bytes[at % bytes.length] = value;
        try {
          decodeNode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('JIDs inside nodes (fast-check)', () => {
  const JID_PAIR = 0xfa;
  const JID_AD = 0xf7;
  const BINARY_8 = 0xfc;
  const raw = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return [BINARY_8, bytes.length, ...bytes];
  };
  /** `[tag, {k: <jid>}]` where <jid> is `depth` JID_PAIRs nested in the server (or user) position. */
  function nestedJid(depth: number, inUser: boolean): Uint8Array {
    const jid: number[] = [];
    for (let i = 0; i < depth; i++) jid.push(JID_PAIR, ...(inUser ? [] : raw('u')));
    jid.push(...raw('s'));
    if (inUser) for (let i = 0; i < depth; i++) jid.push(...raw('s'));
    return new Uint8Array([0xf8, 3, ...raw('n'), ...raw('k'), ...jid]);
  }

  it('JID pairs nested in a JID are a CodecError (BAD_JID) at any depth, never a RangeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20_000 }), fc.boolean(), (depth, inUser) => {
        const error = (() => {
          try {
            decodeNode(nestedJid(depth, inUser));
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(CodecError);
        expect((error as CodecError).code).toBe('BAD_JID');
      }),
      { numRuns: 100 },
    );
    expect(decodeNode(nestedJid(1, false))).toEqual(['n', { k: 'u@s' }, null]);
  });

  it('a JID_PAIR or JID_AD part with "@", "," or a control character is refused (BAD_JID)', () => {
    const part = fc
      .tuple(
        fc.string({ maxLength: 8 }),
        fc.constantFrom('@', ',', '\u0000', '\n', '\u001b', '\u007f'),
        fc.string({ maxLength: 8 }),
      )
      .map(([a, bad, b]) => a + bad + b);
    fc.assert(
      fc.property(part, fc.constantFrom('user', 'server', 'ad'), (text, where) => {
        const jid =
          where === 'ad'
            ? [JID_AD, 0, 0, ...raw(text)]
            : where === 'user'
              ? [JID_PAIR, ...raw(text), ...raw('c')]
              : [JID_PAIR, ...raw('u'), ...raw(text)];
        expect(() => decodeNode(new Uint8Array([0xf8, 3, ...raw('n'), ...raw('k'), ...jid]))).toThrow(
          expect.objectContaining({ code: 'BAD_JID' }),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('strings with "@" round-trip whatever their parts hold (written raw when they are no JID)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { minLength: 2, maxLength: 5 }), (parts) => {
        const text = parts.join('@');
        const [, attributes] = decodeNode(encodeNode(['n', { k: text }, null]));
        expect(attributes).toEqual({ k: text });
      }),
      { numRuns: RUNS },
    );
  });

  it('parseJid refuses parts with "@", "," or control characters, and takes real JIDs', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{5,15}(\.[0-9]{1,2})?(:[0-9]{1,2})?@(c\.us|g\.us)$/), (jid) => {
        expect(() => parseJid(jid)).not.toThrow();
      }),
      { numRuns: 1_000 },
    );
    for (const jid of ['491@c.us,x', '49,1@c.us', '491@c\u0000us', '491\n@c.us', 'a@b@c', 'c,us'])
      expect(() => parseJid(jid)).toThrow(expect.objectContaining({ code: 'BAD_JID' }));
  });
});

describe('frame and QR properties (fast-check)', () => {
  const tag = fc.stringMatching(/^[0-9a-z.-]{1,24}$/);
  const json = fc.jsonValue();

  it(`client JSON frames round-trip, with one or two commas (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(tag, json, fc.boolean(), (t, value, doubleComma) => {
        const parsed = parseClientFrame(jsonFrame(t, value, { doubleComma }), false);
        expect(parsed).toEqual({ kind: 'json', tag: t, data: JSON.parse(JSON.stringify(value)) });
      }),
      { numRuns: RUNS },
    );
  });

  it(`random text and bytes give a frame or a CodecError (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })),
        fc.boolean(),
        (data, isBinary) => {
          for (const parse of [parseClientFrame, parseServerFrame]) {
            try {
              parse(data, isBinary);
            } catch (error) {
              expect(error).toBeInstanceOf(CodecError);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`QR text round-trips (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^1@[A-Za-z0-9+/=]{1,60}$/),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (ref, publicKey, id) => {
          const clientId = Buffer.from(id).toString('base64');
          expect(parseQrText(buildQrText({ ref, publicKey, clientId }))).toEqual({
            ref,
            publicKey,
            clientId,
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the fast paths of the rewritten reader (fast-check)', () => {
  const BINARY_8 = 0xfc;
  const NIBBLE_8 = 0xff;

  it(`isJidPart answers as /[@,\\p{Cc}]/u does (${RUNS} cases)`, () => {
    const forbiddenish = fc.constantFrom(
      '@',
      ',',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u0085',
      '\u009f',
      '\u00a0',
      ' ',
    );
    const mixed = fc
      .tuple(fc.string({ maxLength: 10 }), forbiddenish, fc.string({ unit: 'binary', maxLength: 10 }))
      .map(([a, b, c]) => a + b + c);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), mixed), (text) => {
        expect(isJidPart(text)).toBe(!/[@,\p{Cc}]/u.test(text));
      }),
      { numRuns: RUNS },
    );
  });

  it(`raw strings decode as TextDecoder decodes their bytes, valid UTF-8 or not (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (text) => {
        // ['x', {k: <text>}] with the value written raw
        const head = text.length < 256 ? [BINARY_8, text.length] : [];
        if (head.length === 0) return;
        const bytes = new Uint8Array([0xf8, 3, BINARY_8, 1, 0x78, BINARY_8, 1, 0x6b, ...head, ...text]);
        expect(decodeNode(bytes)).toEqual(['x', { k: new TextDecoder().decode(text) }, null]);
      }),
      { numRuns: RUNS },
    );
  });

  it(`packed strings decode nibble by nibble, pad nibbles inside as NUL (${RUNS} cases)`, () => {
    const chars = '0123456789-.\u0000\u0000\u0000\u0000';
    const nibble = fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15);
    fc.assert(
      fc.property(fc.array(nibble, { minLength: 1, maxLength: 254 }), (nibbles) => {
        const odd = nibbles.length % 2;
        const padded = odd ? [...nibbles, 15] : nibbles;
        const packed: number[] = [];
        for (let i = 0; i < padded.length; i += 2) packed.push((padded[i]! << 4) | padded[i + 1]!);
        const bytes = new Uint8Array([
          0xf8,
          3,
          BINARY_8,
          1,
          0x78,
          BINARY_8,
          1,
          0x6b,
          NIBBLE_8,
          (odd ? 0x80 : 0) | packed.length,
          ...packed,
        ]);
        const expected = nibbles.map((n) => chars[n]).join('');
        expect(decodeNode(bytes)).toEqual(['x', { k: expected }, null]);
      }),
      { numRuns: RUNS },
    );
  });
});
