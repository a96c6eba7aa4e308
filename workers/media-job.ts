// The media job contract shared by the in-process runner and the BullMQ queue (docs/modules.md).
// The session only sees MediaQueue.
import { createHmac } from 'node:crypto';
import type { Observable } from 'rxjs';
import type { MediaType } from '../crypto/index.ts';
import { MediaError } from './errors.ts';

export const MEDIA_QUEUE_NAME = 'walink-media';

export interface MediaJobInput {
  type: MediaType;
  /** Secret: never logged, never stored in Redis in the clear. */
  mediaKey: Uint8Array;
  url?: string;
  /** Joined to a media host when there is no url. */
  directPath?: string;
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
  /** Where the plaintext goes; default: the queue's media directory + the job id. */
  outPath?: string;
  messageId?: string;
  chatJid?: string;
  mimetype?: string;
}

export type MediaJobEvent =
  | { type: 'queued'; id: string }
  | { type: 'progress'; id: string; bytesDone: number; bytesTotal: number | null }
  | { type: 'done'; id: string; outPath: string; bytes: number }
  | { type: 'failed'; id: string; reason: string; retriable: boolean };

export interface MediaQueue {
  /**
   * Idempotent: the id derives from the object (fileEncSha256, else its url) and a keyed hash of the
   * type and mediaKey, so the same media with the same key is done once, and the same object with another
   * key is another job.
   */
  enqueue(job: MediaJobInput): Promise<{ id: string }>;
  readonly events$: Observable<MediaJobEvent>;
  close(): Promise<void>;
}

/**
 * A stable job id: HMAC-SHA-256 under `idKey` of what names the bytes (fileEncSha256, else the url or
 * directPath), the media type and the mediaKey. A failed try with a wrong key therefore never blocks the
 * right one, and the id reveals neither the key nor (without idKey) which media it is.
 */
export function mediaJobId(
  job: Pick<MediaJobInput, 'fileEncSha256' | 'url' | 'directPath' | 'type' | 'mediaKey'>,
  idKey: Uint8Array,
): string {
  const object =
    job.fileEncSha256 && job.fileEncSha256.length === 32
      ? `enc:${Buffer.from(job.fileEncSha256).toString('hex')}`
      : job.url
        ? `url:${job.url}`
        : job.directPath
          ? `path:${job.directPath}`
          : undefined;
  if (!object) throw new MediaError('BAD_URL', 'a media job needs a url or a directPath');
  const tag = createHmac('sha256', idKey)
    .update(`walink media job v2\0${object}\0${job.type}\0`)
    .update(job.mediaKey)
    .digest('hex');
  return `media-${tag}`;
}
