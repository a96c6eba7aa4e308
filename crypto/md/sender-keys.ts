// Signal sender keys, the group half of the protocol (docs/protocol-md.md §12.6): a member sends its
// sender key once per device inside a pairwise message (SenderKeyDistributionMessage), then encrypts each
// group message once for everyone (`skmsg`, a SenderKeyMessage). npm `libsignal` has no group cipher, so
// this is ours. Pure and synchronous: a record in, a new record out; nothing is changed until a message
// has decrypted. Keys are raw 32 bytes; the wire carries the signing key as `05 ‖ key`.

import { aesCbcDecrypt, aesCbcEncrypt } from '../aes-cbc.ts';
import { fromBase64, randomBytes, requireLength, toBase64 } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { hmacSha256 } from '../hash.ts';
import { hkdf } from '../hkdf.ts';
import { x25519KeyPair } from '../x25519.ts';
import { xeddsaSign, xeddsaVerify } from './xeddsa.ts';

/** `(3 << 4) | 3`: the version byte of both messages. */
export const SENDER_KEY_VERSION = 0x33;
/** A record keeps this many of a sender's keys (a member that re-keys keeps its older messages readable). */
export const MAX_SENDER_KEY_STATES = 5;
/** How far ahead a message may be, and how many skipped message keys are kept (as libsignal's limit). */
export const MAX_SENDER_KEY_SKIP = 2000;

const SIGNATURE_LENGTH = 64;
const WHISPER_GROUP = new TextEncoder().encode('WhisperGroup');

export interface SenderKeyState {
  keyId: number;
  /** The iteration the chain key is at: the next message key to derive. */
  iteration: number;
  chainKey: Uint8Array;
  signingPublic: Uint8Array;
  /** Only on the sending side. */
  signingPrivate?: Uint8Array;
  /** Message keys (their seeds) of iterations skipped over, oldest first. */
  skipped: { iteration: number; seed: Uint8Array }[];
}

/** One sender's keys in one group, newest last. */
export interface SenderKeyRecord {
  states: SenderKeyState[];
}

export interface SenderKeyDistribution {
  keyId: number;
  iteration: number;
  chainKey: Uint8Array;
  signingPublic: Uint8Array;
}

// ---- the two protobufs (fields 1-4: varints and bytes only) ----

function bad(message: string): never {
  throw new CryptoError('SIGNAL_BAD_MESSAGE', message);
}

function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= bytes.length) bad('a truncated sender key message');
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) bad('a sender key field beyond 32 bits');
      return [value, at];
    }
    scale *= 128;
  }
  return bad('a varint longer than 10 bytes');
}

function readFields(bytes: Uint8Array): Map<number, number | Uint8Array> {
  const fields = new Map<number, number | Uint8Array>();
  let at = 0;
  while (at < bytes.length) {
    let key: number;
    [key, at] = readVarint(bytes, at);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      let value: number;
      [value, at] = readVarint(bytes, at);
      fields.set(field, value);
    } else if (wire === 2) {
      let length: number;
      [length, at] = readVarint(bytes, at);
      if (at + length > bytes.length) bad('a truncated sender key field');
      fields.set(field, bytes.slice(at, at + length));
      at += length;
    } else {
      bad(`a sender key message with wire type ${wire}`);
    }
  }
  return fields;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function writeFields(fields: [number, number | Uint8Array][]): Uint8Array {
  const parts: number[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'number') parts.push(...varint(field * 8), ...varint(value));
    else parts.push(...varint(field * 8 + 2), ...varint(value.length), ...value);
  }
  return Uint8Array.from(parts);
}

function uint(fields: Map<number, number | Uint8Array>, field: number, what: string): number {
  const value = fields.get(field) ?? 0;
  if (typeof value !== 'number') bad(`${what} is not a number`);
  return value;
}

function bytesField(fields: Map<number, number | Uint8Array>, field: number, what: string): Uint8Array {
  const value = fields.get(field);
  if (!(value instanceof Uint8Array)) bad(`${what} is missing`);
  return value;
}

function rawKey(key: Uint8Array): Uint8Array {
  if (key.length === 33 && key[0] === 0x05) return key.slice(1);
  if (key.length === 32) return key.slice();
  return bad('a sender signing key is 33 bytes (05 ‖ key)');
}

function checkVersion(bytes: Uint8Array): void {
  if (bytes.length === 0) bad('an empty sender key message');
  if (bytes[0]! >> 4 !== 3) bad(`sender key message version ${bytes[0]! >> 4}, expected 3`);
}

