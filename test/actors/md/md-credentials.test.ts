// MD credentials: fresh ones are well formed (the signed pre-key verifies), the stored form round-trips
// through the same file, memory and Redis stores as legacy (0600, sealed), and anything else is a typed
// CredentialError.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CredentialError,
  FileCredentialStore,
  MemoryCredentialStore,
  md,
  RedisCredentialStore,
} from '../../../actors/index.ts';
import { randomBytes, toBase64, x25519PublicKey } from '../../../crypto/index.ts';
import { djbPublicKey, xeddsaVerify } from '../../../crypto/md/index.ts';
import { redisForSuite } from '../../support/redis-suite.ts';

const { MD_CREDENTIAL_CODEC, generateMdCredentials, generatePreKeys, newMdCredentialRecord } = md;
type Record_ = md.MdCredentialRecord;

/** A record with something in every field. */
function fullRecord(): Record_ {
  const record = newMdCredentialRecord();
  record.credentials.me = { jid: '15551234567:3@s.whatsapp.net', lid: '123456789:3@lid', name: 'Alice' };
  record.credentials.account = randomBytes(150);
  record.credentials.platform = 'android';
  record.credentials.nextPreKeyId = 31;
  record.credentials.firstUnuploadedPreKeyId = 31;
  record.signal.preKeys = generatePreKeys(1, 3);
  record.signal.sessions['15557654321.0'] = JSON.stringify({
    _sessions: { k: { secret: 'x' } },
    version: 'v1',
  });
  record.signal.identities['15557654321.0'] = randomBytes(32);
  record.signal.senderKeys['120363000000000001@g.us::15557654321.0'] = JSON.stringify({ states: [] });
  record.appStateKeys = [
    {
      keyId: randomBytes(6),
      keyData: randomBytes(32),
      fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0, 3] },
      timestamp: 1767225800000,
    },
    { keyId: randomBytes(6), keyData: randomBytes(32) },
  ];
  return record;
}

/** Every secret of a record, as the bytes and the base64 a careless store would write. */
function secretsOf(record: Record_): { bytes: Uint8Array[]; texts: string[] } {
  const c = record.credentials;
  const bytes = [
    c.noiseKey.privateKey,
    c.identityKey.privateKey,
    c.signedPreKey.keyPair.privateKey,
    c.advSecret,
    ...record.signal.preKeys.map((k) => k.keyPair.privateKey),
    ...record.appStateKeys.map((k) => k.keyData),
  ];
  return { bytes, texts: [...bytes.map(toBase64), ...Object.values(record.signal.sessions)] };
}

describe('generateMdCredentials', () => {
  it('makes X25519 key pairs, a signed pre-key that verifies, a registration id and an adv secret', () => {
    const c = generateMdCredentials();
    for (const pair of [c.noiseKey, c.identityKey, c.signedPreKey.keyPair])
      expect(x25519PublicKey(pair.privateKey)).toEqual(pair.publicKey);
    expect(c.signedPreKey.keyId).toBe(1);
    expect(
      xeddsaVerify(
        c.identityKey.publicKey,
        djbPublicKey(c.signedPreKey.keyPair.publicKey),
        c.signedPreKey.signature,
      ),
    ).toBe(true);
    expect(c.registrationId).toBeGreaterThanOrEqual(1);
    expect(c.registrationId).toBeLessThanOrEqual(md.MAX_REGISTRATION_ID);
    expect(c.advSecret).toHaveLength(32);
    expect(c).toMatchObject({ me: null, account: null, nextPreKeyId: 1, firstUnuploadedPreKeyId: 1 });
    const other = generateMdCredentials();
    expect(other.noiseKey.privateKey).not.toEqual(c.noiseKey.privateKey);
    expect(other.advSecret).not.toEqual(c.advSecret);
  });

  it('makes one-time pre-keys with consecutive ids that wrap past 2^24 - 1 to 1', () => {
    const keys = generatePreKeys(md.MAX_PRE_KEY_ID - 1, 3);
    expect(keys.map((k) => k.keyId)).toEqual([md.MAX_PRE_KEY_ID - 1, md.MAX_PRE_KEY_ID, 1]);
    for (const key of keys) expect(x25519PublicKey(key.keyPair.privateKey)).toEqual(key.keyPair.publicKey);
  });
});

