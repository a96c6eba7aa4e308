// Opens a CDN object as a byte stream with three clocks: a deadline for the answer and for every gap
// between body chunks, an overall deadline for the whole object, and a minimum rate over a window (a
// server that trickles a byte a second defeats a gap timer). Statuses map to what they mean for media
// (404/410: expired, 5xx: try again later); redirects are followed only to allowed hosts.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { MediaError, toMediaError } from './errors.ts';
import { DEFAULT_MEDIA_HOST, directPathUrl, type MediaHostPolicy, parseMediaUrl } from './media-hosts.ts';

export interface MediaSource {
  stream: AsyncIterable<Uint8Array>;
  /** Bytes announced (Content-Length or file size), when known. */
  size: number | undefined;
  /** Releases the source (socket, timers, file) if it was not read to its end; safe to call twice. */
  close(): void;
}

export interface DownloadLimits {
  /** Deadline for the response headers and for every gap between body chunks (default 30 s). */
  timeoutMs?: number;
  /** Deadline for the whole object, from the request to its last byte (default 1 h). */
  deadlineMs?: number;
  /** Slowest acceptable body, in bytes per second averaged over `rateWindowMs` (default 16 KiB/s; 0: none). */
  minBytesPerSecond?: number;
  /** The window the rate is measured over (default 30 s). */
  rateWindowMs?: number;
}

export interface DownloadOptions extends DownloadLimits {
  maxBytes?: number;
  signal?: AbortSignal;
  /** Hosts a redirect may lead to; without it redirects are refused. */
  policy?: MediaHostPolicy;
  /** Redirects followed at most (default 3). */
  maxRedirects?: number;
}

export const DOWNLOAD_DEFAULTS = {
  timeoutMs: 30_000,
  deadlineMs: 60 * 60 * 1000,
  minBytesPerSecond: 16 * 1024,
  rateWindowMs: 30_000,
} as const satisfies Required<DownloadLimits>;

/**
 * Where a job's object lives: its url, or its directPath on the media host. Either must pass the
 * allow-list; nothing here ever names a local file.
 */
export function mediaUrl(
  job: { url?: string; directPath?: string },
  policy: MediaHostPolicy,
  mediaHost = DEFAULT_MEDIA_HOST,
): URL {
  if (job.url) return policy.check(job.url);
  if (job.directPath)
    return policy.check(directPathUrl(job.directPath, mediaHost).toString(), 'the directPath');
  throw new MediaError('BAD_URL', 'a media job needs a url or a directPath');
}

