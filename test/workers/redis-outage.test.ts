// `walink worker` and the session's queue when Redis is not there or dies: one warning per outage (not one
// log line per reconnect try), quiet retries with a capped backoff, a deadline when asked for one, and a
// stop on the first SIGTERM/SIGINT. Against a port nobody listens on, a server that drops every
// connection (so the tries can be counted), and a real redis-server killed with SIGKILL mid-run.

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptMedia, randomBytes } from '../../crypto/index.ts';
import { MediaError } from '../../workers/index.ts';
import { BullMediaQueue } from '../../workers/queues/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { tempDir } from '../support/media.ts';
import { startRedis } from '../support/redis.ts';
import { until } from '../support/session-harness.ts';
import { slowCdn } from '../support/slow-cdn.ts';

const JOB_KEY = randomBytes(32);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

interface Walink {
  child: ChildProcess;
  /** stderr, one parsed pino line each (or the raw text). */
  log: LogLine[];
  stdout: string[];
  exited: Promise<number | null>;
  exitedAt: () => number | undefined;
}

function walink(args: string[]): Walink {
  const child = spawn(process.execPath, [...walinkArgs(), ...args], {
    env: { ...process.env, WALINK_JOB_KEY: Buffer.from(JOB_KEY).toString('base64') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: LogLine[] = [];
  const stdout: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      log.push(JSON.parse(line) as LogLine);
    } catch {
      log.push({ level: -1, msg: line });
    }
  });
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  let at: number | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      at = Date.now();
      resolve(code);
    }),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.on('exit', () => clearTimeout(killer));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, log, stdout, exited, exitedAt: () => at };
}

/** Exits within `ms` of the signal, or the test fails (the old worker ignored SIGTERM and SIGINT). */
async function stopWith(
  w: Walink,
  signal: NodeJS.Signals,
  ms = 5_000,
): Promise<{ code: number | null; ms: number }> {
  const sent = Date.now();
  w.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    w.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${ms} ms after ${signal}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  return { code, ms: w.exitedAt()! - sent };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function deadPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const warnings = (log: LogLine[]) => log.filter((l) => l.level >= 40);

describe('walink worker without Redis', () => {
  it('against a server that drops every connection: one warning in dozens of tries, then the first SIGINT stops it', async () => {
    let tries = 0;
    const dropper = createServer((socket) => {
      tries++;
      socket.destroy();
    });
    const port = await listen(dropper);
    cleanups.push(() => new Promise((resolve) => dropper.close(resolve)));
    const w = walink(['worker', '--redis', `redis://127.0.0.1:${port}`, '--reconnect-max-delay', '100']);
    await until(() => tries >= 20, 20_000).catch((e) => {
      throw new Error(`${e.message}: ${tries} tries, log ${JSON.stringify(w.log)}`);
    });
    expect(warnings(w.log)).toHaveLength(1);
    expect(w.log).toHaveLength(1);
    expect(w.log[0]).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: /),
    });
    expect(w.log[0]!.msg).toContain('retrying quietly (at most every 100 ms)');
    const stopped = await stopWith(w, 'SIGINT');
    expect(stopped.code).toBe(0);
    expect(w.log).toHaveLength(2); // the warning and "stopping"
  }, 30_000);

  it('on a port nobody listens on: --connect-timeout gives up with one clear error, exit 1', async () => {
    const port = await deadPort();
    const w = walink(['worker', '--redis', `redis://127.0.0.1:${port}`, '--connect-timeout', '1000']);
    expect(await w.exited).toBe(1);
    expect(w.log.map((l) => l.level)).toEqual([40, 50]);
    expect(w.log[1]).toMatchObject({
      code: 'REDIS_UNREACHABLE',
      msg: expect.stringMatching(
        /^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/? within 1000 ms \(connect ECONNREFUSED/,
      ),
    });
  }, 30_000);

  it('refuses a bad option value as a usage error: exit 2, one line', async () => {
    const w = walink(['worker', '--concurrency', 'lots']);
    expect(await w.exited).toBe(2);
    expect(w.log).toEqual([
      {
        level: -1,
        msg: "walink worker: option '--concurrency <n>' argument 'lots' is invalid. expected an integer 1..256.",
      },
    ]);
  }, 30_000);
});

