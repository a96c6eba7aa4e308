// A protobuf reader for the WebMessageInfo schema (codec/legacy/proto/whatsapp.proto), driven by field tables
// built once from the parsed schema. It returns the plain objects decodeWebMessageInfo promises (uint64/int64
// as numbers, enums as numbers, bytes as fresh Uint8Arrays, absent fields absent) in one pass, where the
// protobufjs path decoded into message instances, converted them with toObject and copied them once more.
// Each message type's loop is compiled once from its table (`new Function` over the schema's own field names,
// which are checked to be identifiers), so every property store has a constant name, as protobufjs's generated
// code has; strings are scanned for ASCII and then made by asciiAt (codec/ascii.ts), which measured faster
// than building them per character or going through TextDecoder for the short ids, JIDs and names here.
//
// Hostile input by design: every length is checked against what remains, varints are at most 10 bytes,
// messages nest at most MAX_DEPTH deep, and every failure is a CodecError BAD_PROTO with the offset. A known
// field with an unexpected wire type is skipped like an unknown one (as protobuf's own parsers do).
import type protobuf from 'protobufjs';
import { asciiAt } from '../ascii.ts';
import { CodecError } from '../errors.ts';

const MAX_DEPTH = 64;

// Field kinds, numbered so the hot switch compares small integers.
const STRING = 0;
const BYTES = 1;
const BOOL = 2;
const UINT32 = 3;
const INT32 = 4; // enums too
const UINT64 = 5;
const INT64 = 6;
const DOUBLE = 7;
const MESSAGE = 8;
const FLOAT = 9;

const KIND_OF: Record<string, number> = {
  string: STRING,
  bytes: BYTES,
  bool: BOOL,
  uint32: UINT32,
  int32: INT32,
  uint64: UINT64,
  int64: INT64,
  double: DOUBLE,
  float: FLOAT,
};

// The wire type each kind is written with (docs: protobuf encoding): 0 varint, 1 64-bit, 2 length, 5 32-bit.
const WIRE_OF = [2, 2, 0, 0, 0, 0, 0, 1, 2, 5];

interface Field {
  name: string;
  kind: number;
  wire: number;
  repeated: boolean;
  table: Table | null;
}

/** Fields by number (a dense array: the schema's numbers are small). */
type Table = (Field | undefined)[];

const tables = new WeakMap<protobuf.Type, Table>();

/** The field table of a message type, built once (recursive types share their table). */
export function tableFor(type: protobuf.Type): Table {
  const known = tables.get(type);
  if (known) return known;
  const table: Table = [];
  tables.set(type, table);
  for (const field of type.fieldsArray) {
    field.resolve();
    let kind = KIND_OF[field.type];
    let sub: Table | null = null;
    if (kind === undefined) {
      const resolved = field.resolvedType;
      if (resolved && 'fieldsArray' in resolved) {
        kind = MESSAGE;
        sub = tableFor(resolved as protobuf.Type);
      } else if (resolved)
        kind = INT32; // an enum
      else
        throw new Error(`proto-reader: field ${type.name}.${field.name} has unsupported type ${field.type}`);
    }
    if (field.repeated && kind !== STRING && kind !== BYTES && kind !== MESSAGE) {
      // Packed scalars are not in this schema; refuse to build a table that would misread them.
      throw new Error(`proto-reader: repeated scalar ${type.name}.${field.name} is not supported`);
    }
    table[field.id] = { name: field.name, kind, wire: WIRE_OF[kind]!, repeated: field.repeated, table: sub };
  }
  return table;
}

const utf8 = new TextDecoder('utf-8');

type Decode = (reader: ProtoReader, end: number, depth: number) => Record<string, unknown>;

export class ProtoReader {
  index = 0;
  private view: DataView | null = null;

  constructor(readonly bytes: Uint8Array) {}

  double(): number {
    if (this.bytes.length - this.index < 8) this.fail('a double runs past the end');
    this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const value = this.view.getFloat64(this.index, true);
    this.index += 8;
    return value;
  }

  float(): number {
    if (this.bytes.length - this.index < 4) this.fail('a float runs past the end');
    this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const value = this.view.getFloat32(this.index, true);
    this.index += 4;
    return value;
  }

  bytesField(): Uint8Array {
    const length = this.length();
    // A plain copy (never a Buffer, never a view that would keep the whole frame alive).
    const copy = new Uint8Array(length);
    copy.set(this.bytes.subarray(this.index, this.index + length));
    this.index += length;
    return copy;
  }

  nested(decode: Decode, depth: number): Record<string, unknown> {
    const length = this.length();
    return decode(this, this.index + length, depth + 1);
  }

  fail(message: string, at = this.index): never {
    throw new CodecError('BAD_PROTO', `malformed WebMessageInfo: ${message}`, at);
  }

