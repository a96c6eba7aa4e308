// Media download + decrypt: the streaming decryptor, the job contract, the in-process runner and BullMQ.
export {
  BullMediaQueue,
  type BullQueueOptions,
  MEDIA_QUEUE_NAME,
  type MediaWorker,
  type MediaWorkerOptions,
  redactUrl,
  startMediaWorker,
  type WorkerLogger,
} from './bullmq-queue.ts';
export {
  type DecryptOptions,
  type DecryptResult,
  decryptMediaToBuffer,
  decryptMediaToFile,
  objectSizeFor,
} from './decrypt-stream.ts';
export {
  DOWNLOAD_DEFAULTS,
  type DownloadLimits,
  type MediaSource,
  mediaUrl,
  openFileSource,
  openHttpSource,
  openMediaSource,
  openStreamSource,
} from './download.ts';
export { isMediaError, MediaError, type MediaErrorCode } from './errors.ts';
export { InProcessMediaQueue, type InProcessQueueOptions } from './in-process-queue.ts';
export { JOB_KEY_ENV, jobIdKey, jobKeyFromEnv, type OpenedJob, openJob, sealJob } from './job-seal.ts';
export {
  DEFAULT_MEDIA_HOST,
  DEFAULT_MEDIA_HOSTS,
  directPathUrl,
  MEDIA_HOSTS_ENV,
  MediaHostPolicy,
  parseMediaUrl,
  serverOrigin,
} from './media-hosts.ts';
export { type MediaJobEvent, type MediaJobInput, type MediaQueue, mediaJobId } from './media-job.ts';
export { type OpenedMediaQueue, openMediaQueue } from './open-queue.ts';
export { decryptSource, type ProcessOptions, processMediaJob, withRetries } from './process-media.ts';
export { RedisHealth } from './redis-health.ts';