/** `05 ‖ … ` SenderKeyDistributionMessage: version byte, then {id 1, iteration 2, chainKey 3, signingKey 4}. */
export function encodeSenderKeyDistribution(d: SenderKeyDistribution): Uint8Array {
  requireLength('sender chain key', d.chainKey, 32);
  const signing = new Uint8Array(33);
  signing[0] = 0x05;
  signing.set(rawKey(d.signingPublic), 1);
  const body = writeFields([
    [1, d.keyId],
    [2, d.iteration],
    [3, d.chainKey],
    [4, signing],
  ]);
  return Uint8Array.of(SENDER_KEY_VERSION, ...body);
}

export function decodeSenderKeyDistribution(bytes: Uint8Array): SenderKeyDistribution {
  checkVersion(bytes);
  const fields = readFields(bytes.subarray(1));
  const chainKey = bytesField(fields, 3, 'the chain key');
  if (chainKey.length !== 32) bad('a sender chain key is 32 bytes');
  return {
    keyId: uint(fields, 1, 'the key id'),
    iteration: uint(fields, 2, 'the iteration'),
    chainKey,
    signingPublic: rawKey(bytesField(fields, 4, 'the signing key')),
  };
}

// ---- the chain ----

function messageKeys(seed: Uint8Array): { iv: Uint8Array; cipherKey: Uint8Array } {
  const derived = hkdf(seed, new Uint8Array(32), WHISPER_GROUP, 48);
  return { iv: derived.slice(0, 16), cipherKey: derived.slice(16, 48) };
}

const seedOf = (chainKey: Uint8Array) => hmacSha256(chainKey, Uint8Array.of(1));
const nextChain = (chainKey: Uint8Array) => hmacSha256(chainKey, Uint8Array.of(2));

function copyState(state: SenderKeyState): SenderKeyState {
  return {
    ...state,
    chainKey: state.chainKey.slice(),
    signingPublic: state.signingPublic.slice(),
    ...(state.signingPrivate ? { signingPrivate: state.signingPrivate.slice() } : {}),
    skipped: state.skipped.map((s) => ({ iteration: s.iteration, seed: s.seed.slice() })),
  };
}

/** The record after a distribution message: its key added (or replacing the same key id), newest last. */
export function processSenderKeyDistribution(
  record: SenderKeyRecord | null,
  distribution: Uint8Array | SenderKeyDistribution,
): SenderKeyRecord {
  const d = distribution instanceof Uint8Array ? decodeSenderKeyDistribution(distribution) : distribution;
  const states = (record?.states ?? []).filter((s) => s.keyId !== d.keyId).map(copyState);
  states.push({
    keyId: d.keyId,
    iteration: d.iteration,
    chainKey: d.chainKey.slice(),
    signingPublic: rawKey(d.signingPublic),
    skipped: [],
  });
  return { states: states.slice(-MAX_SENDER_KEY_STATES) };
}

/**
 * Decrypts a SenderKeyMessage (`skmsg`): version byte, {id 1, iteration 2, ciphertext 3}, then an XEdDSA
 * signature by the sender's signing key over what precedes it. Returns the padded plaintext and the record
 * to keep. CryptoError SIGNAL_NO_SESSION (no key with that id), SIGNAL_DUPLICATE (its key was used),
 * SIGNAL_BAD_MESSAGE (signature, parse, too far ahead, or the ciphertext).
 */
export function senderKeyDecrypt(
  record: SenderKeyRecord | null,
  message: Uint8Array,
): { plaintext: Uint8Array; record: SenderKeyRecord } {
  checkVersion(message);
  if (message.length <= 1 + SIGNATURE_LENGTH) bad('a sender key message too short for its signature');
  const signed = message.subarray(0, message.length - SIGNATURE_LENGTH);
  const fields = readFields(signed.subarray(1));
  const keyId = uint(fields, 1, 'the key id');
  const iteration = uint(fields, 2, 'the iteration');
  const ciphertext = bytesField(fields, 3, 'the ciphertext');
  const index = record?.states.findIndex((s) => s.keyId === keyId) ?? -1;
  if (!record || index < 0)
    throw new CryptoError('SIGNAL_NO_SESSION', `no sender key ${keyId} from this sender`);
  const state = copyState(record.states[index]!);
  if (!xeddsaVerify(state.signingPublic, signed, message.subarray(message.length - SIGNATURE_LENGTH)))
    bad('the sender key signature does not verify');
  let seed: Uint8Array;
  if (iteration < state.iteration) {
    const at = state.skipped.findIndex((s) => s.iteration === iteration);
    if (at < 0) throw new CryptoError('SIGNAL_DUPLICATE', `sender key iteration ${iteration} already used`);
    seed = state.skipped[at]!.seed;
    state.skipped.splice(at, 1);
  } else {
    if (iteration - state.iteration > MAX_SENDER_KEY_SKIP) bad('a sender key message too far ahead');
    while (state.iteration < iteration) {
      state.skipped.push({ iteration: state.iteration, seed: seedOf(state.chainKey) });
      state.chainKey = nextChain(state.chainKey);
      state.iteration += 1;
    }
    if (state.skipped.length > MAX_SENDER_KEY_SKIP)
      state.skipped.splice(0, state.skipped.length - MAX_SENDER_KEY_SKIP);
    seed = seedOf(state.chainKey);
    state.chainKey = nextChain(state.chainKey);
    state.iteration += 1;
  }
  const { iv, cipherKey } = messageKeys(seed);
  let plaintext: Uint8Array;
  try {
    plaintext = aesCbcDecrypt(cipherKey, iv, ciphertext);
  } catch {
    bad('the sender key ciphertext does not decrypt');
  }
  const states = record.states.map((s, i) => (i === index ? state : copyState(s)));
  return { plaintext, record: { states } };
}

