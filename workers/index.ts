// Media download + decrypt: the streaming decryptor, the job contract, the in-process runner and BullMQ.
export {
  BullMediaQueue,
  type BullQueueOptions,
  MEDIA_QUEUE_NAME,
  type MediaWorker,
  type MediaWorkerOptions,
  redactUrl,
  startMediaWorker,
} from './bullmq-queue.ts';
export {
  type DecryptOptions,
  type DecryptResult,
  decryptMediaToBuffer,
  decryptMediaToFile,
} from './decrypt-stream.ts';
export { DEFAULT_MEDIA_HOST, mediaUrl, openFileSource, openHttpSource, openMediaSource } from './download.ts';
export { isMediaError, MediaError, type MediaErrorCode } from './errors.ts';
export { InProcessMediaQueue, type InProcessQueueOptions } from './in-process-queue.ts';
export { JOB_KEY_ENV, jobKeyFromEnv, openJob, sealJob } from './job-seal.ts';
export { type MediaJobEvent, type MediaJobInput, type MediaQueue, mediaJobId } from './media-job.ts';
export { type OpenedMediaQueue, openMediaQueue } from './open-queue.ts';
export { processMediaJob, withRetries } from './process-media.ts';
