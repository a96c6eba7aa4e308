// Which media queue a process uses: BullMQ when a Redis URL is given (workers anywhere pick the jobs
// up), else the in-process runner. Shared by `walink start` and `walink serve`.
import { BullMediaQueue, redactUrl } from './bullmq-queue.ts';
import { InProcessMediaQueue } from './in-process-queue.ts';
import { jobKeyFromEnv } from './job-seal.ts';
import type { MediaQueue } from './media-job.ts';

export interface OpenedMediaQueue {
  queue: MediaQueue;
  kind: 'in-process' | 'redis';
  /** Jobs by state (Redis only), for dashboards. */
  counts?: () => Promise<Record<string, number>>;
  /** One line for people: where jobs go and what to run. */
  description: string;
}

/** Opens the queue; with Redis it waits until Redis answers (a clear error when it does not). */
export async function openMediaQueue(options: {
  mediaDir: string;
  redisUrl?: string;
}): Promise<OpenedMediaQueue> {
  const { mediaDir, redisUrl } = options;
  if (!redisUrl) {
    return {
      queue: new InProcessMediaQueue({ mediaDir }),
      kind: 'in-process',
      description: `media: in-process queue, outputs in ${mediaDir}`,
    };
  }
  const queue = new BullMediaQueue({ redisUrl, jobKey: jobKeyFromEnv() });
  try {
    await queue.ready();
  } catch (error) {
    await queue.close();
    throw error;
  }
  return {
    queue,
    kind: 'redis',
    counts: () => queue.counts(),
    description: `media: jobs go to Redis at ${redactUrl(redisUrl)}; run \`walink worker\` to process them`,
  };
}
