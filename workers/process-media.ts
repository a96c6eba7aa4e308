// One media job from end to end: locate the object (its url, or its directPath on the media host, both
// held to the media host allow-list), download and decrypt it in one streaming pass, leave the plaintext
// at its output path. Shared by the CLI, the in-process runner and the BullMQ worker, so every path runs
// the same checks. A job never names a local file: only `walink media decrypt --in` reads one.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MEDIA_CHECKS, mediaFields } from '../crypto/index.ts';
import { type DecryptResult, decryptMediaToFile } from './decrypt-stream.ts';
import { type DownloadLimits, type MediaSource, mediaUrl, openHttpSource } from './download.ts';
import { MediaError } from './errors.ts';
import { DEFAULT_MEDIA_HOST, MediaHostPolicy, parseMediaUrl } from './media-hosts.ts';
import type { MediaJobInput } from './media-job.ts';

export interface ProcessOptions extends DownloadLimits {
  /** Where outputs go when the job names no outPath. */
  mediaDir: string;
  /** Joined to directPath when a job has no url (default https://mmg.whatsapp.net); always allowed. */
  mediaHost?: string;
  /** Hosts media may come from (default: DEFAULT_MEDIA_HOSTS). */
  mediaHosts?: MediaHostPolicy;
  /** Largest object accepted (default 2 GiB). */
  maxBytes?: number;
  onProgress?: (bytesDone: number, bytesTotal: number | null) => void;
  signal?: AbortSignal;
}

export const DEFAULT_MAX_MEDIA_BYTES = 2 * 1024 * 1024 * 1024;

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'video/mp4': '.mp4',
  'audio/ogg': '.ogg',
  'audio/ogg; codecs=opus': '.ogg',
  'audio/mpeg': '.mp3',
  'audio/mp4': '.m4a',
  'application/pdf': '.pdf',
};

export function defaultOutPath(mediaDir: string, id: string, mimetype?: string): string {
  return join(mediaDir, `${id}${(mimetype && EXTENSIONS[mimetype.toLowerCase()]) ?? '.bin'}`);
}

export async function processMediaJob(
  id: string,
  job: MediaJobInput,
  options: ProcessOptions,
  /** Origins this one job may also come from (vouched for by the enqueuer: its server's own CDN). */
  extraOrigins: readonly string[] = [],
): Promise<DecryptResult> {
  const mediaHost = options.mediaHost ?? DEFAULT_MEDIA_HOST;
  const policy = (options.mediaHosts ?? MediaHostPolicy.default()).with([
    parseMediaUrl(mediaHost, 'the media host').origin,
    ...extraOrigins,
  ]);
  // Refused before anything is opened or created: a bad location costs nothing.
  const where = mediaUrl(job, policy, mediaHost);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  const source = await openHttpSource(where, {
    ...pickLimits(options),
    maxBytes,
    policy,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return decryptSource(id, job, source, options);
}

/** Decrypts an opened source into the job's output path (the CLI's local input comes in here too). */
export async function decryptSource(
  id: string,
  job: Omit<MediaJobInput, 'url' | 'directPath'>,
  source: MediaSource,
  options: Omit<ProcessOptions, 'mediaHost' | 'mediaHosts'>,
): Promise<DecryptResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  const outPath = job.outPath ?? defaultOutPath(options.mediaDir, id, job.mimetype);
  try {
    if (!job.outPath) await mkdir(options.mediaDir, { recursive: true, mode: 0o700 });
    return await decryptTo(outPath, job, source, maxBytes, options);
  } finally {
    // A refusal before the first read (a size that cannot be right) leaves the source unread.
    source.close();
  }
}

function decryptTo(
  outPath: string,
  job: Omit<MediaJobInput, 'url' | 'directPath'>,
  source: MediaSource,
  maxBytes: number,
  options: Pick<ProcessOptions, 'onProgress' | 'signal'>,
): Promise<DecryptResult> {
  return decryptMediaToFile(source.stream, outPath, {
    type: job.type,
    mediaKey: job.mediaKey,
    maxBytes,
    ...(source.size !== undefined ? { objectSize: source.size } : {}),
    ...mediaFields(job, MEDIA_CHECKS),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

function pickLimits(options: DownloadLimits): DownloadLimits {
  const limits: DownloadLimits = {};
  if (options.timeoutMs !== undefined) limits.timeoutMs = options.timeoutMs;
  if (options.deadlineMs !== undefined) limits.deadlineMs = options.deadlineMs;
  if (options.minBytesPerSecond !== undefined) limits.minBytesPerSecond = options.minBytesPerSecond;
  if (options.rateWindowMs !== undefined) limits.rateWindowMs = options.rateWindowMs;
  return limits;
}

export interface RetryPolicy {
  /** Tries in all, the first included (default 4). */
  attempts?: number;
  /** Delay before the second try; doubles each time (default 500 ms). */
  baseDelayMs?: number;
  onRetry?: (attempt: number, delayMs: number, error: MediaError) => void;
  signal?: AbortSignal;
}

/** Runs `task` again after exponential backoff while it fails with a retryable MediaError. */
export async function withRetries<T>(
  task: (attempt: number) => Promise<T>,
  policy: RetryPolicy = {},
): Promise<T> {
  const attempts = policy.attempts ?? 4;
  const base = policy.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (!(error instanceof MediaError) || !error.retryable || attempt >= attempts || policy.signal?.aborted)
        throw error;
      const delay = base * 2 ** (attempt - 1);
      policy.onRetry?.(attempt, delay, error);
      await new Promise<void>((resolve) => {
        // A cancel during the pause ends it: the next turn of the loop rethrows.
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          policy.signal?.removeEventListener('abort', done);
          resolve();
        }
        policy.signal?.addEventListener('abort', done, { once: true });
      });
      if (policy.signal?.aborted) throw error;
    }
  }
}
