// Which media queue a process uses: BullMQ when a Redis URL is given (workers anywhere pick the jobs
// up), else the in-process runner. Shared by `walink start` and `walink serve`.

import { jobKeyFromEnv } from '../job-seal.ts';
import { MediaHostPolicy, serverOrigin } from '../media-hosts.ts';
import type { MediaQueue } from '../media-job.ts';
import { BullMediaQueue, redactUrl } from './bullmq-queue.ts';
import { InProcessMediaQueue } from './in-process-queue.ts';

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
  redisUrl?: string | undefined;
  /**
   * The server the sessions talk to (ws/wss URL): its own origin is allowed for media beside the
   * allow-list, so the emulator's CDN works when the emulator is the server.
   */
  serverUrl?: string | undefined;
  /** The media host allow-list (default: WALINK_MEDIA_HOSTS, else the WhatsApp media hosts). */
  mediaHosts?: MediaHostPolicy;
  /** How long to wait for Redis to answer at start (default 5 s). */
  connectTimeoutMs?: number;
}): Promise<OpenedMediaQueue> {
  const { mediaDir, redisUrl } = options;
  const origin = options.serverUrl ? serverOrigin(options.serverUrl) : undefined;
  const origins = origin ? [origin] : [];
  if (!redisUrl) {
    const mediaHosts = (options.mediaHosts ?? MediaHostPolicy.fromEnv()).with(origins);
    return {
      queue: new InProcessMediaQueue({ mediaDir, mediaHosts }),
      kind: 'in-process',
      description: `media: in-process queue, outputs in ${mediaDir}`,
    };
  }
  // The workers apply their own allow-list; the server's origin travels sealed in each job.
  const queue = new BullMediaQueue({ redisUrl, jobKey: jobKeyFromEnv(), trustedOrigins: origins });
  try {
    await queue.ready(options.connectTimeoutMs ?? 5_000);
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
