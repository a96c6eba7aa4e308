import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../crypto/index.ts';
import { decryptMediaToBuffer, decryptMediaToFile, MediaError } from '../../workers/index.ts';
import { MEDIA_SAMPLES, readFixture } from '../support/fixtures.ts';
import { chunked, tempDir } from '../support/media.ts';

const sample = (name: string) => ({
  object: readFixture(`media/${name}.encrypted`),
  mediaKey: readFixture(`media/${name}.key`),
  original: readFixture(`media/${name}.original`),
});

async function failure(promise: Promise<unknown>): Promise<MediaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaError);
  return error as MediaError;
}

describe('streaming media decryption', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it.each(MEDIA_SAMPLES)(
    '$name decrypts to exactly its original with every check on',
    async ({ name, type }) => {
      const { object, mediaKey, original } = sample(name);
      const out = join(dir.path, `${name}.out`);
      const result = await decryptMediaToFile(chunked(object, [1, 17, 4096, 65536, object.length - 5]), out, {
        type,
        mediaKey,
        fileEncSha256: sha256(object),
        fileSha256: sha256(original),
        fileLength: original.length,
        objectSize: object.length,
      });
      expect(Buffer.compare(readFileSync(out), original)).toBe(0);
      expect(result.bytes).toBe(original.length);
      expect(result.objectBytes).toBe(object.length);
      expect(Buffer.from(result.fileSha256).equals(Buffer.from(sha256(original)))).toBe(true);
      expect(dir.files()).toEqual([`${name}.out`]);
    },
  );

  it('gives the same plaintext however the network splits the object (property)', async () => {
    const { object, mediaKey, original } = sample('AUDIO');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: object.length }), { maxLength: 12 }),
        async (cuts) => {
          const { plaintext } = await decryptMediaToBuffer(chunked(object, cuts), {
            type: 'audio',
            mediaKey,
            fileSha256: sha256(original),
          });
          expect(Buffer.compare(plaintext, original)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects one flipped bit anywhere in the object and leaves no file (property)', async () => {
    const { object, mediaKey } = sample('IMAGE');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: object.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        async (at, bit) => {
          const bad = Uint8Array.from(object);
          bad[at]! ^= 1 << bit;
          const error = await failure(
            decryptMediaToFile(chunked(bad, [at]), join(dir.path, 'out'), { type: 'image', mediaKey }),
          );
          expect(error.code).toBe('MAC_MISMATCH');
          expect(error.retryable).toBe(false);
          expect(dir.files()).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('checks fileEncSha256 before anything else', async () => {
    const { object, mediaKey } = sample('IMAGE');
    const bad = Uint8Array.from(object);
    bad[5]! ^= 0xff;
    const error = await failure(
      decryptMediaToFile(chunked(bad, []), join(dir.path, 'out'), {
        type: 'image',
        mediaKey,
        fileEncSha256: sha256(object),
      }),
    );
    expect(error.code).toBe('ENC_SHA256_MISMATCH');
    expect(dir.files()).toEqual([]);
  });

  it.each([
    ['the wrong media type', { type: 'video' as const }, 'MAC_MISMATCH'],
    ['a wrong fileSha256', { fileSha256: new Uint8Array(32) }, 'SHA256_MISMATCH'],
    ['a wrong fileLength', { fileLength: 1 }, 'LENGTH_MISMATCH'],
    ['an announced size it does not have', { objectSize: 1 }, 'SIZE_MISMATCH'],
    ['a size limit below the object', { maxBytes: 1000 }, 'TOO_LARGE'],
  ])('fails with %s and leaves nothing', async (_, override, code) => {
    const { object, mediaKey } = sample('IMAGE');
    const error = await failure(
      decryptMediaToFile(chunked(object, [100]), join(dir.path, 'out'), {
        type: 'image',
        mediaKey,
        ...override,
      }),
    );
    expect(error.code).toBe(code);
    expect(dir.files()).toEqual([]);
  });

  it('calls an object of 10 bytes or less expired, and a torn one a bad length', async () => {
    const { object, mediaKey } = sample('IMAGE');
    const out = join(dir.path, 'out');
    expect(
      (
        await failure(
          decryptMediaToFile(chunked(object.subarray(0, 10), []), out, { type: 'image', mediaKey }),
        )
      ).code,
    ).toBe('MEDIA_EXPIRED');
    expect(
      (
        await failure(
          decryptMediaToFile(chunked(object.subarray(0, object.length - 7), []), out, {
            type: 'image',
            mediaKey,
          }),
        )
      ).code,
    ).toBe('BAD_LENGTH');
    expect(dir.files()).toEqual([]);
  });

  it('leaves no temporary file when it fails before the file was even opened', async () => {
    // The part file opens asynchronously; a stream that fails at once must still not leave it behind.
    const { object, mediaKey } = sample('IMAGE');
    const runs = Array.from({ length: 200 }, (_, i) =>
      failure(
        decryptMediaToFile(chunked(object.subarray(0, 5), []), join(dir.path, `out-${i}`), {
          type: 'image',
          mediaKey,
        }),
      ),
    );
    for (const error of await Promise.all(runs)) expect(error.code).toBe('MEDIA_EXPIRED');
    expect(dir.files()).toEqual([]);
  });

  it('refuses a key that is not 32 bytes and an unknown type before reading', async () => {
    const { object } = sample('IMAGE');
    const out = join(dir.path, 'out');
    expect(
      (
        await failure(
          decryptMediaToFile(chunked(object, []), out, { type: 'image', mediaKey: new Uint8Array(31) }),
        )
      ).code,
    ).toBe('BAD_KEY');
    expect(
      (
        await failure(
          decryptMediaToFile(chunked(object, []), out, {
            type: 'gifv' as never,
            mediaKey: new Uint8Array(32),
          }),
        )
      ).code,
    ).toBe('BAD_TYPE');
    expect(dir.files()).toEqual([]);
  });

  it('removes the partial output when the source fails half-way', async () => {
    const { object, mediaKey } = sample('VIDEO');
    async function* dies(): AsyncGenerator<Uint8Array> {
      yield object.subarray(0, 200_000);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    const error = await failure(
      decryptMediaToFile(dies(), join(dir.path, 'out'), { type: 'video', mediaKey }),
    );
    expect(error.code).toBe('NETWORK');
    expect(error.retryable).toBe(true);
    expect(dir.files()).toEqual([]);
  });

  it('reports progress in encrypted bytes up to the whole object', async () => {
    const { object, mediaKey } = sample('VIDEO');
    const seen: Array<[number, number | null]> = [];
    await decryptMediaToBuffer(chunked(object, [65536, 131072, 196608, 262144, 327680]), {
      type: 'video',
      mediaKey,
      objectSize: object.length,
      progressEvery: 100_000,
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toEqual([object.length, object.length]);
    expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((a, b) => a - b));
  });
});
