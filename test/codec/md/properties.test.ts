// Properties of the MD node codec (docs/protocol-md.md, "Binary nodes"), for both dictionaries: round trips of
// random nodes, hostile bytes that only ever give a CodecError, adversarial inputs that stop early (bounded
// time and memory: the error offset shows how far the decoder read), and the depth limit.
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../codec/index.ts';
import {
  decodeMdNode,
  encodeMdNode,
  MD_DICTIONARY_V2,
  MD_DICTIONARY_V3,
  type MdDictionary,
  type MdNode,
} from '../../../codec/md/index.ts';

const RUNS = 1000;
const FUZZ_RUNS = 6000;
const utf8 = new TextEncoder();

/**
 * Texts the encoder writes in a form that reads back differently, as the reference encoders do (vectors README
 * §4.3): an explicit `:0` device, Baileys' `_agent` suffix, and (version 2) a hosted server with a device.
 */
function lossy(s: string, version: 2 | 3): boolean {
  if (/:0@(s\.whatsapp\.net|lid|hosted|hosted\.lid)$/.test(s)) return true;
  if (/_\d+:\d+@[^@]+$/.test(s)) return true;
  return version === 2 && /:\d+@hosted(\.lid)?$/.test(s);
}

function textArb(dictionary: MdDictionary): fc.Arbitrary<string> {
  const tokens = [...dictionary.tokenCode.keys()];
  const jid = fc
    .tuple(
      fc.oneof(fc.stringMatching(/^[0-9]{1,15}$/), fc.constantFrom('', 'status', 'x-y', 'abc')),
      fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined }),
      fc.constantFrom(
        's.whatsapp.net',
        'lid',
        'hosted',
        'hosted.lid',
        'g.us',
        'broadcast',
        'newsletter',
        'msgr',
        'interop',
        'c.us',
        'example.com',
      ),
    )
    .map(([user, device, integrator, server]) => {
      const who = server === 'interop' && integrator !== undefined ? `${integrator}-${user}` : user;
      return `${who}${device === undefined ? '' : `:${device}`}@${server}`;
    });
  return fc
    .oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constantFrom(...tokens),
      fc.stringMatching(/^[0-9.-]{1,130}$/),
      fc.stringMatching(/^[0-9A-F]{1,130}$/),
      jid,
      fc.string({ minLength: 80, maxLength: 400 }),
      fc.string({ unit: 'grapheme', minLength: 60, maxLength: 200 }),
      fc.constant(''),
    )
    .filter((s) => !lossy(s, dictionary.version));
}

function nodeArb(dictionary: MdDictionary): fc.Arbitrary<MdNode> {
  const text = textArb(dictionary);
  const tag = text.filter((s) => s.length > 0);
  const { node } = fc.letrec<{ node: MdNode }>((tie) => ({
    node: fc.record({
      tag,
      attrs: fc.dictionary(text, text, { maxKeys: 5 }),
      content: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(undefined),
        text,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(tie('node'), { maxLength: 4 }),
      ),
    }),
  }));
  return node;
}

const NIBBLE = /^[0-9.-]{1,127}$/;
const HEX = /^[0-9A-F]{1,127}$/;

/** decoded == original, except that string content may travel raw and come back as its UTF-8 bytes. */
function expectSameNode(decoded: MdNode, original: MdNode, dictionary: MdDictionary): void {
  expect(decoded.tag).toBe(original.tag);
  expect(decoded.attrs).toEqual({ ...original.attrs });
  const content = original.content;
  if (typeof content === 'string') {
    if (typeof decoded.content === 'string') expect(decoded.content).toBe(content);
    else if (content === '' && dictionary.emptyStringAsListEmpty) expect(decoded.content).toEqual([]);
    else {
      // only a string with no shorter form goes raw
      expect(dictionary.tokenCode.has(content) || NIBBLE.test(content) || HEX.test(content)).toBe(false);
      expect(decoded.content).toEqual(utf8.encode(content));
    }
  } else if (Array.isArray(content)) {
    expect(Array.isArray(decoded.content)).toBe(true);
    const children = decoded.content as MdNode[];
    expect(children.length).toBe(content.length);
    content.forEach((child, i) => {
      expectSameNode(children[i]!, child, dictionary);
    });
  } else expect(decoded.content).toEqual(content);
}

function attempt(run: () => unknown): CodecError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
}

