// `walink worker`: takes media jobs from Redis until SIGTERM, then finishes (or releases) what it runs.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { jobKeyFromEnv, MEDIA_QUEUE_NAME, startMediaWorker } from '../../workers/index.ts';
import { reportFailure, UsageError } from './media.ts';

interface WorkerCliOptions {
  redis: string;
  concurrency: string;
  mediaDir: string;
  mediaHost?: string;
  lockDuration: string;
  stalledInterval: string;
  queue: string;
}

function count(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${name} must be an integer ≥ ${min}`);
  return value;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'download and decrypt media jobs from Redis (needs WALINK_JOB_KEY, the same as the enqueuers)',
    )
    .option('--redis <url>', 'Redis URL', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'jobs at once', '2')
    .option('--media-dir <dir>', 'where outputs go when a job names none', 'media')
    .option('--media-host <url>', 'host that directPaths are joined to', 'https://mmg.whatsapp.net')
    .option('--lock-duration <ms>', 'a killed worker’s job is taken over after this', '30000')
    .option('--stalled-interval <ms>', 'how often stalled jobs are looked for', '30000')
    .option('--queue <name>', 'queue name', MEDIA_QUEUE_NAME)
    .action((options: WorkerCliOptions) => {
      try {
        runWorker(options);
      } catch (error) {
        reportFailure('worker', error);
      }
    });
}

function runWorker(options: WorkerCliOptions): void {
  const logger = pino({ name: 'walink-worker' }, pino.destination(2));
  const media = startMediaWorker({
    redisUrl: options.redis,
    jobKey: jobKeyFromEnv(),
    queueName: options.queue,
    concurrency: count('--concurrency', options.concurrency, 1),
    mediaDir: resolve(options.mediaDir),
    ...(options.mediaHost ? { mediaHost: options.mediaHost } : {}),
    lockDuration: count('--lock-duration', options.lockDuration, 1000),
    stalledInterval: count('--stalled-interval', options.stalledInterval, 500),
    log: (event, fields) => logger.info(fields, event),
  });
  media.worker.on('ready', () => process.stdout.write(`walink worker ready (pid ${process.pid})\n`));
  let closing = false;
  const stop = () => {
    // First signal: finish running jobs. Second: release them to other workers now.
    const force = closing;
    closing = true;
    logger.info({ force }, 'stopping');
    void media.close(force).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
