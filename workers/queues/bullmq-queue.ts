// The distributed media queue: BullMQ on Redis. One job per media with two phases inside (download →
// decrypt) because the decrypt reads the download as a stream: splitting them into a flow would mean
// parking the whole object somewhere between steps. Retries with exponential backoff cover the
// download's network errors and 5xx; MAC and hash failures are UnrecoverableError (no retry).
// A dead Redis is a typed REDIS_UNREACHABLE with a deadline for producers, and one warning (not one log
// line per reconnect try) for workers, which keep retrying with a capped backoff.
import { type Job, Queue, QueueEvents, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Subject } from 'rxjs';
import { MediaError } from '../errors.ts';
import { jobIdKey, openJob, type SealedJobData, sealJob } from '../job-seal.ts';
import {
  MEDIA_QUEUE_NAME,
  type MediaJobEvent,
  type MediaJobInput,
  type MediaQueue,
  mediaJobId,
} from '../media-job.ts';
import { type ProcessOptions, processMediaJob } from '../process-media.ts';
import { removeStaleParts } from '../stale-parts.ts';
import { RedisHealth, redactUrl } from './redis-health.ts';

export { redactUrl };

export interface MediaJobResult {
  outPath: string;
  bytes: number;
}

export interface MediaJobProgress {
  bytesDone: number;
  bytesTotal: number | null;
}

export interface RedisOptions {
  /** The longest pause between reconnect tries (default 5 s); tries start at 200 ms and double. */
  reconnectMaxDelayMs?: number;
}

export interface BullQueueOptions extends RedisOptions {
  redisUrl: string;
  jobKey: Uint8Array;
  queueName?: string;
  /** Tries per job, the first included (default 5); backoff doubles from `backoffMs` (default 1000). */
  attempts?: number;
  backoffMs?: number;
  /** A command Redis does not answer within this fails with REDIS_UNREACHABLE (default 5 s). */
  commandTimeoutMs?: number;
  /**
   * Origins the workers may fetch this queue's media from beside their own allow-list: the server the
   * session talks to (its own CDN, e.g. the emulator's). Sealed into each job, never taken from a message.
   */
  trustedOrigins?: readonly string[];
}

/**
 * A Redis connection with a capped reconnect backoff. Producers fail commands fast while Redis is down
 * (no offline queue, a command timeout); BullMQ requires blocking worker connections to wait instead.
 */
export function redisConnection(
  url: string,
  options: RedisOptions & { blocking: boolean; commandTimeoutMs?: number },
): Redis {
  const cap = options.reconnectMaxDelayMs ?? 5_000;
  return new Redis(url, {
    maxRetriesPerRequest: options.blocking ? null : 1,
    enableOfflineQueue: options.blocking,
    ...(options.blocking ? {} : { commandTimeout: options.commandTimeoutMs ?? 5_000 }),
    retryStrategy: (times) => Math.min(100 * 2 ** times, cap),
    lazyConnect: false,
  });
}

export class BullMediaQueue implements MediaQueue {
  private readonly connection: Redis;
  private readonly eventsConnection: Redis;
  private readonly queue: Queue<SealedJobData, MediaJobResult>;
  private readonly queueEvents: QueueEvents;
  private readonly health: RedisHealth;
  private readonly idKey: Buffer;
  private readonly subject = new Subject<MediaJobEvent>();
  readonly events$ = this.subject.asObservable();

