// The queue runtimes: BullMQ over Redis (BullMediaQueue, startMediaWorker) and the in-process runner
// (p-queue), both behind the MediaQueue contract of workers/index.ts; openMediaQueue picks one.
export {
  BullMediaQueue,
  type BullQueueOptions,
  type MediaWorker,
  type MediaWorkerOptions,
  redactUrl,
  startMediaWorker,
  type WorkerLogger,
} from './bullmq-queue.ts';
export { InProcessMediaQueue, type InProcessQueueOptions } from './in-process-queue.ts';
export { type OpenedMediaQueue, openMediaQueue } from './open-queue.ts';
export { RedisHealth } from './redis-health.ts';
