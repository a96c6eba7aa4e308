// One media job from end to end: open the object (URL, directPath + host, or a file), decrypt it in one
// streaming pass, leave the plaintext at its output path. Shared by the CLI, the in-process runner and
// the BullMQ worker, so every path runs the same checks.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MEDIA_CHECKS, mediaFields } from '../codec/index.ts';
import { type DecryptResult, decryptMediaToFile } from './decrypt-stream.ts';
import { mediaUrl, openMediaSource } from './download.ts';
import { MediaError } from './errors.ts';
import type { MediaJobInput } from './media-job.ts';

export interface ProcessOptions {
  /** Where outputs go when the job names no outPath. */
  mediaDir: string;
  /** Joined to directPath when a job has no url. */
  mediaHost?: string;
  timeoutMs?: number;
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
): Promise<DecryptResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  const where = job.url || job.directPath ? mediaUrl(job, options.mediaHost) : undefined;
  if (!where) throw new MediaError('BAD_TYPE', 'a media job needs a url or a directPath');
  const outPath = job.outPath ?? defaultOutPath(options.mediaDir, id, job.mimetype);
  if (!job.outPath) await mkdir(options.mediaDir, { recursive: true, mode: 0o700 });
  const source = await openMediaSource(where, {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    maxBytes,
    ...(options.signal ? { signal: options.signal } : {}),
  });
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
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
