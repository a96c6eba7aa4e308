// The BullMQ media queue against a real redis-server started here, with workers in this process and in
// child processes (`walink worker`), the emulator's CDN and its fault injection.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encryptMedia, randomBytes } from '../../crypto/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import type { MediaJobEvent } from '../../workers/index.ts';
import { BullMediaQueue, type MediaWorker, startMediaWorker } from '../../workers/queues/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { cdnJob, tempDir } from '../support/media.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { emulator, fault, until } from '../support/session-harness.ts';
import { slowCdn } from '../support/slow-cdn.ts';

const JOB_KEY = randomBytes(32);
const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 29 + seed) & 0xff);

function outcome(queue: BullMediaQueue, id: string, timeoutMs = 15_000): Promise<MediaJobEvent> {
  return Promise.race([
    firstValueFrom(
      queue.events$.pipe(filter((e) => e.id === id && (e.type === 'done' || e.type === 'failed'))),
    ),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`job ${id}: no outcome in ${timeoutMs} ms`)), timeoutMs),
    ),
  ]);
}

/** Everything Redis holds, as one string, to look for secrets in. */
async function everythingIn(url: string): Promise<string> {
  const redis = new Redis(url);
  try {
    const parts: string[] = [];
    for (const key of await redis.keys('*')) {
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}

interface WorkerProcess {
  child: ChildProcess;
  done: string[];
  log: { msg?: string; id?: string }[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** Waits (bounded) until a worker process has logged that it finished the job. */
async function logged(worker: WorkerProcess, id: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!worker.done.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function workerProcess(redisUrl: string, mediaDir: string, extra: string[] = []): WorkerProcess {
  const child = spawn(
    process.execPath,
    [...walinkArgs(), 'worker', '--redis', redisUrl, '--media-dir', mediaDir, '--concurrency', '2', ...extra],
    {
      env: { ...process.env, WALINK_JOB_KEY: Buffer.from(JOB_KEY).toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const done: string[] = [];
  const log: { msg?: string; id?: string }[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; id?: string };
      log.push(entry);
      if (entry.msg === 'done' && entry.id) done.push(entry.id);
    } catch {
      // not a log line
    }
  });
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: child.stdout! }).on('line', (line) => line.includes('ready') && resolve()),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.on('exit', () => clearTimeout(killer));
  return { child, done, log, ready, exited };
}

/** A one-shot `walink` command: its exit code and output. */
function walinkRun(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...walinkArgs(), ...args], {
      env: { ...process.env, WALINK_JOB_KEY: Buffer.from(JOB_KEY).toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('BullMQ media queue with a real Redis', () => {
  let redis: RedisServer;
  let emu: Emulator;
  let dir: ReturnType<typeof tempDir>;
  let queue: BullMediaQueue;
  let queueName: string;
  let workers: MediaWorker[] = [];
  let children: WorkerProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
    emu = await emulator();
  }, 20_000);
  afterAll(async () => {
    await emu?.close();
    await redis?.remove();
  });
  beforeEach(async () => {
    dir = tempDir('walink-bull-');
    queueName = `walink-media-${Math.random().toString(36).slice(2, 8)}`;
    // The emulator is the server here: the queue vouches for its CDN, as `walink start` does.
    queue = new BullMediaQueue({
      redisUrl: redis.url,
      jobKey: JOB_KEY,
      queueName,
      backoffMs: 50,
      trustedOrigins: [emu.url],
    });
    await queue.ready();
    workers = [];
    children = [];
    return async () => {
      for (const c of children) c.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.close(true)));
      await queue.close();
      dir.remove();
    };
  });
  const worker = (extra: Partial<Parameters<typeof startMediaWorker>[0]> = {}) => {
    const w = startMediaWorker({
      redisUrl: redis.url,
      jobKey: JOB_KEY,
      queueName,
      mediaDir: dir.path,
      ...extra,
    });
    workers.push(w);
    return w;
  };

  it('downloads and decrypts; the mediaKey never sits in Redis in the clear; the same media is done once', async () => {
    const plaintext = bytes(250_000, 1);
    const job = cdnJob(emu, plaintext, 'video');
    const progress: MediaJobEvent[] = [];
    queue.events$.subscribe((e) => e.type === 'progress' && progress.push(e));
    const first = await queue.enqueue(job);
    const again = await queue.enqueue({ ...job });
    expect(again.id).toBe(first.id);
    const contents = await everythingIn(redis.url);
    expect(contents).toContain(first.id);
    for (const encoding of ['base64', 'hex', 'base64url'] as const)
      expect(contents).not.toContain(Buffer.from(job.mediaKey).toString(encoding));
    expect(contents).not.toContain(job.url);

    worker();
    const done = await outcome(queue, first.id);
    expect(done).toMatchObject({ type: 'done', bytes: plaintext.length });
    expect(Buffer.compare(readFileSync((done as { outPath: string }).outPath), plaintext)).toBe(0);
    await queue.enqueue(job);
    expect((await queue.counts()).completed).toBe(1);
    expect(progress.at(-1)).toMatchObject({ bytesDone: job.fileLength! + 16 - (job.fileLength! % 16) + 10 });
  });

  it('retries a CDN 500 and succeeds; a truncated or corrupted body fails at once with the reason and no file', async () => {
    worker();
    const flaky = cdnJob(emu, bytes(30_000, 2));
    await fault(emu, { kind: 'cdn', status: 500, times: 2 });
    const { id } = await queue.enqueue(flaky);
    expect(await outcome(queue, id)).toMatchObject({ type: 'done' });
    expect((await queue.getJob(id))?.attemptsMade).toBe(3);

    // A truncated object cannot hold fileLength: refused on its Content-Length, before a byte is read.
    const expected = { truncate: /^LENGTH_MISMATCH/, corrupt: /^ENC_SHA256_MISMATCH/ };
    for (const body of ['truncate', 'corrupt'] as const) {
      await fault(emu, { kind: 'cdn', body });
      const queued = await queue.enqueue(cdnJob(emu, bytes(30_000, body.length)));
      const failed = await outcome(queue, queued.id);
      expect(failed).toMatchObject({ type: 'failed', reason: expect.stringMatching(expected[body]) });
      expect((await queue.getJob(queued.id))?.attemptsMade).toBe(1);
    }
    expect(dir.files()).toEqual([`${id}.bin`]);
  });

  it('a worker killed with SIGKILL mid-job: another worker finishes it after the stall interval', async () => {
    const plaintext = bytes(2_000_000, 3);
    const mediaKey = randomBytes(32);
    const encrypted = encryptMedia(plaintext, mediaKey, 'document');
    const cdn = slowCdn(encrypted.object, 32 * 1024, 25);
    const served = await cdn;
    try {
      const timing = [
        ...['--lock-duration', '2000', '--stalled-interval', '1000', '--queue', queueName],
        ...['--media-hosts', new URL(served.url).origin],
      ];
      const doomed = workerProcess(redis.url, dir.path, timing);
      children.push(doomed);
      await doomed.ready;
      const { id } = await queue.enqueue({
        type: 'document',
        mediaKey,
        url: served.url,
        fileSha256: encrypted.fileSha256,
        fileEncSha256: encrypted.fileEncSha256,
        fileLength: encrypted.fileLength,
      });
      await firstValueFrom(
        queue.events$.pipe(filter((e) => e.id === id && e.type === 'progress' && e.bytesDone > 0)),
      );
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      expect(dir.files().some((f) => f.endsWith('.part'))).toBe(true);

      const heir = workerProcess(redis.url, dir.path, timing);
      children.push(heir);
      const done = await outcome(queue, id, 30_000);
      expect(done.type).toBe('done');
      expect(Buffer.compare(readFileSync(join(dir.path, `${id}.bin`)), plaintext)).toBe(0);
      expect(dir.files()).toEqual([`${id}.bin`]);
      // The heir logs `done` after it told Redis, so its line may come after the queue's event.
      await logged(heir, id);
      expect(heir.done).toEqual([id]);
    } finally {
      await served.close();
    }
  }, 40_000);

  it('the mediaKey is part of the job: a wrong key fails without blocking the right one, and the id shows no key', async () => {
    worker();
    const job = cdnJob(emu, bytes(10_000, 7));
    const wrong = { ...job, mediaKey: randomBytes(32) };
    const failed = await queue.enqueue(wrong);
    expect(await outcome(queue, failed.id)).toMatchObject({
      type: 'failed',
      reason: expect.stringMatching(/^MAC_MISMATCH/),
    });
    const right = await queue.enqueue(job);
    expect(right.id).not.toBe(failed.id);
    expect(await outcome(queue, right.id)).toMatchObject({ type: 'done', bytes: 10_000 });
    for (const { mediaKey } of [job, wrong])
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        const text = Buffer.from(mediaKey).toString(encoding);
        expect(right.id + failed.id).not.toContain(text.slice(0, 16));
        expect(await everythingIn(redis.url)).not.toContain(text);
      }
  });

  it('`walink media retry` runs a failed job again; `walink media remove` lets the same media be enqueued afresh', async () => {
    worker();
    const redisArgs = ['--redis', redis.url, '--queue', queueName];
    const job = cdnJob(emu, bytes(12_000, 8));
    await fault(emu, { kind: 'cdn', status: 404, times: 1 });
    const { id } = await queue.enqueue(job);
    expect(await outcome(queue, id)).toMatchObject({
      type: 'failed',
      reason: expect.stringMatching(/^MEDIA_EXPIRED/),
    });
    // Enqueuing it again is a no-op while the failed job is kept: that is what retry is for.
    await queue.enqueue(job);
    expect(await queue.getJob(id).then((j) => j?.getState())).toBe('failed');

    const done = outcome(queue, id);
    const retried = await walinkRun(['media', 'retry', id, ...redisArgs]);
    expect(retried).toMatchObject({ code: 0, stdout: `${id} queued again (was failed)\n`, stderr: '' });
    expect(await done).toMatchObject({ type: 'done', bytes: 12_000 });
    expect((await queue.getJob(id))?.attemptsMade).toBe(1);

    const removed = await walinkRun(['media', 'remove', id, ...redisArgs]);
    expect(removed).toMatchObject({ code: 0, stdout: `${id} removed (was completed)\n` });
    const status = await walinkRun(['media', 'status', '--job', id, ...redisArgs]);
    expect(status).toMatchObject({
      code: 1,
      stderr: `walink media status: JOB_NOT_FOUND: no job ${id} in the queue\n`,
    });
    expect(await walinkRun(['media', 'retry', 'media-nope', ...redisArgs])).toMatchObject({
      code: 1,
      stderr: 'walink media retry: JOB_NOT_FOUND: no job media-nope in the queue\n',
    });
    const again = outcome(queue, id);
    expect((await queue.enqueue(job)).id).toBe(id);
    expect(await again).toMatchObject({ type: 'done' });
  }, 40_000);

  it('a second SIGTERM releases a running job to the queue at once: back to waiting, no try counted, no temporary file', async () => {
    const plaintext = bytes(4_000_000, 9);
    const mediaKey = randomBytes(32);
    const encrypted = encryptMedia(plaintext, mediaKey, 'document');
    const served = await slowCdn(encrypted.object, 32 * 1024, 25);
    try {
      const w = workerProcess(redis.url, dir.path, [
        '--queue',
        queueName,
        '--media-hosts',
        new URL(served.url).origin,
      ]);
      children.push(w);
      await w.ready;
      const { id } = await queue.enqueue({
        type: 'document',
        mediaKey,
        url: served.url,
        fileLength: encrypted.fileLength,
      });
      await firstValueFrom(
        queue.events$.pipe(filter((e) => e.id === id && e.type === 'progress' && e.bytesDone > 0)),
      );
      w.child.kill('SIGTERM');
      await until(() => w.log.some((l) => l.msg === 'stopping'));
      expect(w.child.exitCode).toBeNull(); // the first signal lets the running job finish
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      const job = await queue.getJob(id);
      expect(await job?.getState()).toBe('waiting');
      expect(job?.attemptsMade).toBe(0);
      expect(dir.files()).toEqual([]);
    } finally {
      await served.close();
    }
  }, 30_000);

  it('loses no queued job when Redis restarts', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => cdnJob(emu, bytes(2_000 + i, i)));
    const ids = await Promise.all(jobs.map((j) => queue.enqueue(j).then((r) => r.id)));
    await queue.close();
    await redis.stop();
    await redis.restart();
    queue = new BullMediaQueue({
      redisUrl: redis.url,
      jobKey: JOB_KEY,
      queueName,
      backoffMs: 50,
      trustedOrigins: [emu.url],
    });
    await queue.ready();
    expect((await queue.counts()).waiting).toBe(20);
    const outcomes = Promise.all(ids.map((id) => outcome(queue, id)));
    worker();
    expect((await outcomes).every((o) => o.type === 'done')).toBe(true);
  }, 30_000);

  it('100 jobs across 2 worker processes: all done once, none twice', async () => {
    const a = workerProcess(redis.url, dir.path, ['--queue', queueName]);
    const b = workerProcess(redis.url, dir.path, ['--queue', queueName]);
    children.push(a, b);
    await Promise.all([a.ready, b.ready]);
    const jobs = Array.from({ length: 100 }, (_, i) => cdnJob(emu, bytes(4_000, i)));
    const ids = await Promise.all(jobs.map((j) => queue.enqueue(j).then((r) => r.id)));
    await until(() => a.done.length + b.done.length >= 100, 30_000);
    const all = [...a.done, ...b.done];
    expect(all).toHaveLength(100);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(a.done.length).toBeGreaterThan(0);
    expect(b.done.length).toBeGreaterThan(0);
    expect((await queue.counts()).completed).toBe(100);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  }, 40_000);
});
