// decodeWebMessageInfo's own reader (codec/legacy/proto-reader.ts) against protobufjs over the same schema:
// any message of the schema decodes to what protobufjs's decode + toObject gives, and hostile bytes give a
// CodecError and nothing else.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { CodecError, decodeWebMessageInfo, encodeWebMessageInfo } from '../../codec/index.ts';

const RUNS = 2_000;
const root = protobuf.parse(
  readFileSync(new URL('../../codec/legacy/proto/whatsapp.proto', import.meta.url), 'utf8'),
  { keepCase: true },
).root;
const WebMessageInfo = root.lookupType('walink.WebMessageInfo');

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** What decodeWebMessageInfo returned when it was protobufjs's decode and toObject. */
function reference(bytes: Uint8Array): unknown {
  const decoded = WebMessageInfo.decode(bytes);
  return plain(
    WebMessageInfo.toObject(decoded, { longs: Number, enums: Number, bytes: Uint8Array as never }),
  );
}

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ minLength: 25, maxLength: 80 }),
);

/** An arbitrary object of a message type, fields present or not, nested messages to a small depth. */
function messageOf(type: protobuf.Type, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    let value: fc.Arbitrary<unknown> | null;
    switch (field.type) {
      case 'string':
        value = text;
        break;
      case 'bytes':
        value = fc.uint8Array({ maxLength: 40 });
        break;
      case 'bool':
        value = fc.boolean();
        break;
      case 'uint32':
        value = fc.nat({ max: 2 ** 32 - 1 });
        break;
      case 'uint64':
        value = fc.maxSafeNat();
        break;
      case 'int64':
        value = fc.maxSafeInteger();
        break;
      case 'double':
        value = fc.double({ noNaN: true }).map((v) => (v === 0 ? 0 : v));
        break;
      default: {
        const resolved = field.resolvedType;
        if (resolved instanceof protobuf.Enum) value = fc.constantFrom(...Object.values(resolved.values));
        else value = depth < 3 ? messageOf(resolved as protobuf.Type, depth + 1) : null;
      }
    }
    if (value) fields[field.name] = field.repeated ? fc.array(value, { maxLength: 3 }) : value;
  }
  return fc.record(fields, { requiredKeys: [] });
}

const infos = messageOf(WebMessageInfo, 0).map((info) => ({ key: {}, ...info }));
const encode = (info: Record<string, unknown>) =>
  WebMessageInfo.encode(WebMessageInfo.fromObject(info)).finish();

describe('WebMessageInfo reader', () => {
  it('decodes any message of the schema as protobufjs does', () => {
    fc.assert(
      fc.property(infos, (info) => {
        const bytes = encode(info);
        expect(decodeWebMessageInfo(bytes)).toEqual(reference(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('gives plain Uint8Arrays that own their bytes, never views into the input', () => {
    const bytes = encodeWebMessageInfo({
      key: { id: 'A' },
      message: { imageMessage: { mediaKey: new Uint8Array(32).fill(7) } },
    });
    const key = decodeWebMessageInfo(bytes).message!.imageMessage!.mediaKey!;
    expect(Object.getPrototypeOf(key)).toBe(Uint8Array.prototype);
    bytes.fill(0);
    expect(key).toEqual(new Uint8Array(32).fill(7));
  });

  it('reads 64-bit varints as protobufjs does: negative int64, uint64 above 2^32, overlong 32-bit ones', () => {
    for (const value of [-1, -(2 ** 40) - 3, 2 ** 33 + 5, 2 ** 53 - 1]) {
      const info = { key: { id: 'x' }, message: { imageMessage: { mediaKeyTimestamp: value } } };
      expect(decodeWebMessageInfo(encode(info))).toEqual(reference(encode(info)));
    }
    // status (an enum) written as a 10-byte varint of -1
    const bytes = new Uint8Array([0x0a, 0x00, 0x20, ...new Array(9).fill(0xff), 0x01]);
    expect(decodeWebMessageInfo(bytes)).toEqual(reference(bytes));
  });

  it('skips unknown fields and known ones with another wire type', () => {
    // key {}, field 99 (varint), then status (field 4) as a length-delimited field
    const bytes = new Uint8Array([0x0a, 0x00, 0x98, 0x06, 0x05, 0x22, 0x01, 0x41]);
    expect(decodeWebMessageInfo(bytes)).toEqual({ key: {} });
  });

  it('refuses truncation, overlong varints, groups and deep nesting with BAD_PROTO', () => {
    const bad = [
      new Uint8Array([0x0a, 0x05, 0x0a]), // a length past the end
      new Uint8Array([0x0a, 0x00, 0x20, ...new Array(11).fill(0xff)]), // an 11-byte varint
      new Uint8Array([0x0a, 0x00, 0x23]), // a group
      new Uint8Array([0x0a, 0x00, 0x08]), // field 1 varint… past the end
      new Uint8Array([0x12, 0x00]), // no key
    ];
    // quotedMessage inside contextInfo inside extendedTextMessage, 100 levels deep (written by hand:
    // protobufjs's own fromObject refuses such depth)
    const varint = (value: number) => {
      const out: number[] = [];
      let n = value;
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    const field = (id: number, body: Uint8Array) =>
      new Uint8Array([...varint((id << 3) | 2), ...varint(body.length), ...body]);
    let message = field(1, new Uint8Array([0x78])); // conversation 'x'
    for (let i = 0; i < 100; i++) message = field(6, field(17, field(3, message)));
    bad.push(new Uint8Array([0x0a, 0x00, ...field(2, message)]));
    for (const bytes of bad) {
      expect(() => decodeWebMessageInfo(bytes)).toThrow(expect.objectContaining({ code: 'BAD_PROTO' }));
    }
  });

  it('answers hostile bytes with a message or a CodecError, nothing else', () => {
    const mutated = fc
      .tuple(
        infos,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
      )
      .map(([info, edits, cut]) => {
        const bytes = encode(info).slice();
        for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
        return bytes.subarray(0, bytes.length === 0 ? 0 : cut % (bytes.length + 1));
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 64 })), (bytes) => {
        try {
          decodeWebMessageInfo(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
