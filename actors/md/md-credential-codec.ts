// The stored form of an MD session (docs/modules.md "The MD credential file"): one JSON document with
// `protocol: "md"` and a version, bytes as base64. Everything read is checked; a file that is not one of
// ours is CredentialError CORRUPT, one written by a newer walink is VERSION. The file holds secrets in the
// clear: the file store writes it 0600, the Redis store only ever sealed.

import { fromBase64, toBase64, type X25519KeyPair } from '../../crypto/index.ts';
import type { SignalPreKey } from '../../crypto/md/index.ts';
import type { CredentialCodec } from '../credential-store.ts';
import { CredentialError } from '../credential-store.ts';
import {
  MAX_PRE_KEY_ID,
  type MdAppStateKey,
  type MdCredentialRecord,
  type MdCredentials,
} from './md-credentials.ts';

export const MD_CREDENTIAL_FORMAT_VERSION = 1;
const READABLE_VERSIONS: readonly number[] = [1];

interface StoredKeyPair {
  private: string;
  public: string;
}

interface StoredMdRecord {
  protocol: 'md';
  version: 1;
  credentials: {
    noiseKey: StoredKeyPair;
    identityKey: StoredKeyPair;
    signedPreKey: StoredKeyPair & { keyId: number; signature: string };
    registrationId: number;
    advSecret: string;
    me: { jid: string; lid: string | null; name?: string } | null;
    account: string | null;
    platform?: string;
    nextPreKeyId: number;
    firstUnuploadedPreKeyId: number;
  };
  signal: {
    preKeys: (StoredKeyPair & { keyId: number })[];
    sessions: Record<string, string>;
    identities: Record<string, string>;
    senderKeys: Record<string, string>;
  };
  appStateKeys: {
    keyId: string;
    keyData: string;
    fingerprint?: { rawId?: number; currentIndex?: number; deviceIndexes?: number[] };
    timestamp?: number;
  }[];
}

const pairOut = (pair: X25519KeyPair): StoredKeyPair => ({
  private: toBase64(pair.privateKey),
  public: toBase64(pair.publicKey),
});

// Every message saves the whole record, and its pre-keys rarely change: their stored form is kept per key
// object (a pre-key's bytes are never changed in place; a new key is a new object).
const storedPreKeys = new WeakMap<SignalPreKey, StoredKeyPair & { keyId: number }>();

function storedPreKey(key: SignalPreKey): StoredKeyPair & { keyId: number } {
  let stored = storedPreKeys.get(key);
  if (!stored || stored.keyId !== key.keyId) {
    stored = { keyId: key.keyId, ...pairOut(key.keyPair) };
    storedPreKeys.set(key, stored);
  }
  return stored;
}

export function serializeMdRecord(record: MdCredentialRecord): string {
  const c = record.credentials;
  const stored: StoredMdRecord = {
    protocol: 'md',
    version: 1,
    credentials: {
      noiseKey: pairOut(c.noiseKey),
      identityKey: pairOut(c.identityKey),
      signedPreKey: {
        keyId: c.signedPreKey.keyId,
        ...pairOut(c.signedPreKey.keyPair),
        signature: toBase64(c.signedPreKey.signature),
      },
      registrationId: c.registrationId,
      advSecret: toBase64(c.advSecret),
      me: c.me
        ? { jid: c.me.jid, lid: c.me.lid, ...(c.me.name !== undefined ? { name: c.me.name } : {}) }
        : null,
      account: c.account ? toBase64(c.account) : null,
      ...(c.platform !== undefined ? { platform: c.platform } : {}),
      nextPreKeyId: c.nextPreKeyId,
      firstUnuploadedPreKeyId: c.firstUnuploadedPreKeyId,
    },
    signal: {
      preKeys: record.signal.preKeys.map(storedPreKey),
      sessions: Object.fromEntries(Object.entries(record.signal.sessions)),
      senderKeys: Object.fromEntries(Object.entries(record.signal.senderKeys)),
      identities: Object.fromEntries(
        Object.entries(record.signal.identities).map(([address, key]) => [address, toBase64(key)]),
      ),
    },
    appStateKeys: record.appStateKeys.map((key) => ({
      keyId: toBase64(key.keyId),
      keyData: toBase64(key.keyData),
      ...(key.fingerprint ? { fingerprint: copyFingerprint(key.fingerprint) } : {}),
      ...(key.timestamp !== undefined ? { timestamp: key.timestamp } : {}),
    })),
  };
  return `${JSON.stringify(stored, null, 2)}\n`;
}

