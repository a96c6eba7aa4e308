// Why a media download or decryption failed. A failure never leaves plaintext behind, and `retryable`
// tells a queue whether trying the same job again could help (a flaky CDN) or not (a bad MAC).

export type MediaErrorCode =
  /** The 10-byte MAC over iv ‖ ct does not verify: corrupt object, wrong key or wrong media type. */
  | 'MAC_MISMATCH'
  /** SHA-256 of the encrypted object differs from fileEncSha256. */
  | 'ENC_SHA256_MISMATCH'
  /** SHA-256 of the plaintext differs from fileSha256. */
  | 'SHA256_MISMATCH'
  /** The plaintext length differs from fileLength. */
  | 'LENGTH_MISMATCH'
  /** The object's length is not ≡ 10 mod 16: it cannot be ct ‖ mac10. */
  | 'BAD_LENGTH'
  /** The object is 10 bytes or less, or the CDN answered 404/410: re-request it from the phone. */
  | 'MEDIA_EXPIRED'
  /** The MAC verified but the PKCS7 padding did not: the sender encrypted garbage. */
  | 'BAD_PADDING'
  /** The object delivered a different number of bytes than announced (Content-Length, --size). */
  | 'SIZE_MISMATCH'
  /** The object is bigger than the caller allows. */
  | 'TOO_LARGE'
  /** mediaKey is not 32 bytes. */
  | 'BAD_KEY'
  /** Not a media type of docs/protocol.md §4.1. */
  | 'BAD_TYPE'
  /** Reading the input or writing the output failed on this machine. */
  | 'IO'
  /** The connection to the CDN failed or was cut. */
  | 'NETWORK'
  /** The CDN answered 5xx. */
  | 'HTTP_5XX'
  /** The CDN answered another unexpected status. */
  | 'HTTP_STATUS'
  /** No answer, no bytes, or not the whole object within the time allowed. */
  | 'TIMEOUT'
  /** The body arrived slower than the minimum rate over a whole window. */
  | 'TOO_SLOW'
  /** The caller cancelled. */
  | 'ABORTED'
  /** A media URL that is not http(s) (a local path, file:, data:, …), carries credentials or does not parse. */
  | 'BAD_URL'
  /** A media URL (or a redirect) whose host is not on the media host allow-list. */
  | 'HOST_NOT_ALLOWED'
  /** A directPath that is not a path on the media host (`//host`, a scheme, `..`, control characters). */
  | 'BAD_DIRECT_PATH'
  /** A local input that is not a regular file (a FIFO, a device, a directory). */
  | 'NOT_A_FILE'
  /** Redis did not answer within the deadline, or went away. */
  | 'REDIS_UNREACHABLE'
  /** No job with that id in the queue. */
  | 'JOB_NOT_FOUND'
  /** The job is in a state that does not allow the operation (e.g. retrying an active job). */
  | 'JOB_STATE';

const RETRYABLE: ReadonlySet<MediaErrorCode> = new Set([
  'NETWORK',
  'HTTP_5XX',
  'TIMEOUT',
  'TOO_SLOW',
  'REDIS_UNREACHABLE',
]);

export class MediaError extends Error {
  override readonly name = 'MediaError';
  readonly retryable: boolean;
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }
}

export function isMediaError(value: unknown): value is MediaError {
  return value instanceof MediaError;
}

// System error codes that mean the network, not this machine, failed.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Turns what Node throws into a MediaError; `fallback` names the side that failed (IO for files, NETWORK
 * for sockets). Anything that is not an operational error (a bug) is returned unchanged.
 */
export function toMediaError(error: unknown, fallback: 'IO' | 'NETWORK'): unknown {
  if (error instanceof MediaError) return error;
  if (!(error instanceof Error)) return error;
  if (error.name === 'AbortError') return new MediaError('ABORTED', 'cancelled', { cause: error });
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return error;
  const kind = NETWORK_CODES.has(code) ? 'NETWORK' : fallback;
  return new MediaError(kind, `${code}: ${error.message}`, { cause: error });
}
