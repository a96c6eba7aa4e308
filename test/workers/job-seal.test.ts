// Sealed media jobs (what BullMQ stores): opened under the right key and id only; jobs sealed before the
// sealed format carried a version (still waiting in a queue across an upgrade) open too.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomBytes, toBase64, toHex } from '../../crypto/index.ts';
import { type MediaJobInput, openJob, sealJob } from '../../workers/index.ts';

const job: MediaJobInput = {
  type: 'image',
  mediaKey: randomBytes(32),
  directPath: '/d/f/abc.enc',
  fileSha256: randomBytes(32),
  fileLength: 1234,
  messageId: '3EB0AA',
};

/** Jobs compared with their bytes as hex (openJob hands back Buffers). */
const hexed = (j: MediaJobInput) => ({ ...j, mediaKey: toHex(j.mediaKey), fileSha256: toHex(j.fileSha256!) });

describe('sealJob / openJob', () => {
  it('round-trips a job; Redis sees no key, path or hash', () => {
    const key = randomBytes(32);
    const data = sealJob(key, 'job-1', job);
    expect(data).toMatchObject({ v: 1, type: 'image', fileLength: 1234, messageId: '3EB0AA' });
    const text = JSON.stringify(data);
    for (const secret of [toBase64(job.mediaKey), job.directPath!, toBase64(job.fileSha256!)])
      expect(text).not.toContain(secret);
    expect(hexed(openJob(key, 'job-1', data).input)).toEqual(hexed(job));
  });

  it('refuses another key, another id and an altered payload with MediaError BAD_KEY', () => {
    const key = randomBytes(32);
    const data = sealJob(key, 'job-1', job);
    const bad = { name: 'MediaError', code: 'BAD_KEY' };
    expect(() => openJob(randomBytes(32), 'job-1', data)).toThrow(expect.objectContaining(bad));
    expect(() => openJob(key, 'job-2', data)).toThrow(expect.objectContaining(bad));
    const raw = Buffer.from(data.sealed, 'base64');
    raw[20]! ^= 1;
    expect(() => openJob(key, 'job-1', { ...data, sealed: raw.toString('base64') })).toThrow(
      expect.objectContaining(bad),
    );
    expect(() => openJob(key, 'job-1', { ...data, sealed: 'AAAA' })).toThrow(/too short/);
  });

  it('opens a job sealed the way walink did before (iv ‖ ciphertext ‖ tag)', () => {
    const key = randomBytes(32);
    const plain = {
      type: 'image',
      mediaKey: toBase64(job.mediaKey),
      directPath: job.directPath,
      fileSha256: toBase64(job.fileSha256!),
      fileLength: 1234,
      messageId: '3EB0AA',
    };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from('job-7'));
    const body = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
    expect(hexed(openJob(key, 'job-7', { v: 1, sealed, type: 'image' }).input)).toEqual(hexed(job));
  });
});