function copyFingerprint(
  f: NonNullable<MdAppStateKey['fingerprint']>,
): NonNullable<MdAppStateKey['fingerprint']> {
  return {
    ...(f.rawId !== undefined ? { rawId: f.rawId } : {}),
    ...(f.currentIndex !== undefined ? { currentIndex: f.currentIndex } : {}),
    ...(f.deviceIndexes !== undefined ? { deviceIndexes: [...f.deviceIndexes] } : {}),
  };
}

/** A checked reader over the parsed JSON: every failure is CORRUPT and says which field. */
class Reader {
  constructor(readonly where: string) {}

  fail(what: string): never {
    throw new CredentialError('CORRUPT', `${this.where}: ${what}`);
  }

  object(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(`${what} is not an object`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) this.fail(`${what} is not a list`);
    return value;
  }

  string(value: unknown, what: string): string {
    if (typeof value !== 'string') this.fail(`${what} is not a string`);
    return value;
  }

  integer(value: unknown, what: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      this.fail(`${what} is not an integer in ${min}..${max}`);
    return value;
  }

  bytes(value: unknown, what: string, length?: number): Uint8Array {
    const text = this.string(value, what);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(text);
    } catch {
      this.fail(`${what} is not base64`);
    }
    if (length !== undefined && bytes.length !== length) this.fail(`${what} is not ${length} bytes`);
    return bytes;
  }

  keyPair(value: unknown, what: string): X25519KeyPair {
    const pair = this.object(value, what);
    return {
      privateKey: this.bytes(pair.private, `${what}.private`, 32),
      publicKey: this.bytes(pair.public, `${what}.public`, 32),
    };
  }

  preKey(value: unknown, what: string): SignalPreKey {
    const key = this.object(value, what);
    return {
      keyId: this.integer(key.keyId, `${what}.keyId`, 1, MAX_PRE_KEY_ID),
      keyPair: this.keyPair(key, what),
    };
  }

  optionalInteger(value: unknown, what: string): number | undefined {
    return value === undefined ? undefined : this.integer(value, what, 0, Number.MAX_SAFE_INTEGER);
  }
}

function readCredentials(r: Reader, value: unknown): MdCredentials {
  const c = r.object(value, 'credentials');
  const signed = r.object(c.signedPreKey, 'credentials.signedPreKey');
  let me: MdCredentials['me'] = null;
  if (c.me !== null) {
    const m = r.object(c.me, 'credentials.me');
    me = {
      jid: r.string(m.jid, 'credentials.me.jid'),
      lid: m.lid === null ? null : r.string(m.lid, 'credentials.me.lid'),
      ...(m.name !== undefined ? { name: r.string(m.name, 'credentials.me.name') } : {}),
    };
  }
  return {
    noiseKey: r.keyPair(c.noiseKey, 'credentials.noiseKey'),
    identityKey: r.keyPair(c.identityKey, 'credentials.identityKey'),
    signedPreKey: {
      keyId: r.integer(signed.keyId, 'credentials.signedPreKey.keyId', 0, MAX_PRE_KEY_ID),
      keyPair: r.keyPair(signed, 'credentials.signedPreKey'),
      signature: r.bytes(signed.signature, 'credentials.signedPreKey.signature', 64),
    },
    registrationId: r.integer(c.registrationId, 'credentials.registrationId', 0, 0xffffffff),
    advSecret: r.bytes(c.advSecret, 'credentials.advSecret', 32),
    me,
    account: c.account === null ? null : r.bytes(c.account, 'credentials.account'),
    ...(c.platform !== undefined ? { platform: r.string(c.platform, 'credentials.platform') } : {}),
    nextPreKeyId: r.integer(c.nextPreKeyId, 'credentials.nextPreKeyId', 1, MAX_PRE_KEY_ID),
    firstUnuploadedPreKeyId: r.integer(
      c.firstUnuploadedPreKeyId,
      'credentials.firstUnuploadedPreKeyId',
      1,
      MAX_PRE_KEY_ID,
    ),
  };
}