describe('the MD credential codec', () => {
  it('round-trips every field', () => {
    const record = fullRecord();
    const text = MD_CREDENTIAL_CODEC.serialize(record);
    expect(MD_CREDENTIAL_CODEC.parse(text, 'test')).toEqual(record);
    expect(JSON.parse(text)).toMatchObject({ protocol: 'md', version: 1 });
  });

  it('round-trips arbitrary records (fast-check)', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    const pair = fc.record({ privateKey: bytes(32), publicKey: bytes(32) });
    const id = fc.integer({ min: 1, max: md.MAX_PRE_KEY_ID });
    const record = fc.record({
      credentials: fc.record(
        {
          noiseKey: pair,
          identityKey: pair,
          signedPreKey: fc.record({ keyId: id, keyPair: pair, signature: bytes(64) }),
          registrationId: fc.integer({ min: 0, max: 0xffffffff }),
          advSecret: bytes(32),
          me: fc.option(
            fc.record(
              { jid: fc.string(), lid: fc.option(fc.string(), { nil: null }), name: fc.string() },
              { requiredKeys: ['jid', 'lid'] },
            ),
            { nil: null },
          ),
          account: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
          platform: fc.string(),
          nextPreKeyId: id,
          firstUnuploadedPreKeyId: id,
        },
        {
          requiredKeys: [
            'noiseKey',
            'identityKey',
            'signedPreKey',
            'registrationId',
            'advSecret',
            'me',
            'account',
            'nextPreKeyId',
            'firstUnuploadedPreKeyId',
          ],
        },
      ),
      signal: fc.record({
        sessions: fc.dictionary(fc.string(), fc.json()),
        identities: fc.dictionary(fc.string(), bytes(32)),
        preKeys: fc.uniqueArray(fc.record({ keyId: id, keyPair: pair }), {
          selector: (k) => k.keyId,
          maxLength: 5,
        }),
        senderKeys: fc.dictionary(fc.string(), fc.json()),
      }),
      appStateKeys: fc.array(
        fc.record(
          {
            keyId: fc.uint8Array({ maxLength: 8 }),
            keyData: fc.uint8Array({ maxLength: 40 }),
            fingerprint: fc.record(
              {
                rawId: fc.nat(),
                currentIndex: fc.nat(),
                deviceIndexes: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 4 }),
              },
              { requiredKeys: [] },
            ),
            timestamp: fc.nat(),
          },
          { requiredKeys: ['keyId', 'keyData'] },
        ),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(record, (value) => {
        const r = value as Record_;
        expect(MD_CREDENTIAL_CODEC.parse(MD_CREDENTIAL_CODEC.serialize(r), 'p')).toEqual(r);
      }),
      { numRuns: 150 },
    );
  });

  // biome-ignore lint/suspicious/noExplicitAny: the stored JSON is edited field by field
  type Stored = Record<string, any>;
  const valid = () => JSON.parse(MD_CREDENTIAL_CODEC.serialize(fullRecord())) as Stored;
  it.each<[string, (data: Stored) => unknown]>([
    ['not JSON', () => '{"protocol":"md",'],
    ['a legacy file', () => ({ version: 2, clientId: 'a', clientToken: 'b' })],
    ['no protocol', (d) => ({ ...d, protocol: undefined })],
    [
      'a short identity key',
      (d) => {
        d.credentials.identityKey.private = 'AAAA';
      },
    ],
    [
      'a signature that is not base64',
      (d) => {
        d.credentials.signedPreKey.signature = '***';
      },
    ],
    [
      'a registration id that is not an integer',
      (d) => {
        d.credentials.registrationId = 1.5;
      },
    ],
    [
      'a pre-key id of 0',
      (d) => {
        d.signal.preKeys[0].keyId = 0;
      },
    ],
    [
      'a repeated pre-key id',
      (d) => {
        d.signal.preKeys[1].keyId = d.signal.preKeys[0].keyId;
      },
    ],
    [
      'a session that is not JSON',
      (d) => {
        d.signal.sessions['1.0'] = '{';
      },
    ],
    [
      'an identity of 33 bytes',
      (d) => {
        d.signal.identities['1.0'] = toBase64(new Uint8Array(33));
      },
    ],
    [
      'me without a jid',
      (d) => {
        d.credentials.me = { lid: null };
      },
    ],
    [
      'a sender key that is not JSON',
      (d) => {
        d.signal.senderKeys['g::1.0'] = '{';
      },
    ],
    [
      'no app-state key list',
      (d) => {
        d.appStateKeys = {};
      },
    ],
  ])('%s is CredentialError CORRUPT', (_, mutate) => {
    const data = valid();
    const replaced = mutate(data);
    const text = typeof replaced === 'string' ? replaced : JSON.stringify(replaced ?? data);
    const error = (() => {
      try {
        MD_CREDENTIAL_CODEC.parse(text, 'the file');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).code).toBe('CORRUPT');
    expect((error as Error).message).toMatch(/^the file: /);
  });

  it('any damage to a stored record is a CredentialError or still a valid record, never another error (fast-check)', () => {
    const text = MD_CREDENTIAL_CODEC.serialize(fullRecord());
    const edit = fc.record({
      at: fc.nat({ max: text.length - 1 }),
      cut: fc.nat({ max: 40 }),
      insert: fc.string({ maxLength: 6 }),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let damaged = text;
        for (const { at, cut, insert } of edits)
          damaged = damaged.slice(0, at) + insert + damaged.slice(at + cut);
        try {
          const parsed = MD_CREDENTIAL_CODEC.parse(damaged, 'f');
          // What still parses is a whole record: it serializes and reads back the same.
          expect(MD_CREDENTIAL_CODEC.parse(MD_CREDENTIAL_CODEC.serialize(parsed), 'f')).toEqual(parsed);
        } catch (error) {
          expect(error).toBeInstanceOf(CredentialError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a version 1 record from before sender keys reads with none', () => {
    const data = valid();
    delete data.signal.senderKeys;
    expect(MD_CREDENTIAL_CODEC.parse(JSON.stringify(data), 'f').signal.senderKeys).toEqual({});
  });

  it('a file from a newer format is CredentialError VERSION', () => {
    const text = JSON.stringify({ ...valid(), version: 2 });
    expect(() => MD_CREDENTIAL_CODEC.parse(text, 'f')).toThrow(
      expect.objectContaining({ name: 'CredentialError', code: 'VERSION' }),
    );
  });
});

describe('MD records in the legacy stores', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'walink-md-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the file store writes the MD record 0600, atomically, and reads it back', async () => {
    const store = new FileCredentialStore(join(dir, 'md', 'session.json'), MD_CREDENTIAL_CODEC);
    expect(await store.load()).toBeNull();
    const record = fullRecord();
    await store.save(record);
    expect(await store.load()).toEqual(record);
    expect(statSync(store.location).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'md'))).toEqual(['session.json']);
  });

  it('the file store writes the record as it was when save() was called', async () => {
    const store = new FileCredentialStore(join(dir, 's.json'), MD_CREDENTIAL_CODEC);
    const record = fullRecord();
    const saved = store.save(record);
    record.credentials.me = null;
    await saved;
    expect((await store.load())?.credentials.me?.jid).toBe('15551234567:3@s.whatsapp.net');
  });

  it('a legacy store refuses an MD file and an MD store a legacy file, both CORRUPT', async () => {
    const path = join(dir, 's.json');
    await new FileCredentialStore(path, MD_CREDENTIAL_CODEC).save(fullRecord());
    await expect(new FileCredentialStore(path).load()).rejects.toMatchObject({ code: 'CORRUPT' });
    await new FileCredentialStore(path).save({
      clientId: 'AAAAAAAAAAAAAAAAAAAAAA==',
      clientToken: 'c',
      serverToken: 's',
      browserToken: 'b',
      encKey: new Uint8Array(32),
      macKey: new Uint8Array(32),
      wid: '1@c.us',
    });
    await expect(new FileCredentialStore(path, MD_CREDENTIAL_CODEC).load()).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringContaining('legacy'),
    });
  });

  it('a truncated MD file is CORRUPT, not a crash', async () => {
    const path = join(dir, 's.json');
    await new FileCredentialStore(path, MD_CREDENTIAL_CODEC).save(fullRecord());
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.length / 2));
    await expect(new FileCredentialStore(path, MD_CREDENTIAL_CODEC).load()).rejects.toMatchObject({
      name: 'CredentialError',
      code: 'CORRUPT',
    });
  });

  it('the memory store keeps a copy of the record', async () => {
    const store = new MemoryCredentialStore<Record_>(null, MD_CREDENTIAL_CODEC);
    const record = fullRecord();
    await store.save(record);
    const before = record.credentials.advSecret.slice();
    record.credentials.advSecret.fill(0);
    expect((await store.load())?.credentials.advSecret).toEqual(before);
  });

  describe('Redis', () => {
    const db = redisForSuite();

    it('holds the MD record sealed: no key, secret or session in the clear; another key is NO_KEY', async () => {
      const sealing = randomBytes(32);
      const store = new RedisCredentialStore(db.redis, 'md-alice', sealing, { codec: MD_CREDENTIAL_CODEC });
      expect(await store.load()).toBeNull();
      const record = fullRecord();
      await store.save(record);
      expect(await store.load()).toEqual(record);
      const raw = (await db.redis.getBuffer('walink:credentials:md-alice'))!;
      const text = raw.toString('latin1');
      const secrets = secretsOf(record);
      for (const secret of secrets.texts) expect(text).not.toContain(secret);
      for (const secret of secrets.bytes) expect(raw.includes(Buffer.from(secret))).toBe(false);
      expect(text).not.toContain('"protocol"');
      await expect(
        new RedisCredentialStore(db.redis, 'md-alice', randomBytes(32), {
          codec: MD_CREDENTIAL_CODEC,
        }).load(),
      ).rejects.toMatchObject({ name: 'CredentialError', code: 'NO_KEY' });
      // A legacy session of that name would not take the MD record for its own.
      await expect(new RedisCredentialStore(db.redis, 'md-alice', sealing).load()).rejects.toMatchObject({
        code: 'CORRUPT',
      });
      await store.clear();
      expect(await store.load()).toBeNull();
    });
  });
});
