// The distributed media queue: BullMQ on Redis. One job per media with two phases inside (download →
// decrypt) because the decrypt reads the download as a stream: splitting them into a flow would mean
// parking the whole object somewhere between steps. Retries with exponential backoff cover the
// download's network errors and 5xx; MAC and hash failures are UnrecoverableError (no retry).
import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Subject } from 'rxjs';
import { MediaError } from './errors.ts';
import { openJob, type SealedJobData, sealJob } from './job-seal.ts';
import { type MediaJobEvent, type MediaJobInput, type MediaQueue, mediaJobId } from './media-job.ts';
import { type ProcessOptions, processMediaJob } from './process-media.ts';
import { removeStaleParts } from './stale-parts.ts';

export const MEDIA_QUEUE_NAME = 'walink-media';

export interface MediaJobResult {
  outPath: string;
  bytes: number;
}

export interface MediaJobProgress {
  bytesDone: number;
  bytesTotal: number | null;
}

export interface BullQueueOptions {
  redisUrl: string;
  jobKey: Uint8Array;
  queueName?: string;
  /** Tries per job, the first included (default 5); backoff doubles from `backoffMs` (default 1000). */
  attempts?: number;
  backoffMs?: number;
}

/** A Redis connection that fails commands fast while Redis is down instead of queueing them forever. */
export function redisConnection(url: string, forWorker: boolean): Redis {
  return new Redis(url, {
    // BullMQ requires null for blocking worker connections; producers should fail fast.
    maxRetriesPerRequest: forWorker ? null : 3,
    enableOfflineQueue: forWorker,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5_000),
    lazyConnect: false,
  });
}