describe('a real redis-server killed mid-run', () => {
  it('the worker says so once, retries quietly, works again when Redis is back, and stops at once on SIGTERM while it is gone', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.remove());
    const plaintext = new Uint8Array(20_000).map((_, i) => i * 7);
    const mediaKey = randomBytes(32);
    const encrypted = encryptMedia(plaintext, mediaKey, 'image');
    const cdn = await slowCdn(encrypted.object, encrypted.object.length, 1);
    cleanups.push(() => cdn.close());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const w = walink([
      ...['worker', '--redis', redis.url, '--reconnect-max-delay', '100', '--media-dir', dir.path],
      ...['--media-hosts', new URL(cdn.url).origin],
    ]);
    await until(() => w.stdout.some((l) => l.includes('ready')), 20_000);

    await redis.kill();
    await until(() => warnings(w.log).length > 0, 10_000);
    expect(warnings(w.log)[0]!.msg).toMatch(/^lost Redis at redis:\/\/127\.0\.0\.1:\d+\/?: /);
    await redis.restart();
    await until(() => w.log.some((l) => /answers again/.test(l.msg)), 10_000);
    expect(warnings(w.log)).toHaveLength(1);

    const queue = new BullMediaQueue({ redisUrl: redis.url, jobKey: JOB_KEY });
    cleanups.push(() => queue.close());
    await queue.ready();
    const { id } = await queue.enqueue({
      type: 'image',
      mediaKey,
      url: cdn.url,
      fileLength: encrypted.fileLength,
    });
    await until(() => w.log.some((l) => l.msg === 'done' && l.id === id), 15_000);

    await queue.close();
    await redis.kill();
    await until(() => warnings(w.log).length > 1, 10_000);
    const stopped = await stopWith(w, 'SIGTERM');
    expect(stopped.code).toBe(0);
    expect(warnings(w.log)).toHaveLength(2);
  }, 60_000);

  it("the session's queue answers REDIS_UNREACHABLE at once, and closes without waiting for Redis", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.remove());
    const queue = new BullMediaQueue({ redisUrl: redis.url, jobKey: JOB_KEY, reconnectMaxDelayMs: 100 });
    await queue.ready();
    const events: string[] = [];
    queue.events$.subscribe({ next: (e) => events.push(e.type), complete: () => events.push('complete') });
    await redis.kill();
    const job = {
      type: 'image' as const,
      mediaKey: randomBytes(32),
      url: 'https://mmg.whatsapp.net/d/f/x.enc',
    };
    for (const call of [() => queue.enqueue(job), () => queue.counts(), () => queue.getJob('media-x')]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MediaError);
      expect(error).toMatchObject({ code: 'REDIS_UNREACHABLE', retryable: true });
    }
    const lost = queue.unreachableFor(200);
    await expect(lost.promise).rejects.toMatchObject({ code: 'REDIS_UNREACHABLE' });
    await queue.close();
    expect(events).toEqual(['complete']);
  }, 30_000);

  it('a queue still making its first connection waits for it instead of refusing', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.remove());
    const queue = new BullMediaQueue({ redisUrl: redis.url, jobKey: JOB_KEY });
    cleanups.push(() => queue.close());
    const job = {
      type: 'image' as const,
      mediaKey: randomBytes(32),
      url: 'https://mmg.whatsapp.net/d/f/y.enc',
    };
    const { id } = await queue.enqueue(job);
    expect((await queue.counts()).waiting).toBe(1);
    expect(id).toBe(queue.jobId(job));
  });

  it('ready() against a port nobody listens on rejects REDIS_UNREACHABLE within its deadline', async () => {
    const queue = new BullMediaQueue({ redisUrl: `redis://127.0.0.1:${await deadPort()}`, jobKey: JOB_KEY });
    cleanups.push(() => queue.close());
    await expect(queue.ready(300)).rejects.toMatchObject({
      code: 'REDIS_UNREACHABLE',
      message: expect.stringMatching(/within 300 ms \(connect ECONNREFUSED/),
    });
  });

  it('`walink media enqueue --wait` gives up when Redis dies while it waits', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.remove());
    const w = walink([
      ...[
        'media',
        'enqueue',
        '--redis',
        redis.url,
        '--type',
        'image',
        '--key',
        Buffer.from(randomBytes(32)).toString('base64'),
      ],
      ...['--url', 'https://mmg.whatsapp.net/d/f/x.enc', '--wait', '--connect-timeout', '500'],
    ]);
    await until(() => w.stdout.length > 0, 20_000);
    expect(w.stdout[0]).toMatch(/^media-[0-9a-f]{64}$/);
    await redis.kill();
    expect(await w.exited).toBe(1);
    expect(w.log).toEqual([
      {
        level: -1,
        // Either while it reads the job back, or once Redis has been gone for --connect-timeout.
        msg: expect.stringMatching(
          /^walink media enqueue: REDIS_UNREACHABLE: (cannot reach Redis at .* within 500 ms|cannot read the job: Redis at .* does not answer \(the connection dropped\))/,
        ),
      },
    ]);
  }, 30_000);
});
