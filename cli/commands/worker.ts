// `walink worker`: takes media jobs from Redis until SIGTERM or SIGINT, then finishes (or, on a second
// signal, releases) what it runs. A Redis that cannot be reached is said once, at warn level, and tried
// again quietly with a capped backoff, or given up on after --connect-timeout.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_MEDIA_HOST,
  jobKeyFromEnv,
  MEDIA_HOSTS_ENV,
  MEDIA_QUEUE_NAME,
  MediaHostPolicy,
} from '../../workers/index.ts';
import { integer } from '../usage.ts';
import { addDownloadOptions, downloadLimits, mediaHostOption, mediaHostsOption } from './media.ts';

interface WorkerCliOptions {
  redis: string;
  concurrency: number;
  mediaDir: string;
  mediaHost: string;
  mediaHosts?: string[];
  lockDuration: number;
  stalledInterval: number;
  queue: string;
  connectTimeout: number;
  reconnectMaxDelay: number;
  timeout: number;
  deadline: number;
  minRate: number;
  rateWindow: number;
}

export function registerWorkerCommand(program: Command): void {
  addDownloadOptions(
    program
      .command('worker')
      .description(
        'download and decrypt media jobs from Redis (needs WALINK_JOB_KEY, the same as the enqueuers)',
      )
      .option('--redis <url>', 'Redis URL', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
      .option('--concurrency <n>', 'jobs at once', integer(1, 256), 2)
      .option('--media-dir <dir>', 'where outputs go when a job names none', 'media')
      .option(
        '--media-host <url>',
        'host that directPaths are joined to',
        mediaHostOption,
        DEFAULT_MEDIA_HOST,
      )
      .option(
        '--media-hosts <list>',
        `hosts media may be fetched from, comma-separated and repeatable: names (https), *.suffixes or origins like http://127.0.0.1:7000; "default" is the WhatsApp media hosts (default: $${MEDIA_HOSTS_ENV}, else "default")`,
        mediaHostsOption,
      )
      .option('--lock-duration <ms>', 'a killed worker’s job is taken over after this', integer(1000), 30_000)
      .option('--stalled-interval <ms>', 'how often stalled jobs are looked for', integer(500), 30_000)
      .option('--queue <name>', 'queue name', MEDIA_QUEUE_NAME)
      .option(
        '--connect-timeout <ms>',
        'exit (code 1) when Redis stays unreachable this long; 0: keep retrying',
        integer(0),
        0,
      )
      .option(
        '--reconnect-max-delay <ms>',
        'the longest pause between tries to reach Redis',
        integer(100),
        5_000,
      ),
  ).action(runWorker);
}

async function runWorker(options: WorkerCliOptions): Promise<void> {
  // BullMQ, ioredis and pino load when a worker runs, not when `walink` starts.
  const [{ default: pino }, { startMediaWorker }] = await Promise.all([
    import('pino'),
    import('../../workers/queues/index.ts'),
  ]);
  const mediaHosts = options.mediaHosts
    ? MediaHostPolicy.parse(options.mediaHosts)
    : MediaHostPolicy.fromEnv();
  const logger = pino({ name: 'walink-worker' }, pino.destination(2));
  const media = startMediaWorker({
    redisUrl: options.redis,
    jobKey: jobKeyFromEnv(),
    queueName: options.queue,
    concurrency: options.concurrency,
    mediaDir: resolve(options.mediaDir),
    mediaHost: options.mediaHost,
    mediaHosts,
    ...downloadLimits(options),
    lockDuration: options.lockDuration,
    stalledInterval: options.stalledInterval,
    connectTimeoutMs: options.connectTimeout,
    reconnectMaxDelayMs: options.reconnectMaxDelay,
    logger,
  });
  media.worker.on('ready', () => process.stdout.write(`walink worker ready (pid ${process.pid})\n`));
  media.failed.catch((error: Error & { code?: string }) => {
    logger.error({ code: error.code }, error.message);
    void media.close(true).finally(() => process.exit(1));
  });
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    // First signal: finish running jobs (at once when Redis is gone). Second: release them now.
    const force = closing;
    closing = true;
    logger.info({ signal, force }, force ? 'stopping now: releasing running jobs' : 'stopping');
    void media.close(force).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
