// Media download + decrypt without a queue runtime: the streaming decryptor, downloads with their host
// policy and deadlines, the job contract and its sealing. Light to load (`walink media decrypt` uses it):
// BullMQ, ioredis and p-queue live behind workers/queues/index.ts.
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
export {
  MEDIA_QUEUE_NAME,
  type MediaJobEvent,
  type MediaJobInput,
  type MediaQueue,
  mediaJobId,
} from './media-job.ts';
export { decryptSource, type ProcessOptions, processMediaJob, withRetries } from './process-media.ts';