export async function openHttpSource(url: URL | string, options: DownloadOptions = {}): Promise<MediaSource> {
  const timeoutMs = options.timeoutMs ?? DOWNLOAD_DEFAULTS.timeoutMs;
  const deadlineMs = options.deadlineMs ?? DOWNLOAD_DEFAULTS.deadlineMs;
  const minRate = options.minBytesPerSecond ?? DOWNLOAD_DEFAULTS.minBytesPerSecond;
  const windowMs = options.rateWindowMs ?? DOWNLOAD_DEFAULTS.rateWindowMs;
  const controller = new AbortController();
  const abort = (error: MediaError) => controller.abort(error);
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw new MediaError('ABORTED', 'cancelled');
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  let gapTimer = setTimeout(
    () => abort(new MediaError('TIMEOUT', `no answer within ${timeoutMs} ms`)),
    timeoutMs,
  );
  const overall = setTimeout(
    () =>
      abort(new MediaError('TIMEOUT', `the object did not arrive within the deadline of ${deadlineMs} ms`)),
    deadlineMs,
  );
  let rateTimer: NodeJS.Timeout | undefined;
  const cleanUp = () => {
    clearTimeout(gapTimer);
    clearTimeout(overall);
    clearInterval(rateTimer);
    options.signal?.removeEventListener('abort', abortFromCaller);
  };
  let response: Response;
  try {
    response = await fetchFollowingAllowed(url.toString(), controller.signal, options);
  } catch (error) {
    cleanUp();
    throw fetchError(error, controller.signal);
  }
  const where = new URL(response.url || url.toString()).host;
  if (!response.ok || !response.body) {
    cleanUp();
    await response.body?.cancel().catch(() => undefined);
    throw statusError(response.status, where);
  }
  const announced = response.headers.get('content-length');
  const size = announced !== null && /^\d+$/.test(announced) ? Number(announced) : undefined;
  if (size !== undefined && options.maxBytes !== undefined && size > options.maxBytes) {
    cleanUp();
    await response.body.cancel().catch(() => undefined);
    throw new MediaError('TOO_LARGE', `the object is ${size} bytes, the limit is ${options.maxBytes}`);
  }
  let received = 0;
  if (minRate > 0 && windowMs > 0) {
    let atWindowStart = 0;
    const needed = Math.ceil((minRate * windowMs) / 1000);
    rateTimer = setInterval(() => {
      const got = received - atWindowStart;
      atWindowStart = received;
      if (got < needed)
        abort(
          new MediaError(
            'TOO_SLOW',
            `${where} sent ${got} bytes in ${windowMs} ms, less than the minimum of ${minRate} bytes/s`,
          ),
        );
    }, windowMs);
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  async function* guarded(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        // A stalled body is as bad as no answer: the gap deadline restarts with every chunk.
        clearTimeout(gapTimer);
        gapTimer = setTimeout(
          () => abort(new MediaError('TIMEOUT', `the body stalled for ${timeoutMs} ms`)),
          timeoutMs,
        );
        received += (chunk as Uint8Array).length;
        yield chunk as Uint8Array;
      }
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (error) {
      throw fetchError(error, controller.signal);
    } finally {
      cleanUp();
      body.destroy();
    }
  }
  return {
    stream: guarded(),
    size,
    close: () => {
      cleanUp();
      body.destroy();
    },
  };
}

// fetch with redirect: 'follow' would go wherever a Location says; each hop is checked instead.
async function fetchFollowingAllowed(
  first: string,
  signal: AbortSignal,
  options: DownloadOptions,
): Promise<Response> {
  const maxRedirects = options.maxRedirects ?? 3;
  let url = first;
  for (let hop = 0; ; hop++) {
    const response = await fetch(url, { signal, redirect: 'manual' });
    if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (!location) return response;
    if (hop >= maxRedirects)
      throw new MediaError('HTTP_STATUS', `more than ${maxRedirects} redirects from ${new URL(first).host}`);
    const next = new URL(location, url).toString();
    if (!options.policy)
      throw new MediaError(
        'HOST_NOT_ALLOWED',
        `${new URL(url).host} redirected, and no redirect is allowed here`,
      );
    url = options.policy.check(next, `a redirect from ${new URL(url).host}`).toString();
  }
}

/**
 * A local file the operator named (`walink media decrypt --in`): only a regular file, so a FIFO or a
 * device cannot stall or flood the reader.
 */
export async function openFileSource(path: string): Promise<MediaSource> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw toMediaError(error, 'IO');
  }
  if (!info.isFile())
    throw new MediaError(
      'NOT_A_FILE',
      `${path} is ${describeKind(info)}, not a regular file (use --in - to read standard input)`,
    );
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  return { stream, size: info.size, close: () => stream.destroy() };
}

function describeKind(info: Awaited<ReturnType<typeof stat>>): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * A stream the operator piped in (`--in -`): no size; a gap longer than `timeoutMs` between chunks is a
 * TIMEOUT rather than a wait without end.
 */
export function openStreamSource(input: NodeJS.ReadableStream, timeoutMs: number): MediaSource {
  async function* guarded(): AsyncGenerator<Uint8Array> {
    const iterator = (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const next = await Promise.race([
          iterator.next(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new MediaError('TIMEOUT', `no input for ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // return() would queue behind the next() still pending after a timeout: end the stream instead.
      (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      void iterator.return?.().catch(() => undefined);
    }
  }
  return { stream: guarded(), size: undefined, close: () => undefined };
}

/** An http(s) URL the caller already checked. Local paths are not media sources: see openFileSource. */
export function openMediaSource(where: URL | string, options: DownloadOptions = {}): Promise<MediaSource> {
  return openHttpSource(parseMediaUrl(where.toString()), options);
}

function statusError(status: number, where: string): MediaError {
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
