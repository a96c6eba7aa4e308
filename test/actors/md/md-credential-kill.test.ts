// A process writing MD credentials, killed with SIGKILL at random moments, leaves the old or the new
// record, never a torn or mixed one, and never loses the device: in a file (atomic rename, 0600) and in
// Redis (one sealed SET), including a redis-server killed mid-write and restarted from its append-only file.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCredentialStore, md, RedisCredentialStore } from '../../../actors/index.ts';
import { randomBytes, toBase64 } from '../../../crypto/index.ts';
import { type RedisServer, startRedis } from '../../support/redis.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const WRITER = join(ROOT, 'test/support/md-credential-writer.ts');

/** The round each field of a record was written in (see md-credential-writer.ts); 0 before the first. */
function roundsOf(record: md.MdCredentialRecord): number[] {
  const c = record.credentials;
  return [
    Number(c.me?.jid.split(':')[0] ?? 0),
    Number(c.me?.lid?.split(':')[0] ?? 0),
    c.account ? c.account[0]! : 0,
    c.nextPreKeyId - 1,
    c.firstUnuploadedPreKeyId - 1,
    Number(JSON.parse(record.signal.sessions['15557654321.0'] ?? '{"k":0}').k),
    record.appStateKeys[0]?.timestamp ?? 0,
    record.appStateKeys[0]?.keyData[0] ?? 0,
  ];
}

/** The record is one save's, whole; returns the round it is from. */
function expectWhole(record: md.MdCredentialRecord | null): number {
  expect(record).not.toBeNull();
  const rounds = roundsOf(record!);
  expect(new Set(rounds).size, `fields from different saves: ${rounds.join(',')}`).toBe(1);
  expect(record!.signal.preKeys.length).toBeGreaterThanOrEqual(30);
  return rounds[0]!;
}

function startWriter(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess & { ready: Promise<void> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin/run-ts.js'), WRITER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  return Object.assign(child, { ready });
}

async function killAfter(child: ChildProcess, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** 15..110 ms: inside the writer's loop, at a different point of a save each time. */
const moment = () => 15 + Math.floor(Math.random() * 95);

describe('MD credentials under SIGKILL', () => {
  it('a file writer killed at random moments leaves a whole record, the same device, 0600, no temporaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walink-md-kill-'));
    try {
      const path = join(dir, 'md.json');
      let identity: Uint8Array | undefined;
      const seen: number[] = [];
      for (let round = 0; round < 3; round++) {
        const child = startWriter(['file', path]);
        await child.ready;
        await killAfter(child, moment());
        const store = new FileCredentialStore(path, md.MD_CREDENTIAL_CODEC);
        const record = await store.load();
        seen.push(expectWhole(record));
        identity ??= record!.credentials.identityKey.privateKey;
        expect(record!.credentials.identityKey.privateKey).toEqual(identity);
        expect(statSync(path).mode & 0o777).toBe(0o600);
        // load() swept what the killed writer left between write and rename.
        expect(readdirSync(dir)).toEqual(['md.json']);
      }
      // The kills came while rounds were being written, not before the first.
      expect(Math.max(...seen)).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe('in Redis', () => {
    let server: RedisServer;
    let redis: Redis;
    const sealing = randomBytes(32);
    const env = { ...process.env, WALINK_CREDENTIALS_KEY: toBase64(sealing) };
    const load = () =>
      new RedisCredentialStore(redis, 'md-kill', sealing, { codec: md.MD_CREDENTIAL_CODEC }).load();
    beforeAll(async () => {
      server = await startRedis({ persistent: true });
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
    }, 20_000);
    afterAll(async () => {
      redis?.disconnect();
      await server?.remove();
    });

    it('a writer killed at random moments leaves a whole sealed record of the same device', async () => {
      let identity: Uint8Array | undefined;
      const seen: number[] = [];
      for (let round = 0; round < 2; round++) {
        const child = startWriter(['redis', server.url, 'md-kill'], env);
        await child.ready;
        await killAfter(child, moment());
        const record = await load();
        seen.push(expectWhole(record));
        identity ??= record!.credentials.identityKey.privateKey;
        expect(record!.credentials.identityKey.privateKey).toEqual(identity);
      }
      expect(Math.max(...seen)).toBeGreaterThan(0);
    }, 60_000);

    it('redis-server killed mid-write comes back with a whole record (append-only, fsync always)', async () => {
      const before = await load();
      const child = startWriter(['redis', server.url, 'md-kill'], env);
      child.on('error', () => undefined);
      await child.ready;
      await new Promise((resolve) => setTimeout(resolve, moment()));
      await server.kill();
      await killAfter(child, 0);
      await server.restart();
      const record = await load();
      expectWhole(record);
      expect(record!.credentials.identityKey.privateKey).toEqual(before!.credentials.identityKey.privateKey);
    }, 60_000);
  });
});
