// docs/protocol.md §4.3 in one streaming pass: SHA-256 of the object, the 10-byte MAC, AES-256-CBC, SHA-256 and
// length of the plaintext, all fed chunk by chunk so memory stays bounded whatever the size. The plaintext
// goes to a temporary file beside the output that is renamed into place only when every check passed.
import { createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { expandMediaKey, isMediaType, MEDIA_MAC_LENGTH, type MediaType } from '../crypto/index.ts';
import { MediaError, toMediaError } from './errors.ts';

export interface DecryptOptions {
  type: MediaType;
  /** Secret: 32 bytes. */
  mediaKey: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileSha256?: Uint8Array;
  fileLength?: number;
  /** The object's size when known (Content-Length), for progress and a size check. */
  objectSize?: number;
  /** Refuse objects bigger than this many bytes (default: no limit). */
  maxBytes?: number;
  /** Called with the encrypted bytes consumed so far, at most every `progressEvery` bytes and at the end. */
  onProgress?: (bytesDone: number, bytesTotal: number | null) => void;
  progressEvery?: number;
  signal?: AbortSignal;
}

export interface DecryptResult {
  outPath: string;
  /** Plaintext bytes written. */
  bytes: number;
  /** Encrypted bytes read. */
  objectBytes: number;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
}

/**
 * Decrypts `source` (the CDN object: ciphertext ‖ mac10) into `outPath`. On any failure the temporary file
 * is removed and a MediaError says why; `outPath` is only ever absent or complete.
 */
export async function decryptMediaToFile(
  source: AsyncIterable<Uint8Array>,
  outPath: string,
  options: DecryptOptions,
): Promise<DecryptResult> {
  const passes = new DecryptPasses(options);
  const partPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.part`);
  const sink = createWriteStream(partPath, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(
      source,
      (chunks: AsyncIterable<Uint8Array>) => passes.run(chunks),
      sink,
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    const verdict = passes.verdict();
    // Durable before visible: a crash after the rename must not leave a file of zeros behind it.
    const handle = await open(partPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partPath, outPath);
    return { outPath, ...verdict };
  } catch (error) {
    // The file is opened asynchronously: a pipeline that fails at once can reject before the open has
    // happened. Wait for the stream to close (it finishes its open first), then remove the file.
    if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
    await unlink(partPath).catch(() => undefined);
    throw toMediaError(error, 'IO');
  }
}

/** The same passes without a file: returns the plaintext (for small objects and tests). */
export async function decryptMediaToBuffer(
  source: AsyncIterable<Uint8Array>,
  options: DecryptOptions,
): Promise<{ plaintext: Buffer } & Omit<DecryptResult, 'outPath'>> {
  const passes = new DecryptPasses(options);
  const parts: Buffer[] = [];
  try {
    for await (const part of passes.run(source)) parts.push(part);
  } catch (error) {
    throw toMediaError(error, 'IO');
  }
  return { plaintext: Buffer.concat(parts), ...passes.verdict() };
}

class DecryptPasses {
  private readonly encHash = createHash('sha256');
  private readonly plainHash = createHash('sha256');
  private readonly hmac;
  private readonly decipher;
  // The last 10 bytes seen: they are the MAC if the stream ends here, ciphertext otherwise.
  private tail: Buffer = Buffer.alloc(0);
  private objectBytes = 0;
  private plainBytes = 0;
  private nextProgress: number;
  private finished: { fileSha256: Uint8Array; fileEncSha256: Uint8Array } | null = null;
  private readonly expectedObjectSize: number | undefined;

  constructor(private readonly options: DecryptOptions) {
    if (!isMediaType(options.type))
      throw new MediaError('BAD_TYPE', `unknown media type ${String(options.type)}`);
    if (!(options.mediaKey instanceof Uint8Array) || options.mediaKey.length !== 32)
      throw new MediaError('BAD_KEY', 'mediaKey must be 32 bytes');
    if (
      options.objectSize !== undefined &&
      options.maxBytes !== undefined &&
      options.objectSize > options.maxBytes
    )
      throw new MediaError(
        'TOO_LARGE',
        `the object is ${options.objectSize} bytes, the limit is ${options.maxBytes}`,
      );
    // PKCS7 always pads (1 to 16 bytes), so fileLength fixes the object's size to the byte: an input of
    // another announced size is refused before a byte is read, and one that grows past it as soon as it does.
    this.expectedObjectSize =
      options.fileLength !== undefined ? objectSizeFor(options.fileLength) : undefined;
    if (
      this.expectedObjectSize !== undefined &&
      options.objectSize !== undefined &&
      options.objectSize !== this.expectedObjectSize
    )
      throw lengthMismatch(options.fileLength!, this.expectedObjectSize, `is ${options.objectSize} bytes`);
    const keys = expandMediaKey(options.mediaKey, options.type);
    this.hmac = createHmac('sha256', keys.macKey).update(keys.iv);
    this.decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    this.nextProgress = options.progressEvery ?? 1024 * 1024;
  }

  async *run(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    for await (const raw of source) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (chunk.length === 0) continue;
      this.objectBytes += chunk.length;
      const { maxBytes } = this.options;
      if (maxBytes !== undefined && this.objectBytes > maxBytes)
        throw new MediaError('TOO_LARGE', `the object exceeds the limit of ${maxBytes} bytes`);
      if (this.expectedObjectSize !== undefined && this.objectBytes > this.expectedObjectSize)
        throw lengthMismatch(this.options.fileLength!, this.expectedObjectSize, 'is longer');
      this.encHash.update(chunk);
      for (const ciphertext of this.shiftCiphertext(chunk)) {
        this.hmac.update(ciphertext);
        const plain = this.decipher.update(ciphertext);
        if (plain.length > 0) {
          this.plainHash.update(plain);
          this.plainBytes += plain.length;
          yield plain;
        }
      }
      this.reportProgress(false);
    }
    const last = this.finish();
    if (last.length > 0) yield last;
    this.reportProgress(true);
  }

  /** The verified hashes and sizes; only valid after run() completed. */
  verdict(): Omit<DecryptResult, 'outPath'> {
    if (!this.finished) throw new MediaError('IO', 'the media stream ended before it was read');
    return { bytes: this.plainBytes, objectBytes: this.objectBytes, ...this.finished };
  }

  // Everything but the newest 10 bytes is ciphertext; returns it as at most two views, without copying
  // the chunk.
  private shiftCiphertext(chunk: Buffer): Buffer[] {
    if (chunk.length >= MEDIA_MAC_LENGTH) {
      const out =
        this.tail.length > 0
          ? [this.tail, chunk.subarray(0, chunk.length - MEDIA_MAC_LENGTH)]
          : [chunk.subarray(0, chunk.length - MEDIA_MAC_LENGTH)];
      this.tail = Buffer.from(chunk.subarray(chunk.length - MEDIA_MAC_LENGTH));
      return out;
    }
    const joined = Buffer.concat([this.tail, chunk]);
    const cut = Math.max(0, joined.length - MEDIA_MAC_LENGTH);
    this.tail = joined.subarray(cut);
    return cut > 0 ? [joined.subarray(0, cut)] : [];
  }

  // The checks in docs/protocol.md §4.3's order; the first that fails names the failure.
  private finish(): Buffer {
    const { options } = this;
    if (this.objectBytes <= MEDIA_MAC_LENGTH)
      throw new MediaError('MEDIA_EXPIRED', 'the media object is empty: it was deleted from the server');
    if (options.objectSize !== undefined && this.objectBytes !== options.objectSize)
      throw new MediaError(
        'SIZE_MISMATCH',
        `read ${this.objectBytes} bytes, ${options.objectSize} were announced`,
      );
    const fileEncSha256 = this.encHash.digest();
    if (options.fileEncSha256 && !sameBytes(fileEncSha256, options.fileEncSha256))
      throw new MediaError(
        'ENC_SHA256_MISMATCH',
        'SHA-256 of the encrypted object differs from fileEncSha256',
      );
    if ((this.objectBytes - MEDIA_MAC_LENGTH) % 16 !== 0)
      throw new MediaError('BAD_LENGTH', 'the object is not whole AES blocks plus a 10-byte MAC');
    const mac = this.hmac.digest().subarray(0, MEDIA_MAC_LENGTH);
    if (!timingSafeEqual(mac, this.tail))
      throw new MediaError(
        'MAC_MISMATCH',
        'the media MAC does not verify (corrupt object, wrong key or wrong type)',
      );
    let last: Buffer;
    try {
      last = this.decipher.final();
    } catch (error) {
      throw new MediaError('BAD_PADDING', 'the MAC verified but the PKCS7 padding did not', { cause: error });
    }
    this.plainHash.update(last);
    this.plainBytes += last.length;
    const fileSha256 = this.plainHash.digest();
    if (options.fileSha256 && !sameBytes(fileSha256, options.fileSha256))
      throw new MediaError('SHA256_MISMATCH', 'SHA-256 of the plaintext differs from fileSha256');
    if (options.fileLength !== undefined && this.plainBytes !== options.fileLength)
      throw new MediaError(
        'LENGTH_MISMATCH',
        `the plaintext is ${this.plainBytes} bytes, fileLength says ${options.fileLength}`,
      );
    this.finished = { fileSha256, fileEncSha256 };
    return last;
  }

  private reportProgress(final: boolean): void {
    const { onProgress, objectSize } = this.options;
    if (!onProgress) return;
    if (!final && this.objectBytes < this.nextProgress) return;
    this.nextProgress = this.objectBytes + (this.options.progressEvery ?? 1024 * 1024);
    onProgress(this.objectBytes, objectSize ?? null);
  }
}

/** The size of ct ‖ mac10 for a plaintext of `fileLength` bytes. */
export function objectSizeFor(fileLength: number): number {
  return (Math.floor(fileLength / 16) + 1) * 16 + MEDIA_MAC_LENGTH;
}

function lengthMismatch(fileLength: number, expected: number, actual: string): MediaError {
  return new MediaError(
    'LENGTH_MISMATCH',
    `a plaintext of ${fileLength} bytes (fileLength) is an object of ${expected} bytes; this one ${actual}`,
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
