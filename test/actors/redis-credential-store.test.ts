// The Redis credential store against a real redis-server: sealed at rest, atomic, typed errors.
import { createCipheriv } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CredentialError, RedisCredentialStore, serializeCredentials } from '../../actors/index.ts';
import { randomBytes, toBase64 } from '../../crypto/index.ts';
import type { Credentials } from '../../machines/index.ts';
import { redisForSuite } from '../support/redis-suite.ts';

const credentials = (n: number): Credentials => ({
  clientId: toBase64(randomBytes(16)),
  clientToken: `client-token-${n}-${toBase64(randomBytes(12))}`,
  serverToken: `1@server-token-${n}`,
  browserToken: `1@browser-token-${n}`,
  encKey: randomBytes(32),
  macKey: randomBytes(32),
  wid: `49151${n}@c.us`,
});

describe('RedisCredentialStore', () => {
  const db = redisForSuite();

  it('saves, loads and clears; Redis never holds a key or token in the clear', async () => {
    const sealing = randomBytes(32);
    const store = new RedisCredentialStore(db.redis, 'alice', sealing);
    expect(await store.load()).toBeNull();
    const saved = credentials(1);
    await store.save(saved);
    expect(await store.load()).toEqual(saved);
    const raw = (await db.redis.getBuffer('walink:credentials:alice'))!;
    const asText = raw.toString('latin1');
    for (const secret of [
      saved.clientToken,
      saved.serverToken,
      toBase64(saved.encKey),
      toBase64(saved.macKey),
    ])
      expect(asText).not.toContain(secret);
    expect(raw.includes(Buffer.from(saved.encKey))).toBe(false);
    await store.clear();
    expect(await store.load()).toBeNull();
  });

  it('refuses a blob sealed with another key, or moved to another session, with a typed error', async () => {
    const sealing = randomBytes(32);
    await new RedisCredentialStore(db.redis, 'bob', sealing).save(credentials(2));
    const wrongKey = new RedisCredentialStore(db.redis, 'bob', randomBytes(32));
    await expect(wrongKey.load()).rejects.toMatchObject({ name: 'CredentialError', code: 'NO_KEY' });
    await db.redis.copy('walink:credentials:bob', 'walink:credentials:mallory');
    await expect(new RedisCredentialStore(db.redis, 'mallory', sealing).load()).rejects.toBeInstanceOf(
      CredentialError,
    );
    await db.redis.set('walink:credentials:carol', 'short');
    await expect(new RedisCredentialStore(db.redis, 'carol', sealing).load()).rejects.toMatchObject({
      code: 'CORRUPT',
    });
  });

  it('loads credentials stored before the sealed format carried a version (iv ‖ ciphertext ‖ tag)', async () => {
    const sealing = randomBytes(32);
    const saved = credentials(4);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealing, iv).setAAD(Buffer.from('walink:credentials:erin'));
    const body = Buffer.concat([cipher.update(serializeCredentials(saved), 'utf8'), cipher.final()]);
    await db.redis.set('walink:credentials:erin', Buffer.concat([iv, body, cipher.getAuthTag()]));
    const store = new RedisCredentialStore(db.redis, 'erin', sealing);
    expect(await store.load()).toEqual(saved);
    await store.save(saved);
    expect((await db.redis.getBuffer('walink:credentials:erin'))![0]).toBe(0x01);
    expect(await store.load()).toEqual(saved);
  });

  it('reports a dead Redis as an IO error and keeps what was stored', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on('error', () => undefined);
    const store = new RedisCredentialStore(dead, 'dave', randomBytes(32));
    await expect(store.save(credentials(3))).rejects.toMatchObject({ name: 'CredentialError', code: 'IO' });
    await expect(store.load()).rejects.toMatchObject({ code: 'IO' });
    dead.disconnect();
  });
});
