// Opens a CDN object as a byte stream: a deadline for the answer and for each read, a size limit, and
// statuses mapped to what they mean for media (404/410: expired, 5xx: try again later).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { MediaError, toMediaError } from './errors.ts';

export interface MediaSource {
  stream: AsyncIterable<Uint8Array>;
  /** Bytes announced (Content-Length or file size), when known. */
  size: number | undefined;
}

export interface DownloadOptions {
  /** Deadline for the response headers and for every gap between body chunks (default 30 s). */
  timeoutMs?: number;
  maxBytes?: number;
  signal?: AbortSignal;
}

/** The host directPaths are joined to when a message carries no url (docs/protocol.md §4.4). */
export const DEFAULT_MEDIA_HOST = 'https://mmg.whatsapp.net';

export function mediaUrl(job: { url?: string; directPath?: string }, mediaHost = DEFAULT_MEDIA_HOST): string {
  if (job.url) return job.url;
  if (job.directPath) return new URL(job.directPath, mediaHost).toString();
  throw new MediaError('BAD_TYPE', 'a media job needs a url or a directPath');
}

export async function openHttpSource(url: string, options: DownloadOptions = {}): Promise<MediaSource> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  let timer = setTimeout(
    () => controller.abort(new MediaError('TIMEOUT', `no answer within ${timeoutMs} ms`)),
    timeoutMs,
  );
  const cleanUp = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abortFromCaller);
  };
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
  } catch (error) {
    cleanUp();
    throw fetchError(error, controller.signal);
  }
  if (!response.ok || !response.body) {
    cleanUp();
    await response.body?.cancel().catch(() => undefined);
    throw statusError(response.status, url);
  }
  const announced = response.headers.get('content-length');
  const size = announced !== null && /^\d+$/.test(announced) ? Number(announced) : undefined;
  if (size !== undefined && options.maxBytes !== undefined && size > options.maxBytes) {
    cleanUp();
    await response.body.cancel().catch(() => undefined);
    throw new MediaError('TOO_LARGE', `the object is ${size} bytes, the limit is ${options.maxBytes}`);
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  async function* guarded(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        // A stalled body is as bad as no answer: the deadline restarts with every chunk.
        clearTimeout(timer);
        timer = setTimeout(
          () => controller.abort(new MediaError('TIMEOUT', `the body stalled for ${timeoutMs} ms`)),
          timeoutMs,
        );
        yield chunk as Uint8Array;
      }
    } catch (error) {
      throw fetchError(error, controller.signal);
    } finally {
      cleanUp();
      body.destroy();
    }
  }
  return { stream: guarded(), size };
}

export async function openFileSource(path: string): Promise<MediaSource> {
  try {
    const info = await stat(path);
    return { stream: createReadStream(path, { highWaterMark: 256 * 1024 }), size: info.size };
  } catch (error) {
    throw toMediaError(error, 'IO');
  }
}

/** A URL (http/https) or a path. */
export function openMediaSource(where: string, options: DownloadOptions = {}): Promise<MediaSource> {
  return /^https?:\/\//i.test(where) ? openHttpSource(where, options) : openFileSource(where);
}

function statusError(status: number, url: string): MediaError {
  const where = new URL(url).host;
  if (status === 404 || status === 410)
    return new MediaError(
      'MEDIA_EXPIRED',
      `${where} answered ${status}: the media expired; ask the phone to re-upload it`,
    );
  if (status >= 500) return new MediaError('HTTP_5XX', `${where} answered ${status}`);
  return new MediaError('HTTP_STATUS', `${where} answered ${status}`);
}

function fetchError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && signal.reason instanceof MediaError) return signal.reason;
  if (signal.aborted) return new MediaError('ABORTED', 'cancelled');
  if (error instanceof MediaError) return error;
  // undici wraps socket errors: TypeError('fetch failed' | 'terminated', { cause: SocketError | ErrnoException })
  const cause = (error as { cause?: unknown }).cause;
  const converted = toMediaError(cause ?? error, 'NETWORK');
  if (converted instanceof MediaError) return converted;
  return new MediaError('NETWORK', (error as Error).message ?? String(error), { cause: error });
}
