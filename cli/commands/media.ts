// `walink media decrypt|enqueue|status|retry|remove`: the media pipeline by hand. `decrypt` runs the
// workers' code path without a queue; its exit code is 0 only when every check passed.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { fromBase64, isMediaType, type MediaType } from '../../crypto/index.ts';
import {
  DEFAULT_MEDIA_HOST,
  DOWNLOAD_DEFAULTS,
  decryptSource,
  directPathUrl,
  jobKeyFromEnv,
  MEDIA_QUEUE_NAME,
  MediaError,
  MediaHostPolicy,
  type MediaSource,
  openFileSource,
  openStreamSource,
  parseMediaUrl,
  processMediaJob,
  withRetries,
} from '../../workers/index.ts';
import type { BullMediaQueue } from '../../workers/queues/index.ts';

// BullMQ and ioredis load when a command talks to Redis, not when `walink` starts.
const loadQueues = () => import('../../workers/queues/index.ts');

import { integer, UsageError } from '../usage.ts';

export function parseBase64Bytes(
  name: string,
  text: string | undefined,
  length?: number,
): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new UsageError(`${name} is not base64`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new UsageError(`${name} is not base64`);
  }
  if (length !== undefined && bytes.length !== length)
    throw new UsageError(`${name} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** An option parser for a public 32-byte hash in base64 (echoing it is harmless). */
function hashOption(text: string): Uint8Array {
  try {
    return parseBase64Bytes('it', text, 32)!;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^it /, ''));
  }
}

export function parseMediaType(text: string): MediaType {
  if (!isMediaType(text))
    throw new InvalidArgumentError(
      'must be one of image, video, audio, document, sticker, history, gif, ptt',
    );
  return text;
}

/** `--media-hosts`: repeatable, comma-separated; `default` stands for the WhatsApp media hosts. */
export function mediaHostsOption(text: string, previous: string[] | undefined): string[] {
  try {
    MediaHostPolicy.parse([text]);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return [...(previous ?? []), text];
}

/** `--media-host`: an http(s) origin directPaths are joined to. */
export function mediaHostOption(text: string): string {
  try {
    return parseMediaUrl(text, 'it').origin;
  } catch {
    throw new InvalidArgumentError('must be an http(s) URL such as https://mmg.whatsapp.net');
  }
}

interface DownloadCliOptions {
  timeout: number;
  deadline: number;
  minRate: number;
  rateWindow: number;
}

/** The download limits every media command shares (decrypt and worker). */
export function addDownloadOptions(command: Command): Command {
  return command
    .option(
      '--timeout <ms>',
      'deadline for an answer and for each gap in the body',
      integer(1),
      DOWNLOAD_DEFAULTS.timeoutMs,
    )
    .option('--deadline <ms>', 'deadline for the whole object', integer(1), DOWNLOAD_DEFAULTS.deadlineMs)
    .option(
      '--min-rate <bytes/s>',
      'slowest acceptable download, averaged over --rate-window (0: no minimum)',
      integer(0),
      DOWNLOAD_DEFAULTS.minBytesPerSecond,
    )
    .option(
      '--rate-window <ms>',
      'the window --min-rate is measured over',
      integer(100),
      DOWNLOAD_DEFAULTS.rateWindowMs,
    );
}

export function downloadLimits(options: DownloadCliOptions) {
  return {
    timeoutMs: options.timeout,
    deadlineMs: options.deadline,
    minBytesPerSecond: options.minRate,
    rateWindowMs: options.rateWindow,
  };
}

interface DecryptCliOptions extends DownloadCliOptions {
  type: MediaType;
  key: string;
  in: string;
  out: string;
  sha256?: Uint8Array;
  encSha256?: Uint8Array;
  length?: number;
  maxBytes?: number;
  retries: number;
  json?: boolean;
}

// Ctrl-C or SIGTERM during a decrypt: abort it (the temporary file is removed), exit 130 or 143. A second
// signal does not wait for that.
function abortOnSignals(): { signal: AbortSignal; exitCode(): number | undefined; done(): void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    if (received) process.exit(name === 'SIGINT' ? 130 : 143);
    received = name;
    controller.abort(new MediaError('ABORTED', `interrupted by ${name}; nothing was written`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received === undefined ? undefined : received === 'SIGINT' ? 130 : 143),
    done: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function decryptCommand(options: DecryptCliOptions): Promise<void> {
  const mediaKey = parseBase64Bytes('--key', options.key, 32)!;
  const outPath = resolve(options.out);
  const job = {
    type: options.type,
    mediaKey,
    outPath,
    ...(options.sha256 ? { fileSha256: options.sha256 } : {}),
    ...(options.encSha256 ? { fileEncSha256: options.encSha256 } : {}),
    ...(options.length !== undefined ? { fileLength: options.length } : {}),
  };
  const { progressBar } = await import('../progress.ts');
  const bar = progressBar('decrypting');
  const interrupt = abortOnSignals();
  const processOptions = {
    mediaDir: '.',
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...downloadLimits(options),
    signal: interrupt.signal,
    onProgress: (done: number, total: number | null) => bar.update(done, total),
  };
  const isUrl = /^https?:\/\//i.test(options.in);
  try {
    const result = isUrl
      ? await withRetries(
          // The operator named this URL: its host is allowed (and redirects stay on the allow-list).
          () =>
            processMediaJob(
              'cli',
              { ...job, url: options.in },
              {
                ...processOptions,
                mediaHosts: MediaHostPolicy.default().with([parseMediaUrl(options.in, '--in').origin]),
              },
            ),
          {
            attempts: options.retries + 1,
            signal: interrupt.signal,
            onRetry: (attempt, delay, error) =>
              process.stderr.write(
                `walink media decrypt: try ${attempt} failed (${error.code}); again in ${delay} ms\n`,
              ),
          },
        )
      : await decryptSource('cli', job, await openLocalInput(options.in, options.timeout), processOptions);
    const summary = {
      out: result.outPath,
      bytes: result.bytes,
      sha256: Buffer.from(result.fileSha256).toString('base64'),
      encSha256: Buffer.from(result.fileEncSha256).toString('base64'),
    };
    process.stdout.write(
      options.json
        ? `${JSON.stringify(summary)}\n`
        : `decrypted ${summary.bytes} bytes to ${summary.out} (sha256 ${summary.sha256})\n`,
    );
  } catch (error) {
    const code = interrupt.exitCode();
    if (code !== undefined) {
      process.stderr.write(`walink media decrypt: ${(interrupt.signal.reason as Error).message}\n`);
      process.exitCode = code;
      return;
    }
    throw error;
  } finally {
    bar.finish();
    interrupt.done();
  }
}

/**
 * The operator's local input: `-` is standard input (a gap longer than --timeout ends it), anything else a
 * regular file (a FIFO or a device is refused: it could stall or never end).
 */
function openLocalInput(path: string, timeoutMs: number): Promise<MediaSource> {
  if (path === '-') return Promise.resolve(openStreamSource(process.stdin, timeoutMs));
  return openFileSource(resolve(path));
}

interface RedisCliOptions {
  redis: string;
  connectTimeout: number;
  queue: string;
}

interface EnqueueCliOptions extends RedisCliOptions {
  type: MediaType;
  key: string;
  url?: string;
  directPath?: string;
  sha256?: Uint8Array;
  encSha256?: Uint8Array;
  length?: number;
  out?: string;
  wait?: boolean;
  timeout: number;
}

async function enqueueCommand(options: EnqueueCliOptions): Promise<void> {
  if (!options.url && !options.directPath) throw new UsageError('give --url or --direct-path');
  const mediaKey = parseBase64Bytes('--key', options.key, 32)!;
  // The shape is checked here; the host is the workers' allow-list to judge.
  if (options.url) parseMediaUrl(options.url, '--url');
  if (options.directPath) directPathUrl(options.directPath, DEFAULT_MEDIA_HOST);
  const { BullMediaQueue } = await loadQueues();
  const queue = new BullMediaQueue({
    redisUrl: options.redis,
    jobKey: jobKeyFromEnv(),
    queueName: options.queue,
  });
  try {
    await queue.ready(options.connectTimeout);
    const { progressBar } = await import('../progress.ts');
    const bar = progressBar('media');
    let finished:
      | Promise<{ type: 'done'; outPath: string; bytes: number } | { type: 'failed'; reason: string }>
      | undefined;
    let myId: string | undefined;
    if (options.wait) {
      // Listen before adding so a fast worker's outcome is not missed.
      finished = new Promise((resolveOutcome) => {
        queue.events$.subscribe((event) => {
          if (event.id !== myId) return;
          if (event.type === 'progress') bar.update(event.bytesDone, event.bytesTotal);
          if (event.type === 'done' || event.type === 'failed') resolveOutcome(event);
        });
      });
    }
    const { id } = await queue.enqueue({
      type: options.type,
      mediaKey,
      ...(options.url ? { url: options.url } : {}),
      ...(options.directPath ? { directPath: options.directPath } : {}),
      ...(options.sha256 ? { fileSha256: options.sha256 } : {}),
      ...(options.encSha256 ? { fileEncSha256: options.encSha256 } : {}),
      ...(options.length !== undefined ? { fileLength: options.length } : {}),
      ...(options.out ? { outPath: resolve(options.out) } : {}),
    });
    myId = id;
    process.stdout.write(`${id}\n`);
    if (!finished) return;
    // The job may have finished before we knew its id: ask Redis once, then wait for the events, for
    // --timeout at most, and not past a Redis that stays gone for --connect-timeout.
    const job = await queue.getJob(id);
    const state = job ? await queue.stateOf(job) : undefined;
    const lost = queue.unreachableFor(options.connectTimeout);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.resolve(
      state === 'completed'
        ? { type: 'done' as const, ...(job!.returnvalue as { outPath: string; bytes: number }) }
        : state === 'failed'
          ? { type: 'failed' as const, reason: job!.failedReason }
          : Promise.race([
              finished,
              lost.promise,
              new Promise<never>((_, reject) => {
                timer = setTimeout(
                  () =>
                    reject(new MediaError('TIMEOUT', `the job did not finish within ${options.timeout} ms`)),
                  options.timeout,
                );
              }),
            ]),
    ).finally(() => {
      clearTimeout(timer);
      lost.cancel();
    });
    bar.finish();
    if (outcome.type === 'done') process.stdout.write(`done ${outcome.outPath} (${outcome.bytes} bytes)\n`);
    else {
      process.stderr.write(`walink media enqueue: job ${id} failed: ${outcome.reason}\n`);
      process.exitCode = 1;
    }
  } finally {
    await queue.close();
  }
}

/** A queue for commands that never open a job's sealed data (status, retry, remove). */
async function inspectionQueue(options: RedisCliOptions): Promise<BullMediaQueue> {
  const { BullMediaQueue } = await loadQueues();
  return new BullMediaQueue({ redisUrl: options.redis, jobKey: Buffer.alloc(32), queueName: options.queue });
}

async function statusCommand(options: RedisCliOptions & { job?: string }): Promise<void> {
  const queue = await inspectionQueue(options);
  try {
    await queue.ready(options.connectTimeout);
    if (options.job) {
      const job = await queue.getJob(options.job);
      if (!job) throw new MediaError('JOB_NOT_FOUND', `no job ${options.job} in the queue`);
      const summary = {
        id: job.id,
        state: await queue.stateOf(job),
        type: job.data.type,
        attempts: job.attemptsMade,
        progress: job.progress,
        ...(job.failedReason ? { failedReason: job.failedReason } : {}),
        ...(job.returnvalue ? { result: job.returnvalue } : {}),
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else process.stdout.write(`${JSON.stringify(await queue.counts())}\n`);
  } finally {
    await queue.close();
  }
}

async function jobCommand(action: 'retry' | 'remove', id: string, options: RedisCliOptions): Promise<void> {
  const queue = await inspectionQueue(options);
  try {
    await queue.ready(options.connectTimeout);
    const { was } = action === 'retry' ? await queue.retry(id) : await queue.remove(id);
    process.stdout.write(`${id} ${action === 'retry' ? 'queued again' : 'removed'} (was ${was})\n`);
  } finally {
    await queue.close();
  }
}

// A one-shot command is done when it has answered: ioredis may still hold a reconnect timer for a Redis
// that went away, which must not keep the process alive.
function exitNow(): void {
  process.stdout.write('', () => process.exit());
}

function addRedisOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'Redis URL', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option(
      '--connect-timeout <ms>',
      'give up when Redis does not answer within this (REDIS_UNREACHABLE, exit 1)',
      integer(1),
      5_000,
    )
    .option('--queue <name>', 'queue name', MEDIA_QUEUE_NAME);
}

export function registerMediaCommands(program: Command): void {
  const media = program
    .command('media')
    .description('decrypt WhatsApp media by hand, or enqueue, watch, retry and remove media jobs');
  addDownloadOptions(
    media
      .command('decrypt')
      .description(
        'download (or read) and decrypt one media object with every check on; exit 0 only when all pass',
      )
      .requiredOption(
        '--type <type>',
        'image | video | audio | document | sticker | history (also gif, ptt)',
        parseMediaType,
      )
      .requiredOption('--key <base64>', 'the 32-byte mediaKey')
      .requiredOption(
        '--in <file|url|->',
        'the encrypted object: a regular file, an http(s) URL, or - for standard input',
      )
      .requiredOption('--out <file>', 'where the plaintext goes (written only when every check passed)')
      .option('--sha256 <base64>', 'expected SHA-256 of the plaintext (fileSha256)', hashOption)
      .option('--enc-sha256 <base64>', 'expected SHA-256 of the encrypted object (fileEncSha256)', hashOption)
      .option(
        '--length <bytes>',
        'expected plaintext length (fileLength); an input of another size is refused before it is read',
        integer(0),
      )
      .option('--max-bytes <bytes>', 'refuse objects bigger than this', integer(0))
      .option(
        '--retries <n>',
        'extra tries on network errors and 5xx, with exponential backoff',
        integer(0, 20),
        3,
      )
      .option('--json', 'print the result as one JSON line'),
  ).action(decryptCommand);
  addRedisOptions(
    media
      .command('enqueue')
      .description(
        'put a media job on the Redis queue for `walink worker`s; prints the job id (needs WALINK_JOB_KEY)',
      )
      .requiredOption('--type <type>', 'image | video | audio | document | sticker | history', parseMediaType)
      .requiredOption('--key <base64>', 'the 32-byte mediaKey (sealed before it reaches Redis)')
      .option('--url <url>', 'where the encrypted object lives (http or https)')
      .option('--direct-path <path>', "the object's path on the media host")
      .option('--sha256 <base64>', 'expected SHA-256 of the plaintext', hashOption)
      .option('--enc-sha256 <base64>', 'expected SHA-256 of the encrypted object (names the job)', hashOption)
      .option('--length <bytes>', 'expected plaintext length', integer(0))
      .option('--out <file>', "the output path on the worker's machine (default: its media dir + job id)")
      .option('--wait', 'wait for the outcome with a progress bar; exit 1 when the job fails')
      .option('--timeout <ms>', 'how long --wait waits', integer(1), 600_000),
  ).action((options: EnqueueCliOptions) => enqueueCommand(options).then(exitNow));
  addRedisOptions(
    media
      .command('status')
      .description('job counts of the Redis media queue, or one job (`--job <id>`), as JSON')
      .option('--job <id>', 'one job'),
  ).action((options: RedisCliOptions & { job?: string }) => statusCommand(options).then(exitNow));
  for (const [action, description] of [
    ['retry', 'run a failed (or completed) job again from its first try'],
    ['remove', 'remove a job that is not running; the same media may then be enqueued afresh'],
  ] as const)
    addRedisOptions(media.command(`${action} <id>`).description(description)).action(
      (id: string, options: RedisCliOptions) => jobCommand(action, id, options).then(exitNow),
    );
}
