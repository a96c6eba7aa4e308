// `walink media decrypt|enqueue|status`: the media pipeline by hand. `decrypt` runs the workers' code path
// without a queue; its exit code is 0 only when every check passed.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { MediaType } from '../../crypto/index.ts';
import { integer, UsageError } from '../usage.ts';

// What each command runs is loaded when it runs: `walink --help` must not pay for BullMQ and ioredis.
const loadWorkers = () => import('../../workers/index.ts');
const loadBullQueue = () => import('../../workers/bullmq-queue.ts');

interface DecryptCliOptions {
  type: string;
  key: string;
  in: string;
  out: string;
  sha256?: string;
  encSha256?: string;
  length?: number;
  maxBytes?: number;
  timeout: number;
  retries: number;
  json?: boolean;
}

export function parseBase64Bytes(
  name: string,
  text: string | undefined,
  length?: number,
): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new UsageError(`${name} is not base64`);
  const bytes = new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  if (length !== undefined && bytes.length !== length)
    throw new UsageError(`${name} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

export function parseMediaType(text: string, isMediaType: (text: string) => text is MediaType): MediaType {
  if (!isMediaType(text))
    throw new UsageError(
      `--type must be one of image, video, audio, document, sticker, history, gif, ptt; got ${text}`,
    );
  return text;
}

async function decryptCommand(options: DecryptCliOptions): Promise<void> {
  // Only the decrypt path: the workers' index would bring BullMQ and ioredis along, the crypto index
  // @noble/curves (see workers/decrypt-stream.ts).
  const [{ isMediaType }, { processMediaJob, withRetries }, { progressBar }] = await Promise.all([
    import('../../crypto/media.ts'),
    import('../../workers/process-media.ts'),
    import('../progress.ts'),
  ]);
  const type = parseMediaType(options.type, isMediaType);
  const mediaKey = parseBase64Bytes('--key', options.key, 32)!;
  const fileSha256 = parseBase64Bytes('--sha256', options.sha256, 32);
  const fileEncSha256 = parseBase64Bytes('--enc-sha256', options.encSha256, 32);
  const { length: fileLength, maxBytes, timeout: timeoutMs } = options;
  const attempts = options.retries + 1;
  const isUrl = /^https?:\/\//i.test(options.in);
  const outPath = resolve(options.out);
  const bar = progressBar('decrypting');
  const result = await withRetries(
    () =>
      processMediaJob(
        'cli',
        {
          type,
          mediaKey,
          ...(isUrl ? { url: options.in } : { url: resolve(options.in) }),
          outPath,
          ...(fileSha256 ? { fileSha256 } : {}),
          ...(fileEncSha256 ? { fileEncSha256 } : {}),
          ...(fileLength !== undefined ? { fileLength } : {}),
        },
        {
          mediaDir: '.',
          ...(maxBytes !== undefined ? { maxBytes } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          onProgress: (done, total) => bar.update(done, total),
        },
      ),
    {
      attempts,
      onRetry: (attempt, delay, error) =>
        process.stderr.write(
          `walink media decrypt: try ${attempt} failed (${error.code}); again in ${delay} ms\n`,
        ),
    },
  ).finally(() => bar.finish());
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
}

interface EnqueueCliOptions {
  type: string;
  key: string;
  url?: string;
  directPath?: string;
  sha256?: string;
  encSha256?: string;
  length?: number;
  out?: string;
  redis: string;
  wait?: boolean;
  timeout: number;
}

async function enqueueCommand(options: EnqueueCliOptions): Promise<void> {
  if (!options.url && !options.directPath) throw new UsageError('give --url or --direct-path');
  const [{ isMediaType }, { BullMediaQueue, jobKeyFromEnv, MediaError }, { progressBar }] = await Promise.all(
    [import('../../crypto/index.ts'), loadWorkers(), import('../progress.ts')],
  );
  const type = parseMediaType(options.type, isMediaType);
  const mediaKey = parseBase64Bytes('--key', options.key, 32)!;
  const fileSha256 = parseBase64Bytes('--sha256', options.sha256, 32);
  const fileEncSha256 = parseBase64Bytes('--enc-sha256', options.encSha256, 32);
  const { length: fileLength, timeout: timeoutMs } = options;
  const queue = new BullMediaQueue({ redisUrl: options.redis, jobKey: jobKeyFromEnv() });
  try {
    await queue.ready();
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
      type,
      mediaKey,
      ...(options.url ? { url: options.url } : {}),
      ...(options.directPath ? { directPath: options.directPath } : {}),
      ...(fileSha256 ? { fileSha256 } : {}),
      ...(fileEncSha256 ? { fileEncSha256 } : {}),
      ...(fileLength !== undefined ? { fileLength } : {}),
      ...(options.out ? { outPath: resolve(options.out) } : {}),
    });
    myId = id;
    process.stdout.write(`${id}\n`);
    if (!finished) return;
    // The job may have finished before we knew its id: ask Redis once, then wait for the events.
    const job = await queue.getJob(id);
    const state = await job?.getState();
    const outcome =
      state === 'completed'
        ? { type: 'done' as const, ...(job!.returnvalue as { outPath: string; bytes: number }) }
        : state === 'failed'
          ? { type: 'failed' as const, reason: job!.failedReason }
          : await Promise.race([
              finished,
              new Promise<never>((_, reject) =>
                setTimeout(
                  () => reject(new MediaError('TIMEOUT', `the job did not finish within ${timeoutMs} ms`)),
                  timeoutMs,
                ),
              ),
            ]);
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

async function statusCommand(options: { redis: string; job?: string }): Promise<void> {
  const { BullMediaQueue } = await loadBullQueue();
  const queue = new BullMediaQueue({ redisUrl: options.redis, jobKey: Buffer.alloc(32) });
  try {
    await queue.ready();
    if (options.job) {
      const job = await queue.getJob(options.job);
      if (!job) throw new UsageError(`no job ${options.job}`);
      const summary = {
        id: job.id,
        state: await job.getState(),
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

// A one-shot command is done when it has answered: ioredis may still hold a reconnect timer for a Redis
// that went away, which must not keep the process alive.
function exitNow(): void {
  process.stdout.write('', () => process.exit());
}

export function registerMediaCommands(program: Command): void {
  const media = program
    .command('media')
    .description('decrypt WhatsApp media by hand, or enqueue and watch media jobs');
  media
    .command('decrypt')
    .description(
      'download (or read) and decrypt one media object with every check on; exit 0 only when all pass',
    )
    .requiredOption('--type <type>', 'image | video | audio | document | sticker | history (also gif, ptt)')
    .requiredOption('--key <base64>', 'the 32-byte mediaKey')
    .requiredOption('--in <file|url>', 'the encrypted object: a file or an http(s) URL')
    .requiredOption('--out <file>', 'where the plaintext goes (written only when every check passed)')
    .option('--sha256 <base64>', 'expected SHA-256 of the plaintext (fileSha256)')
    .option('--enc-sha256 <base64>', 'expected SHA-256 of the encrypted object (fileEncSha256)')
    .option('--length <bytes>', 'expected plaintext length (fileLength)', integer(0))
    .option('--max-bytes <bytes>', 'refuse objects bigger than this', integer(0))
    .option('--timeout <ms>', 'deadline for an answer and for each gap in the body', integer(1), 30_000)
    .option('--retries <n>', 'extra tries on network errors and 5xx, with exponential backoff', integer(0), 3)
    .option('--json', 'print the result as one JSON line')
    .action(decryptCommand);
  const redisDefault = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  media
    .command('enqueue')
    .description(
      'put a media job on the Redis queue for `walink worker`s; prints the job id (needs WALINK_JOB_KEY)',
    )
    .requiredOption('--type <type>', 'image | video | audio | document | sticker | history')
    .requiredOption('--key <base64>', 'the 32-byte mediaKey (sealed before it reaches Redis)')
    .option('--url <url>', 'where the encrypted object lives')
    .option('--direct-path <path>', "the object's path on the media host")
    .option('--sha256 <base64>', 'expected SHA-256 of the plaintext')
    .option('--enc-sha256 <base64>', 'expected SHA-256 of the encrypted object (also names the job)')
    .option('--length <bytes>', 'expected plaintext length', integer(0))
    .option('--out <file>', "the output path on the worker's machine (default: its media dir + job id)")
    .option('--redis <url>', 'Redis URL', redisDefault)
    .option('--wait', 'wait for the outcome with a progress bar; exit 1 when the job fails')
    .option('--timeout <ms>', 'how long --wait waits', integer(1), 600_000)
    .action((options: EnqueueCliOptions) => enqueueCommand(options).then(exitNow));
  media
    .command('status')
    .description('job counts of the Redis media queue, or one job (`--job <id>`), as JSON')
    .option('--redis <url>', 'Redis URL', redisDefault)
    .option('--job <id>', 'one job')
    .action((options: { redis: string; job?: string }) => statusCommand(options).then(exitNow));
}