// ---- the sending side (a member's own key; tests play other members with it) ----

/** A fresh sender key of our own: random key id (31 bits), chain key and signing key pair. */
export function newSenderKey(): SenderKeyRecord {
  const signing = x25519KeyPair();
  const id = randomBytes(4);
  return {
    states: [
      {
        keyId: ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 1,
        iteration: 0,
        chainKey: randomBytes(32),
        signingPublic: signing.publicKey,
        signingPrivate: signing.privateKey,
        skipped: [],
      },
    ],
  };
}

/** What to send the group's devices (inside a pairwise message) so they can read our `skmsg`s. */
export function senderKeyDistributionOf(record: SenderKeyRecord): Uint8Array {
  const state = record.states.at(-1);
  if (!state) throw new CryptoError('SIGNAL_NO_SESSION', 'no sender key to distribute');
  return encodeSenderKeyDistribution(state);
}

/** Encrypts (padded) plaintext with our newest sender key; returns the `skmsg` and the record to keep. */
export function senderKeyEncrypt(
  record: SenderKeyRecord,
  plaintext: Uint8Array,
): { message: Uint8Array; record: SenderKeyRecord } {
  const last = record.states.at(-1);
  if (!last?.signingPrivate)
    throw new CryptoError('SIGNAL_NO_SESSION', 'no sender key of our own to encrypt with');
  const state = copyState(last);
  const { iv, cipherKey } = messageKeys(seedOf(state.chainKey));
  const body = writeFields([
    [1, state.keyId],
    [2, state.iteration],
    [3, aesCbcEncrypt(cipherKey, iv, plaintext)],
  ]);
  const signed = Uint8Array.of(SENDER_KEY_VERSION, ...body);
  const message = new Uint8Array(signed.length + SIGNATURE_LENGTH);
  message.set(signed);
  message.set(xeddsaSign(state.signingPrivate!, signed), signed.length);
  state.chainKey = nextChain(state.chainKey);
  state.iteration += 1;
  return { message, record: { states: [...record.states.slice(0, -1).map(copyState), state] } };
}

// ---- a record as JSON text (the credential store keeps it as it keeps Signal sessions) ----

export function serializeSenderKeyRecord(record: SenderKeyRecord): string {
  return JSON.stringify({
    states: record.states.map((s) => ({
      keyId: s.keyId,
      iteration: s.iteration,
      chainKey: toBase64(s.chainKey),
      signingPublic: toBase64(s.signingPublic),
      ...(s.signingPrivate ? { signingPrivate: toBase64(s.signingPrivate) } : {}),
      skipped: s.skipped.map((k) => [k.iteration, toBase64(k.seed)]),
    })),
  });
}

/** CryptoError SIGNAL_BAD_MESSAGE when the text is not a record. */
export function parseSenderKeyRecord(text: string): SenderKeyRecord {
  try {
    const data = JSON.parse(text) as {
      states: {
        keyId: number;
        iteration: number;
        chainKey: string;
        signingPublic: string;
        signingPrivate?: string;
        skipped: [number, string][];
      }[];
    };
    return {
      states: data.states.map((s) => {
        if (!Number.isInteger(s.keyId) || !Number.isInteger(s.iteration)) throw new Error('ids');
        const chainKey = fromBase64(s.chainKey);
        const signingPublic = fromBase64(s.signingPublic);
        requireLength('sender chain key', chainKey, 32);
        requireLength('sender signing key', signingPublic, 32);
        const state: SenderKeyState = {
          keyId: s.keyId,
          iteration: s.iteration,
          chainKey,
          signingPublic,
          skipped: s.skipped.map(([iteration, seed]) => ({ iteration, seed: fromBase64(seed) })),
        };
        if (s.signingPrivate) state.signingPrivate = fromBase64(s.signingPrivate);
        return state;
      }),
    };
  } catch {
    return bad('not a sender key record');
  }
}