describe.each([
  [2, MD_DICTIONARY_V2],
  [3, MD_DICTIONARY_V3],
] as const)('dictionary version %i', (_version, dictionary) => {
  const node = nodeArb(dictionary);

  it('round-trips random nodes (attributes exactly, content up to string/bytes)', () => {
    fc.assert(
      fc.property(node, (original) => {
        const bytes = encodeMdNode(original, dictionary);
        expect(bytes[0]).toBe(0);
        expectSameNode(decodeMdNode(bytes, dictionary), original, dictionary);
      }),
      { numRuns: RUNS },
    );
  });

  it('re-encodes a decoded node to the same bytes', () => {
    fc.assert(
      fc.property(node, (original) => {
        const bytes = encodeMdNode(original, dictionary);
        const again = encodeMdNode(decodeMdNode(bytes, dictionary), dictionary);
        // Buffer.equals: a deep toEqual over every byte is what makes a property run slow
        expect(Buffer.from(again).equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips lists of 250-300 children (LIST_8 to LIST_16)', () => {
    const child = fc.record({ tag: fc.constantFrom('item', 'x', 'message'), attrs: fc.constant({}) });
    fc.assert(
      fc.property(fc.array(child, { minLength: 250, maxLength: 300 }), (children) => {
        const parent: MdNode = { tag: 'list', attrs: {}, content: children };
        const decoded = decodeMdNode(encodeMdNode(parent, dictionary), dictionary);
        expect((decoded.content as MdNode[]).map((c) => c.tag)).toEqual(children.map((c) => c.tag));
      }),
      { numRuns: 50 },
    );
  });

  it('random bytes give a node or a CodecError, never another error; what decodes re-encodes and decodes', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((rest) => Uint8Array.of(0, 0xf8, rest.length % 9, ...rest)),
      // a valid zlib stream around node-like bytes: the inflated body gets fuzzed too
      fc
        .uint8Array({ maxLength: 200 })
        .map((rest) => Uint8Array.of(2, ...deflateSync(Uint8Array.of(0xf8, rest.length % 9, ...rest)))),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        let decoded: MdNode | undefined;
        const error = attempt(() => {
          decoded = decodeMdNode(bytes, dictionary);
        });
        if (error) {
          expect(error.offset).toBeGreaterThanOrEqual(0);
          expect(error.offset).toBeLessThanOrEqual(Math.max(bytes.length, 1));
        } else decodeMdNode(encodeMdNode(decoded!, dictionary), dictionary);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('mutated and truncated encodings give a node or a CodecError', () => {
    const mutated = fc
      .tuple(
        node,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
      )
      .map(([original, edits, cut]) => {
        const bytes = encodeMdNode(original, dictionary);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return cut % 3 === 0 ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        attempt(() => decodeMdNode(bytes, dictionary));
      }),
      { numRuns: FUZZ_RUNS / 2 },
    );
  });

  it('stops at the depth limit within the first levels however deep the nest (lists, JID_PAIR, AD_JID, FB_JID)', () => {
    const level = {
      list: 'f80219f801', // a node whose only child is the next node
      pair: 'fa', // a JID_PAIR whose user is the next JID
      ad: 'f70000', // an AD_JID whose user is the next JID
      fb: 'f6', // an FB_JID whose user is the next JID (version 3)
    };
    fc.assert(
      fc.property(
        fc.constantFrom('list', 'pair', 'ad', 'fb'),
        fc.integer({ min: 70, max: 50_000 }),
        (kind, depth) => {
          const repeat = level[kind as keyof typeof level].repeat(depth);
          const hex = kind === 'list' ? `00${repeat}f80119` : `00f80319 06${repeat}fc0161`;
          const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
          const error = attempt(() => decodeMdNode(bytes, dictionary));
          expect(error).toBeDefined();
          if (kind === 'fb' && dictionary.version === 2) expect(error!.code).toBe('BAD_TAG');
          else expect(error!.code).toBe('TOO_DEEP');
          expect(error!.offset).toBeLessThan(6 * 65);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses declared lengths and counts past the input at their header, without reading on', () => {
    const oversized = fc.oneof(
      // byte lengths of 3 and more, since up to 2 bytes follow the header
      fc.integer({ min: 3, max: 255 }).map((n) => ({ hex: `fc${hex(n, 1)}`, at: 6 })),
      fc.integer({ min: 3, max: 0xfffff }).map((n) => ({ hex: `fd${hex(n, 3)}`, at: 8 })),
      fc.integer({ min: 3, max: 0xffffffff }).map((n) => ({ hex: `fe${hex(n, 4)}`, at: 9 })),
      fc.integer({ min: 1, max: 255 }).map((n) => ({ hex: `f8${hex(n, 1)}`, at: 4 })),
      fc.integer({ min: 1, max: 0xffff }).map((n) => ({ hex: `f9${hex(n, 2)}`, at: 4 })),
    );
    fc.assert(
      fc.property(oversized, fc.uint8Array({ maxLength: 2 }), ({ hex: header, at }, tail) => {
        const bytes = Uint8Array.of(...Buffer.from(`00f80219${header}`, 'hex'), ...tail);
        const error = attempt(() => decodeMdNode(bytes, dictionary));
        expect(error?.code).toBe('TRUNCATED');
        expect(error!.offset).toBe(at);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes nodes nested up to maxDepth and refuses deeper ones; a JID counts one level', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 0, max: 3 }),
        (maxDepth, depth, jidNest) => {
          // `depth` nested nodes; the innermost has a `from` attribute with `jidNest` nested JID_PAIRs
          const value = jidNest === 0 ? '03' : `${'fa'.repeat(jidNest)}fc0161${'03'.repeat(jidNest)}`;
          const inner = `f803${tokenHex(dictionary, 'iq')}${tokenHex(dictionary, 'from')}${value}`;
          const hex = `00${`f802${tokenHex(dictionary, 'iq')}f801`.repeat(depth - 1)}${inner}`;
          const error = attempt(() => decodeMdNode(Buffer.from(hex, 'hex'), dictionary, { maxDepth }));
          if (depth + jidNest <= maxDepth) expect(error).toBeUndefined();
          else expect(error?.code).toBe('TOO_DEEP');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses compressed bodies that inflate past maxInflatedBytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (limit, size) => {
        const body = deflateSync(new Uint8Array(size));
        const error = attempt(() =>
          decodeMdNode(Uint8Array.of(2, ...body), dictionary, { maxInflatedBytes: limit }),
        );
        // within the limit the zeros inflate, then fail as nodes (00 = an empty node list)
        expect(error?.code).toBe(size > limit ? 'TOO_LARGE' : 'EMPTY_NODE');
      }),
      { numRuns: 200 },
    );
  });
});

function hex(value: number, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, '0');
}

function tokenHex(dictionary: MdDictionary, token: string): string {
  return hex(dictionary.tokenCode.get(token)!, 1);
}
