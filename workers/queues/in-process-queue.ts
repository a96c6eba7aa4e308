// The media queue for one machine without Redis: p-queue runs jobs with bounded concurrency, the same
// job contract and the same processor as the BullMQ workers, ids that make repeats no-ops.
import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import { Subject } from 'rxjs';
import { MediaError } from '../errors.ts';
import { type MediaJobEvent, type MediaJobInput, type MediaQueue, mediaJobId } from '../media-job.ts';
import { type ProcessOptions, processMediaJob, type RetryPolicy, withRetries } from '../process-media.ts';

export interface InProcessQueueOptions extends Omit<ProcessOptions, 'onProgress' | 'signal'> {
  concurrency?: number;
  retry?: Omit<RetryPolicy, 'onRetry' | 'signal'>;
  /** The key job ids are derived under (default: random per queue; ids only live in this process). */
  idKey?: Uint8Array;
}

export class InProcessMediaQueue implements MediaQueue {
  private readonly queue: PQueue;
  private readonly subject = new Subject<MediaJobEvent>();
  readonly events$ = this.subject.asObservable();
  /** Ids seen in this process: queued, running or done. A failed id may be enqueued again. */
  private readonly known = new Map<string, 'active' | 'done'>();
  private readonly abort = new AbortController();
  private readonly idKey: Uint8Array;

  constructor(private readonly options: InProcessQueueOptions) {
    this.idKey = options.idKey ?? randomBytes(32);
    this.queue = new PQueue({ concurrency: options.concurrency ?? 2 });
  }

  async enqueue(job: MediaJobInput): Promise<{ id: string }> {
    if (this.abort.signal.aborted) throw new MediaError('ABORTED', 'the media queue is closed');
    const id = mediaJobId(job, this.idKey);
    if (this.known.has(id)) return { id };
    this.known.set(id, 'active');
    this.subject.next({ type: 'queued', id });
    void this.queue.add(() => this.run(id, job));
    return { id };
  }

  /** Resolves when every queued job has finished. */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  async close(): Promise<void> {
    this.queue.clear();
    this.abort.abort();
    await this.queue.onIdle();
    this.subject.complete();
  }

  private async run(id: string, job: MediaJobInput): Promise<void> {
    const signal = this.abort.signal;
    try {
      const result = await withRetries(
        () =>
          processMediaJob(id, job, {
            ...this.options,
            signal,
            onProgress: (bytesDone, bytesTotal) =>
              this.subject.next({ type: 'progress', id, bytesDone, bytesTotal }),
          }),
        { ...this.options.retry, signal },
      );
      this.known.set(id, 'done');
      this.subject.next({ type: 'done', id, outPath: result.outPath, bytes: result.bytes });
    } catch (error) {
      this.known.delete(id);
      const reason = error instanceof MediaError ? `${error.code}: ${error.message}` : String(error);
      const retriable = error instanceof MediaError && error.retryable;
      this.subject.next({ type: 'failed', id, reason, retriable });
    }
  }
}