function readAppStateKey(r: Reader, value: unknown, what: string): MdAppStateKey {
  const k = r.object(value, what);
  const key: MdAppStateKey = {
    keyId: r.bytes(k.keyId, `${what}.keyId`),
    keyData: r.bytes(k.keyData, `${what}.keyData`),
  };
  if (k.fingerprint !== undefined) {
    const f = r.object(k.fingerprint, `${what}.fingerprint`);
    const rawId = r.optionalInteger(f.rawId, `${what}.fingerprint.rawId`);
    const currentIndex = r.optionalInteger(f.currentIndex, `${what}.fingerprint.currentIndex`);
    key.fingerprint = {
      ...(rawId !== undefined ? { rawId } : {}),
      ...(currentIndex !== undefined ? { currentIndex } : {}),
      ...(f.deviceIndexes !== undefined
        ? {
            deviceIndexes: r
              .array(f.deviceIndexes, `${what}.fingerprint.deviceIndexes`)
              .map((n, i) => r.integer(n, `${what}.fingerprint.deviceIndexes[${i}]`, 0, 0xffffffff)),
          }
        : {}),
    };
  }
  const timestamp = r.optionalInteger(k.timestamp, `${what}.timestamp`);
  if (timestamp !== undefined) key.timestamp = timestamp;
  return key;
}

export function parseMdRecord(text: string, where: string): MdCredentialRecord {
  const r = new Reader(where);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    r.fail('not JSON');
  }
  const top = r.object(data, 'the file');
  if (top.protocol !== 'md') {
    if (typeof top.version === 'number' && 'clientToken' in top)
      r.fail('a legacy credential file, not a multi-device one');
    r.fail('not a walink multi-device credential file (no "protocol": "md")');
  }
  if (!READABLE_VERSIONS.includes(top.version as number)) {
    throw new CredentialError(
      'VERSION',
      `${where}: multi-device credential format ${JSON.stringify(top.version)} is not one this walink reads (${READABLE_VERSIONS.join(', ')})`,
    );
  }
  const signal = r.object(top.signal, 'signal');
  // Object.fromEntries defines own properties, so no address (not even "__proto__") reaches a prototype.
  const sessions: Record<string, string> = Object.fromEntries(
    Object.entries(r.object(signal.sessions, 'signal.sessions')).map(([address, session]) => {
      const json = r.string(session, `signal.sessions[${address}]`);
      try {
        JSON.parse(json);
      } catch {
        r.fail(`signal.sessions[${address}] is not a session record`);
      }
      return [address, json];
    }),
  );
  // Added within version 1: a record written before group messages has none.
  const senderKeys: Record<string, string> = Object.fromEntries(
    Object.entries(
      signal.senderKeys === undefined ? {} : r.object(signal.senderKeys, 'signal.senderKeys'),
    ).map(([name, key]) => {
      const json = r.string(key, `signal.senderKeys[${name}]`);
      try {
        JSON.parse(json);
      } catch {
        r.fail(`signal.senderKeys[${name}] is not a sender key record`);
      }
      return [name, json];
    }),
  );
  const identities: Record<string, Uint8Array> = Object.fromEntries(
    Object.entries(r.object(signal.identities, 'signal.identities')).map(([address, key]) => [
      address,
      r.bytes(key, `signal.identities[${address}]`, 32),
    ]),
  );
  const preKeys = r
    .array(signal.preKeys, 'signal.preKeys')
    .map((k, i) => r.preKey(k, `signal.preKeys[${i}]`));
  if (new Set(preKeys.map((k) => k.keyId)).size !== preKeys.length) r.fail('signal.preKeys repeats a key id');
  return {
    credentials: readCredentials(r, top.credentials),
    signal: { sessions, identities, preKeys, senderKeys },
    appStateKeys: r
      .array(top.appStateKeys, 'appStateKeys')
      .map((k, i) => readAppStateKey(r, k, `appStateKeys[${i}]`)),
  };
}

/** The codec to give FileCredentialStore, RedisCredentialStore or MemoryCredentialStore for MD sessions. */
export const MD_CREDENTIAL_CODEC: CredentialCodec<MdCredentialRecord> = {
  serialize: serializeMdRecord,
  parse: parseMdRecord,
};