  constructor(private readonly options: BullQueueOptions) {
    const name = options.queueName ?? MEDIA_QUEUE_NAME;
    this.idKey = jobIdKey(options.jobKey);
    this.connection = redisConnection(options.redisUrl, {
      ...options,
      blocking: false,
    });
    this.eventsConnection = redisConnection(options.redisUrl, { ...options, blocking: true });
    this.health = new RedisHealth(this.connection, options.redisUrl);
    this.queue = new Queue(name, { connection: this.connection });
    this.queueEvents = new QueueEvents(name, { connection: this.eventsConnection });
    // A dead Redis is reported by ready(), enqueue() and the rest as REDIS_UNREACHABLE, not as a stream
    // of unhandled 'error' events; the health watcher keeps the last reason for those messages.
    const ignore = () => undefined;
    this.eventsConnection.on('error', ignore);
    this.queue.on('error', ignore);
    this.queueEvents.on('error', ignore);
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
      timer = setTimeout(() => reject(this.health.unreachable(timeoutMs)), timeoutMs);
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

  /** Rejects with REDIS_UNREACHABLE once Redis has been gone for `ms` in a row (for long waits). */
  unreachableFor(ms: number): { promise: Promise<never>; cancel(): void } {
    return this.health.deadline(ms);
  }

  /** The id a job gets on this queue (the same on every enqueuer that shares WALINK_JOB_KEY). */
  jobId(job: MediaJobInput): string {
    return mediaJobId(job, this.idKey);
  }

  async enqueue(job: MediaJobInput): Promise<{ id: string }> {
    const id = this.jobId(job);
    await this.redis('enqueue', () =>
      // BullMQ ignores an add whose jobId exists: the same media enqueued twice is done once.
      this.queue.add('media', sealJob(this.options.jobKey, id, job, this.options.trustedOrigins ?? []), {
        jobId: id,
        attempts: this.options.attempts ?? 5,
        backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1_000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      }),
    );
    this.subject.next({ type: 'queued', id });
    return { id };
  }

  /** Counts by state, for `walink media status`. */
  counts(): Promise<Record<string, number>> {
    return this.redis('count jobs', () =>
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'),
    );
  }

  getJob(id: string): Promise<Job<SealedJobData, MediaJobResult> | undefined> {
    return this.redis('read the job', () => this.queue.getJob(id));
  }

  /** A job's state (waiting, active, completed, failed, …). */
  stateOf(job: Job<SealedJobData, MediaJobResult>): Promise<string> {
    return this.redis('read the job', () => job.getState());
  }

  /** Runs a failed (or completed) job again, from its first try. */
  async retry(id: string): Promise<{ id: string; was: string }> {
    const job = await this.existing(id);
    const state = await this.stateOf(job);
    if (state !== 'failed' && state !== 'completed')
      throw new MediaError(
        'JOB_STATE',
        `job ${id} is ${state}: only failed or completed jobs can be retried`,
      );
    await this.redis('retry the job', () => job.retry(state, { resetAttemptsMade: true }));
    this.subject.next({ type: 'queued', id });
    return { id, was: state };
  }

  /** Removes a job that is not running (its id may then be enqueued afresh). */
  async remove(id: string): Promise<{ id: string; was: string }> {
    const job = await this.existing(id);
    const state = await this.stateOf(job);
    if (state === 'active')
      throw new MediaError('JOB_STATE', `job ${id} is running: stop its worker or wait for it to finish`);
    await this.redis('remove the job', () => job.remove()).catch((error: unknown) => {
      // Taken by a worker between the state check and the removal.
      if (error instanceof Error && /locked/.test(error.message))
        throw new MediaError('JOB_STATE', `job ${id} is running: stop its worker or wait for it to finish`);
      throw error;
    });
    return { id, was: state };
  }

  async close(): Promise<void> {
    // With Redis gone BullMQ's close would wait for it forever: cut the sockets first then.
    if (!this.health.reachable) {
      this.connection.disconnect();
      this.eventsConnection.disconnect();
    }
    await Promise.race([
      Promise.allSettled([this.queueEvents.close(), this.queue.close()]),
      new Promise((resolve) => setTimeout(resolve, this.health.reachable ? 2_000 : 100).unref()),
    ]);
    this.health.stop();
    this.connection.disconnect();
    this.eventsConnection.disconnect();
    this.subject.complete();
  }

  private async existing(id: string): Promise<Job<SealedJobData, MediaJobResult>> {
    const job = await this.getJob(id);
    if (!job) throw new MediaError('JOB_NOT_FOUND', `no job ${id} in the queue`);
    return job;
  }

  // A command on Redis: refused at once while Redis is known to be down, and any Redis failure becomes
  // REDIS_UNREACHABLE (the command timeout bounds a Redis that accepts but does not answer).
  private async redis<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (this.health.knownDown) throw this.health.unreachable();
    // Still making its first connection: wait for it, as long as a command may take.
    if (!this.health.reachable) await this.ready(this.options.commandTimeoutMs ?? 5_000);
    try {
      return await command();
    } catch (error) {
      if (error instanceof MediaError) throw error;
      if (!this.health.reachable || isConnectionError(error)) {
        const reason =
          (error as Error).name === 'MaxRetriesPerRequestError'
            ? 'the connection dropped'
            : (error as Error).message;
        throw new MediaError(
          'REDIS_UNREACHABLE',
          `cannot ${what}: Redis at ${redactUrl(this.options.redisUrl)} does not answer (${reason})`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** What the worker logs: pino's Logger fits. */
export interface WorkerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface MediaWorkerOptions extends Omit<ProcessOptions, 'onProgress' | 'signal'>, RedisOptions {
  redisUrl: string;
  jobKey: Uint8Array;
  queueName?: string;
  concurrency?: number;
  /** How long a job's lock lives without renewal; a killed worker's job is retried after it (default 30 s). */
  lockDuration?: number;
  /** How often stalled jobs are looked for (default 30 s). */
  stalledInterval?: number;
  /** Give up (see MediaWorker.failed) when Redis stays unreachable this long; default: retry forever. */
  connectTimeoutMs?: number;
  logger?: WorkerLogger;
}

export interface MediaWorker {
  worker: Worker<SealedJobData, MediaJobResult>;
  /** Rejects with REDIS_UNREACHABLE when Redis stayed unreachable past `connectTimeoutMs`. */
  failed: Promise<never>;
  /**
   * Finishes running jobs, or with `force` releases them to other workers now (back to waiting, their
   * temporary files removed), then disconnects. Never waits for a Redis that is gone.
   */
  close(force?: boolean): Promise<void>;
}

const silent: WorkerLogger = { info() {}, warn() {}, error() {} };

export function startMediaWorker(options: MediaWorkerOptions): MediaWorker {
  const log = options.logger ?? silent;
  const where = redactUrl(options.redisUrl);
  const cap = options.reconnectMaxDelayMs ?? 5_000;
  const connection = redisConnection(options.redisUrl, { ...options, blocking: true });
  const health = new RedisHealth(connection, options.redisUrl, {
    onDown: (reason, lost) =>
      log.warn(
        { redis: where, reason, retryEveryMs: cap },
        `${lost ? 'lost' : 'cannot reach'} Redis at ${where}: ${reason}; retrying quietly (at most every ${cap} ms)`,
      ),
    onUp: (downMs) => log.info({ redis: where, downMs }, `Redis at ${where} answers again`),
  });
  const deadline = options.connectTimeoutMs ? health.deadline(options.connectTimeoutMs) : undefined;
  const failed = deadline?.promise ?? new Promise<never>(() => undefined);

  let releasing = false;
  let running = 0;
  let idle: (() => void) | undefined;
  const worker = new Worker<SealedJobData, MediaJobResult>(
    options.queueName ?? MEDIA_QUEUE_NAME,
    async (job, token, signal) => {
      const id = job.id!;
      running++;
      let lastReport = 0;
      try {
        const { input, origins } = openJob(options.jobKey, id, job.data);
        await removeStaleParts(input.outPath, options.mediaDir, id);
        const result = await processMediaJob(
          id,
          input,
          {
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
          },
          origins,
        );
        log.info({ id, bytes: result.bytes, attempt: job.attemptsMade + 1 }, 'done');
        return { outPath: result.outPath, bytes: result.bytes };
      } catch (error) {
        if (releasing && token) {
          // Stopping now: the job goes back to waiting for another worker, this try not counted. Without
          // Redis (or when it does not answer soon) its lock expires and the stall check does the same.
          if (health.reachable)
            await Promise.race([
              job.moveToWait(token).then(() => log.info({ id }, 'released')),
              new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
            ]).catch(() => undefined);
          throw new WaitingError();
        }
        if (error instanceof MediaError) {
          log.info(
            { id, code: error.code, retryable: error.retryable, attempt: job.attemptsMade + 1 },
            'failed',
          );
          if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
          throw new Error(`${error.code}: ${error.message}`);
        }
        throw error;
      } finally {
        running--;
        if (running === 0) idle?.();
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
  // Connection errors are the health watcher's to report, once; anything else is said once per kind
  // until Redis is ready again.
  const said = new Set<string>();
  connection.on('ready', () => said.clear());
  worker.on('error', (error) => {
    if (!health.reachable || isConnectionError(error) || said.has(error.message)) return;
    said.add(error.message);
    log.error({ message: error.message }, 'worker error');
  });
  const noneRunning = () =>
    running === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          idle = resolve;
        });

  return {
    worker,
    failed,
    async close(force = false) {
      deadline?.cancel();
      // With Redis gone nothing can be finished or handed back there: stop the jobs (their temporary
      // files are removed) and go; their locks expire and another worker takes them over.
      const now = force || !health.reachable;
      if (now) {
        releasing = true;
        worker.cancelAllJobs('the worker is stopping');
      }
      const closing = worker.close(now).catch(() => undefined);
      // BullMQ's close needs Redis to end; when Redis goes away meanwhile, the jobs this process runs are
      // all that is worth waiting for.
      await Promise.race([closing, health.whenDown().then(noneRunning)]);
      health.stop();
      connection.disconnect();
    },
  };
}

// ioredis and BullMQ say "the connection failed" in these words and codes.
function isConnectionError(error: unknown): boolean {
  const { code, message, name } = (error ?? {}) as { code?: unknown; message?: unknown; name?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  if (
    typeof code === 'string' &&
    /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)/.test(code)
  )
    return true;
  return (
    typeof message === 'string' &&
    /ECONNREFUSED|ECONNRESET|Connection is closed|Stream isn't writeable|Command timed out|connect ETIMEDOUT|getaddrinfo/.test(
      message,
    )
  );
}
