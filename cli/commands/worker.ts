// `walink worker`: takes media jobs from Redis until SIGTERM, then finishes (or releases) what it runs.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { integer } from '../usage.ts';

interface WorkerCliOptions {
  redis: string;
  concurrency: number;
  mediaDir: string;
  mediaHost?: string;
  lockDuration: number;
  stalledInterval: number;
  queue?: string;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'download and decrypt media jobs from Redis (needs WALINK_JOB_KEY, the same as the enqueuers)',
    )
    .option('--redis <url>', 'Redis URL', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'jobs at once', integer(1), 2)
    .option('--media-dir <dir>', 'where outputs go when a job names none', 'media')
    .option('--media-host <url>', 'host that directPaths are joined to', 'https://mmg.whatsapp.net')
    .option('--lock-duration <ms>', 'a killed worker’s job is taken over after this', integer(1000), 30_000)
    .option('--stalled-interval <ms>', 'how often stalled jobs are looked for', integer(500), 30_000)
    .option('--queue <name>', 'queue name (default: the media queue the sessions use)')
    .action(runWorker);
}

async function runWorker(options: WorkerCliOptions): Promise<void> {
  // BullMQ, ioredis and pino load when a worker runs, not when `walink` starts.
  const [{ default: pino }, { MEDIA_QUEUE_NAME, jobKeyFromEnv, startMediaWorker }] = await Promise.all([
    import('pino'),
    import('../../workers/index.ts'),
  ]);
  const logger = pino({ name: 'walink-worker' }, pino.destination(2));
  const media = startMediaWorker({
    redisUrl: options.redis,
    jobKey: jobKeyFromEnv(),
    queueName: options.queue ?? MEDIA_QUEUE_NAME,
    concurrency: options.concurrency,
    mediaDir: resolve(options.mediaDir),
    ...(options.mediaHost ? { mediaHost: options.mediaHost } : {}),
    lockDuration: options.lockDuration,
    stalledInterval: options.stalledInterval,
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