  /** A varint of up to 32 bits (the rest of a longer one is read and dropped, as protobuf does). */
  uint32(): number {
    const bytes = this.bytes;
    let index = this.index;
    const end = bytes.length;
    if (index < end) {
      const first = bytes[index]!;
      if (first < 0x80) {
        this.index = index + 1;
        return first;
      }
    }
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (index >= end) this.fail('a varint runs past the end');
      const byte = bytes[index++]!;
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.index = index;
        return value >>> 0;
      }
    }
    return this.fail('a varint longer than 10 bytes');
  }

  /** A 64-bit varint as a number (exact up to 2^53), unsigned or two's complement signed. */
  uint64(signed: boolean): number {
    const bytes = this.bytes;
    let index = this.index;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; ; i++) {
      if (i >= 10) this.fail('a varint longer than 10 bytes');
      if (index >= bytes.length) this.fail('a varint runs past the end');
      const byte = bytes[index++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) break;
    }
    this.index = index;
    lo >>>= 0;
    hi >>>= 0;
    if (signed && hi >>> 31) {
      // -(two's complement), as protobufjs's LongBits.toNumber(false) does
      const nlo = (~lo + 1) >>> 0;
      const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
      return -(nlo + nhi * 4294967296);
    }
    return lo + hi * 4294967296;
  }

  length(): number {
    const at = this.index;
    const length = this.uint32();
    if (length > this.bytes.length - this.index) this.fail(`a length of ${length} runs past the end`, at);
    return length;
  }

  string(): string {
    const length = this.length();
    const bytes = this.bytes;
    const start = this.index;
    const end = start + length;
    this.index = end;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) return utf8.decode(bytes.subarray(start, end));
    }
    return asciiAt(bytes, start, length);
  }

  skip(wire: number, at: number): void {
    switch (wire) {
      case 0:
        this.uint64(false);
        return;
      case 1:
        if (this.bytes.length - this.index < 8) this.fail('a 64-bit field runs past the end');
        this.index += 8;
        return;
      case 2: {
        const length = this.length(); // moves the index past the length first
        this.index += length;
        return;
      }
      case 5:
        if (this.bytes.length - this.index < 4) this.fail('a 32-bit field runs past the end');
        this.index += 4;
        return;
      default:
        this.fail(`wire type ${wire} (groups and reserved types are not read)`, at);
    }
  }

  /** What ends every compiled loop: a field that ran past its message, or a bad key. */
  check(end: number, at: number): void {
    if (this.index > end) this.fail('a field runs past its message', at);
  }

  unknown(key: number, at: number): void {
    if (key >>> 3 === 0) this.fail('field number 0', at);
    this.skip(key & 7, at);
  }

  tooDeep(): never {
    return this.fail(`messages nest deeper than ${MAX_DEPTH}`);
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// The reader call that reads one value of each kind.
const READ_OF = [
  'r.string()',
  'r.bytesField()',
  'r.uint32() !== 0', // the low 32 bits, as protobufjs reads a bool
  'r.uint32()',
  'r.uint32() | 0',
  'r.uint64(false)',
  'r.uint64(true)',
  'r.double()',
  '', // messages: r.nested(decoder, depth)
  'r.float()',
];

const compiled = new WeakMap<Table, Decode>();

/** The decode loop of one message type, compiled from its table once (message fields call their own). */
function compile(table: Table): Decode {
  const known = compiled.get(table);
  if (known) return known;
  const subs: Decode[] = [];
  // Recursive types reach this table again while it compiles: they call it through this indirection.
  let self: Decode | null = null;
  const indirect: Decode = (r, end, depth) => self!(r, end, depth);
  compiled.set(table, indirect);
  const cases: string[] = [];
  table.forEach((field, id) => {
    if (!field) return;
    if (!IDENTIFIER.test(field.name))
      throw new Error(`proto-reader: field name ${field.name} is not an identifier`);
    let read = READ_OF[field.kind]!;
    if (field.kind === MESSAGE) {
      subs.push(compile(field.table!));
      read = `r.nested(subs[${subs.length - 1}], depth)`;
    }
    const store = field.repeated ? `(o.${field.name} ??= []).push(${read});` : `o.${field.name} = ${read};`;
    cases.push(`case ${(id << 3) | field.wire}: ${store} break;`);
  });
  const body = `
    return function decode(r, end, depth) {
      if (depth > MAX_DEPTH) r.tooDeep();
      const o = {};
      const bytes = r.bytes;
      while (r.index < end) {
        const at = r.index;
        let key = bytes[at];
        if (key < 0x80) r.index = at + 1; else key = r.uint32();
        switch (key) {
          ${cases.join('\n          ')}
          default: r.unknown(key, at);
        }
        r.check(end, at);
      }
      if (r.index !== end) r.fail('a field runs past its message');
      return o;
    };`;
  self = new Function('subs', 'MAX_DEPTH', body)(subs, MAX_DEPTH) as Decode;
  compiled.set(table, self);
  return self;
}

/** Decodes one message of the table's type from all of `bytes`. */
export function readMessage(table: Table, bytes: Uint8Array): Record<string, unknown> {
  return compile(table)(new ProtoReader(bytes), bytes.length, 1);
}
