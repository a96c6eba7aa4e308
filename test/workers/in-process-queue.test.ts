// The in-process media queue (no Redis): the session's default, with the BullMQ queue's job contract.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { filter, take, toArray } from 'rxjs/operators';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.ts';
import { MediaHostPolicy, type MediaJobEvent } from '../../workers/index.ts';
import { InProcessMediaQueue } from '../../workers/queues/index.ts';
import { cdnJob, tempDir } from '../support/media.ts';
import { emulator, fault } from '../support/session-harness.ts';

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

function outcome(queue: InProcessMediaQueue, id: string): Promise<MediaJobEvent> {
  return firstValueFrom(
    queue.events$.pipe(filter((e) => e.id === id && (e.type === 'done' || e.type === 'failed'))),
  );
}

describe('InProcessMediaQueue against the emulator CDN', () => {
  let emu: Emulator;
  let dir: ReturnType<typeof tempDir>;
  let queue: InProcessMediaQueue;
  beforeAll(async () => {
    emu = await emulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    dir?.remove();
    dir = tempDir();
    queue = new InProcessMediaQueue({
      mediaDir: dir.path,
      retry: { baseDelayMs: 10 },
      mediaHosts: MediaHostPolicy.parse([emu.url]),
    });
    return async () => {
      await queue.close();
      dir.remove();
    };
  });

  it('downloads, decrypts and names the output after the job id', async () => {
    const plaintext = bytes(300_000, 1);
    const job = cdnJob(emu, plaintext, 'video');
    const { id } = await queue.enqueue(job);
    expect(id).toMatch(/^media-[0-9a-f]{64}$/);
    const done = await outcome(queue, id);
    expect(done).toEqual({ type: 'done', id, outPath: join(dir.path, `${id}.bin`), bytes: plaintext.length });
    expect(Buffer.compare(readFileSync(join(dir.path, `${id}.bin`)), plaintext)).toBe(0);
  });

  it('does the same media once however often it is enqueued', async () => {
    const job = cdnJob(emu, bytes(5_000, 2));
    const events: MediaJobEvent[] = [];
    const subscription = queue.events$.subscribe((e) => events.push(e));
    const ids = await Promise.all([queue.enqueue(job), queue.enqueue(job), queue.enqueue({ ...job })]);
    await queue.idle();
    await queue.enqueue(job);
    await queue.idle();
    subscription.unsubscribe();
    expect(new Set(ids.map((i) => i.id)).size).toBe(1);
    expect(events.filter((e) => e.type === 'queued')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
    // The key is part of the job: the same object under another key is another job.
    const other = await queue.enqueue({ ...job, mediaKey: new Uint8Array(32) });
    expect(other.id).not.toBe(ids[0]!.id);
    await queue.idle();
  });

  it('retries a CDN 500 and finishes; fails a truncated or corrupted body with a reason and no file', async () => {
    // A truncated object cannot hold fileLength: refused on its Content-Length, before a byte is read.
    const expected = { truncate: /^LENGTH_MISMATCH/, corrupt: /^ENC_SHA256_MISMATCH/ };
    const flaky = cdnJob(emu, bytes(20_000, 3));
    await fault(emu, { kind: 'cdn', status: 500, times: 2 });
    const { id } = await queue.enqueue(flaky);
    expect((await outcome(queue, id)).type).toBe('done');

    for (const body of ['truncate', 'corrupt'] as const) {
      const job = cdnJob(emu, bytes(20_000, body.length));
      await fault(emu, { kind: 'cdn', body });
      const queued = await queue.enqueue(job);
      const failed = await outcome(queue, queued.id);
      expect(failed).toMatchObject({
        type: 'failed',
        retriable: false,
        reason: expect.stringMatching(expected[body]),
      });
    }
    expect(dir.files()).toEqual([`${id}.bin`]);
  });

  it('reports media that expired on the CDN without retrying', async () => {
    const job = cdnJob(emu, bytes(1_000, 4));
    await fault(emu, { kind: 'cdn', status: 410 });
    const events = firstValueFrom(queue.events$.pipe(take(2), toArray()));
    await queue.enqueue(job);
    const [, failed] = await events;
    expect(failed).toMatchObject({
      type: 'failed',
      retriable: false,
      reason: expect.stringMatching(/^MEDIA_EXPIRED/),
    });
    expect(dir.files()).toEqual([]);
  });
});
