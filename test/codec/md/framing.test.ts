import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, md } from '../../../codec/index.ts';
import { concatBytes } from '../../../crypto/index.ts';
import { buildConnectionIntro, connectionHeader } from '../../../crypto/md/index.ts';

const { FrameDecoder, FrameEncoder, encodeFrame } = md;

function expectCode(run: () => unknown, code: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CodecError);
  expect((caught as CodecError).code).toBe(code);
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated) into consecutive messages. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(bytes.slice(start, point));
    start = point;
  }
  return parts;
}

const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 400 }), { maxLength: 12 });

describe('MD framing: u24 length ‖ payload', () => {
  it('encodes the 3-byte big-endian length', () => {
    expect([...encodeFrame(Uint8Array.of(0xaa))]).toEqual([0, 0, 1, 0xaa]);
    expect([...encodeFrame(new Uint8Array(0x10203)).subarray(0, 3)]).toEqual([1, 2, 3]);
  });

  it('refuses a zero-length frame and one of 2^24 bytes or more', () => {
    expectCode(() => encodeFrame(new Uint8Array(0)), 'EMPTY_FRAME');
    expectCode(() => new FrameEncoder().encode(new Uint8Array(0)), 'EMPTY_FRAME');
    expectCode(() => encodeFrame(new Uint8Array(2 ** 24)), 'FRAME_TOO_LARGE');
    expect(encodeFrame(new Uint8Array(2 ** 24 - 1))).toHaveLength(2 ** 24 + 2);
  });

  it('the encoder puts the intro in front of the first frame only', () => {
    const intro = buildConnectionIntro(connectionHeader(3), Uint8Array.of(9, 9));
    const encoder = new FrameEncoder(intro);
    const first = encoder.encode(Uint8Array.of(1));
    expect(first).toEqual(concatBytes(intro, Uint8Array.of(0, 0, 1, 1)));
    expect(encoder.encode(Uint8Array.of(2))).toEqual(Uint8Array.of(0, 0, 1, 2));
  });

  it('any split of the byte stream into messages yields the same frames (client side)', () => {
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const stream = concatBytes(...frames.map((f) => encodeFrame(f)));
        const decoder = new FrameDecoder();
        const out = split(stream, cuts).flatMap((message) => decoder.push(message));
        expect(out.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('any split, with the intro and pre-intro in front (server side)', () => {
    fc.assert(
      fc.property(
        payloads,
        fc.option(fc.uint8Array({ maxLength: 60 })),
        fc.constantFrom(2, 3),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, routing, version, cuts) => {
          const encoder = new FrameEncoder(buildConnectionIntro(connectionHeader(version), routing));
          const stream = concatBytes(...frames.map((f) => encoder.encode(f)));
          const decoder = new FrameDecoder({ expectIntro: true });
          const out = split(stream, cuts).flatMap((message) => decoder.push(message));
          expect(out.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
          if (frames.length > 0) {
            expect(decoder.intro?.dictVersion).toBe(version);
            expect(decoder.intro?.routingInfo ?? null).toEqual(routing ?? null);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes give frames or typed errors only, and buffering stays bounded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 200 }),
        (messages, expectIntro, maxFramePayload) => {
          const decoder = new FrameDecoder({ expectIntro, maxFramePayload, maxRoutingInfo: 32 });
          const bound = Math.max(maxFramePayload + 3, 4 + 3 + 32 + 4);
          let failed: unknown = null;
          for (const message of messages) {
            try {
              for (const frame of decoder.push(message))
                expect(frame.length).toBeLessThanOrEqual(maxFramePayload);
            } catch (error) {
              failed = error;
              break;
            }
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(bound);
          }
          if (failed) {
            expect(failed).toBeInstanceOf(CodecError);
            // A failed decoder stays failed.
            expect(() => decoder.push(Uint8Array.of(0, 0, 1, 1))).toThrow(CodecError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a declared length over the bound fails at once, before its bytes arrive', () => {
    const decoder = new FrameDecoder({ maxFramePayload: 1000 });
    expectCode(() => decoder.push(Uint8Array.of(0, 0x03, 0xe9)), 'FRAME_TOO_LARGE');
    expectCode(() => decoder.push(Uint8Array.of(0, 0, 1, 1)), 'FRAME_TOO_LARGE');
    const split = new FrameDecoder({ maxFramePayload: 1000 });
    expect(split.push(Uint8Array.of(0))).toEqual([]);
    expectCode(() => split.push(Uint8Array.of(0x10, 0)), 'FRAME_TOO_LARGE');
  });

  it('holds only the bytes that arrived, not the length a peer announced', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(concatBytes(Uint8Array.of(0x0f, 0x42, 0x40), new Uint8Array(10)))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(10);
    const rest = new Uint8Array(1_000_000 - 10).fill(7);
    const [frame] = decoder.push(concatBytes(rest, encodeFrame(Uint8Array.of(1))).subarray(0, rest.length));
    expect(frame).toHaveLength(1_000_000);
    expect(frame![10]).toBe(7);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('a bad intro is BAD_INTRO; a zero-length frame received is passed up as empty', () => {
    expectCode(() => new FrameDecoder({ expectIntro: true }).push(Uint8Array.of(0, 0, 1, 1)), 'BAD_INTRO');
    const tooLong = buildConnectionIntro(connectionHeader(3), new Uint8Array(100));
    expectCode(() => new FrameDecoder({ expectIntro: true, maxRoutingInfo: 10 }).push(tooLong), 'BAD_INTRO');
    expect(new FrameDecoder().push(Uint8Array.of(0, 0, 0, 0, 0, 1, 7))).toEqual([
      new Uint8Array(0),
      Uint8Array.of(7),
    ]);
    expectCode(() => new FrameDecoder().push('text' as never), 'BAD_FRAME');
  });
});