/** A Redis URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured Redis';
  }
}

export class BullMediaQueue implements MediaQueue {
  private readonly connection: Redis;
  private readonly eventsConnection: Redis;
  private readonly queue: Queue<SealedJobData, MediaJobResult>;
  private readonly queueEvents: QueueEvents;
  private readonly subject = new Subject<MediaJobEvent>();
  readonly events$ = this.subject.asObservable();
  private lastError: string | undefined;

  constructor(private readonly options: BullQueueOptions) {
    const name = options.queueName ?? MEDIA_QUEUE_NAME;
    this.connection = redisConnection(options.redisUrl, false);
    this.eventsConnection = redisConnection(options.redisUrl, true);
    this.queue = new Queue(name, { connection: this.connection });
    this.queueEvents = new QueueEvents(name, { connection: this.eventsConnection });
    // A dead Redis is reported by ready() and enqueue(), not as unhandled 'error' events.
    const remember = (error: Error) => {
      this.lastError = error.message;
    };
    this.connection.on('error', remember);
    this.eventsConnection.on('error', remember);
    this.queue.on('error', remember);
    this.queueEvents.on('error', remember);
    this.queueEvents.on('progress', ({ jobId, data }) => {
      const progress = data as Partial<MediaJobProgress>;
      if (typeof progress?.bytesDone === 'number')
        this.subject.next({
          type: 'progress',
          id: jobId,
          bytesDone: progress.bytesDone,
          bytesTotal: progress.bytesTotal ?? null,
        });
    });
    this.queueEvents.on('completed', ({ jobId, returnvalue }) => {
      const result = (
        typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue
      ) as MediaJobResult;
      this.subject.next({ type: 'done', id: jobId, outPath: result.outPath, bytes: result.bytes });
    });
    this.queueEvents.on('failed', ({ jobId, failedReason }) => {
      void this.queue.getJob(jobId).then(
        (job) => {
          // 'failed' also fires for a try that will be retried; only the last one is the outcome.
          const final = !job || job.finishedOn !== undefined || job.attemptsMade >= (job.opts.attempts ?? 1);
          if (final) this.subject.next({ type: 'failed', id: jobId, reason: failedReason, retriable: false });
        },
        () => undefined,
      );
    });
  }

  /** Resolves when the queue's event stream is listening (events before that are not seen). */
  async ready(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MediaError(
              'NETWORK',
              `cannot reach Redis at ${redactUrl(this.options.redisUrl)} within ${timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ''}`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([
        Promise.all([this.queue.waitUntilReady(), this.queueEvents.waitUntilReady()]),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async enqueue(job: MediaJobInput): Promise<{ id: string }> {
    const id = mediaJobId(job);
    try {
      // BullMQ ignores an add whose jobId exists: the same media enqueued twice is done once.
      await this.queue.add('media', sealJob(this.options.jobKey, id, job), {
        jobId: id,
        attempts: this.options.attempts ?? 5,
        backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1_000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      });
    } catch (error) {
      throw new MediaError('NETWORK', `cannot enqueue on Redis: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.subject.next({ type: 'queued', id });
    return { id };
  }

  /** Counts by state, for `walink media status`. */
  counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  }

  getJob(id: string): Promise<Job<SealedJobData, MediaJobResult> | undefined> {
    return this.queue.getJob(id);
  }

  async close(): Promise<void> {
    // With Redis gone BullMQ's close would wait for it forever: cut the sockets first then.
    if (this.connection.status !== 'ready') this.connection.disconnect();
    if (this.eventsConnection.status !== 'ready') this.eventsConnection.disconnect();
    await Promise.race([
      Promise.allSettled([this.queueEvents.close(), this.queue.close()]),
      new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
    ]);
    this.connection.disconnect();
    this.eventsConnection.disconnect();
    this.subject.complete();
  }
}

export interface MediaWorkerOptions extends Omit<ProcessOptions, 'onProgress' | 'signal'> {
  redisUrl: string;
  jobKey: Uint8Array;
  queueName?: string;
  concurrency?: number;
  /** How long a job's lock lives without renewal; a killed worker's job is retried after it (default 30 s). */
  lockDuration?: number;
  /** How often stalled jobs are looked for (default 30 s). */
  stalledInterval?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface MediaWorker {
  worker: Worker<SealedJobData, MediaJobResult>;
  /** Finishes running jobs (or releases them when `force`), then disconnects. */
  close(force?: boolean): Promise<void>;
}

export function startMediaWorker(options: MediaWorkerOptions): MediaWorker {
  const connection = redisConnection(options.redisUrl, true);
  const log = options.log ?? (() => undefined);
  let lastError = '';
  // ioredis reconnects by itself; say so once per distinct error instead of crashing or flooding.
  connection.on('error', (error: Error) => {
    if (error.message !== lastError) log('redis error', { message: error.message });
    lastError = error.message;
  });
  connection.on('ready', () => {
    lastError = '';
  });
  const worker = new Worker<SealedJobData, MediaJobResult>(
    options.queueName ?? MEDIA_QUEUE_NAME,
    async (job, _token, signal) => {
      const id = job.id!;
      const input = openJob(options.jobKey, id, job.data);
      let lastReport = 0;
      try {
        const outPathHint = input.outPath;
        await removeStaleParts(outPathHint, options.mediaDir, id);
        const result = await processMediaJob(id, input, {
          ...options,
          ...(signal ? { signal } : {}),
          onProgress: (bytesDone, bytesTotal) => {
            const now = Date.now();
            if (now - lastReport < 200 && bytesDone !== bytesTotal) return;
            lastReport = now;
            void job
              .updateProgress({ bytesDone, bytesTotal } satisfies MediaJobProgress)
              .catch(() => undefined);
          },
        });
        log('done', { id, bytes: result.bytes, attempt: job.attemptsMade + 1 });
        return { outPath: result.outPath, bytes: result.bytes };
      } catch (error) {
        if (error instanceof MediaError) {
          log('failed', { id, code: error.code, retryable: error.retryable, attempt: job.attemptsMade + 1 });
          if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
          throw new Error(`${error.code}: ${error.message}`);
        }
        throw error;
      }
    },
    {
      connection,
      concurrency: options.concurrency ?? 2,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: 2,
    },
  );
  worker.on('error', (error) => log('error', { message: error.message }));
  return {
    worker,
    async close(force = false) {
      await worker.close(force);
      connection.disconnect();
    },
  };
}
