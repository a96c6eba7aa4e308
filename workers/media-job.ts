// The media job contract shared by the in-process runner and the BullMQ queue (docs/modules.md).
// The session only sees MediaQueue.
import { createHash } from 'node:crypto';
import type { Observable } from 'rxjs';
import type { MediaType } from '../crypto/index.ts';

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
  /** Idempotent: the id derives from fileEncSha256 (or the url), so the same media is done once. */
  enqueue(job: MediaJobInput): Promise<{ id: string }>;
  readonly events$: Observable<MediaJobEvent>;
  close(): Promise<void>;
}

/** A stable job id: the object's hash when known (it names the bytes), else a hash of where it lives. */
export function mediaJobId(job: Pick<MediaJobInput, 'fileEncSha256' | 'url' | 'directPath'>): string {
  if (job.fileEncSha256 && job.fileEncSha256.length === 32)
    return `media-${Buffer.from(job.fileEncSha256).toString('hex')}`;
  const where = job.url ?? job.directPath;
  if (!where) throw new TypeError('a media job needs a url or a directPath');
  return `media-url-${createHash('sha256').update(where).digest('hex')}`;
}
