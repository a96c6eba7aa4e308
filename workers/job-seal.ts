// Media jobs cross Redis sealed: the mediaKey (and everything else that locates the media) is sealed
// (crypto/seal.ts, AES-256-GCM) under a key from the environment, bound to the job id so a sealed payload
// cannot be replayed under another id. Redis only ever sees what a dashboard needs.
import { createHmac } from 'node:crypto';
import { isCryptoError, isMediaType, seal, unseal, utf8 } from '../crypto/index.ts';
import { MediaError } from './errors.ts';
import type { MediaJobInput } from './media-job.ts';

export const JOB_KEY_ENV = 'WALINK_JOB_KEY';

/** What a BullMQ job's data holds: a sealed payload and non-secret labels. */
export interface SealedJobData {
  v: 1;
  sealed: string;
  type: string;
  fileLength?: number;
  messageId?: string;
}

interface PlainPayload extends Omit<MediaJobInput, 'mediaKey' | 'fileSha256' | 'fileEncSha256'> {
  mediaKey: string;
  fileSha256?: string;
  fileEncSha256?: string;
  /** Origins the enqueuer vouches for (its server's own CDN), beside the worker's allow-list. */
  origins?: string[];
}

/** A job as the worker opens it. */
export interface OpenedJob {
  input: MediaJobInput;
  /** Origins the enqueuer vouched for: only ever its configured server, never a message's url. */
  origins: string[];
}

/** The key job ids are derived under: a subkey of the job key, so every enqueuer names a job alike. */
export function jobIdKey(jobKey: Uint8Array): Buffer {
  return createHmac('sha256', jobKey).update('walink media job ids').digest();
}

/** The 32-byte job key from WALINK_JOB_KEY (base64), with a message that says how to make one. */
export function jobKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const text = env[JOB_KEY_ENV];
  if (!text)
    throw new MediaError(
      'BAD_KEY',
      `${JOB_KEY_ENV} is not set; every enqueuer and worker needs the same one: export ${JOB_KEY_ENV}=$(openssl rand -base64 32)`,
    );
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32)
    throw new MediaError('BAD_KEY', `${JOB_KEY_ENV} must be 32 bytes in base64, got ${key.length}`);
  return key;
}

const b64 = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('base64') : undefined);

export function sealJob(
  jobKey: Uint8Array,
  id: string,
  job: MediaJobInput,
  origins: readonly string[] = [],
): SealedJobData {
  const { fileSha256: _plainHash, fileEncSha256: _encHash, ...rest } = job;
  const payload: PlainPayload = {
    ...rest,
    mediaKey: b64(job.mediaKey)!,
    ...(job.fileSha256 ? { fileSha256: b64(job.fileSha256) } : {}),
    ...(job.fileEncSha256 ? { fileEncSha256: b64(job.fileEncSha256) } : {}),
    ...(origins.length > 0 ? { origins: [...origins] } : {}),
  };
  const sealed = seal(jobKey, utf8(JSON.stringify(payload)), utf8(id));
  return {
    v: 1,
    sealed: Buffer.from(sealed).toString('base64'),
    type: job.type,
    ...(job.fileLength !== undefined ? { fileLength: job.fileLength } : {}),
    ...(job.messageId ? { messageId: job.messageId } : {}),
  };
}

export function openJob(jobKey: Uint8Array, id: string, data: SealedJobData): OpenedJob {
  if (data?.v !== 1 || typeof data.sealed !== 'string')
    throw new MediaError('BAD_KEY', 'the job data is not a sealed walink media job');
  let text: string;
  try {
    text = new TextDecoder().decode(unseal(jobKey, Buffer.from(data.sealed, 'base64'), utf8(id)));
  } catch (error) {
    if (isCryptoError(error) && error.code === 'BAD_LENGTH')
      throw new MediaError('BAD_KEY', 'the sealed job is too short');
    throw new MediaError(
      'BAD_KEY',
      `the job cannot be opened: a different ${JOB_KEY_ENV} sealed it, or it was altered`,
    );
  }
  const { fileSha256, fileEncSha256, origins, ...payload } = JSON.parse(text) as PlainPayload;
  if (!isMediaType(payload.type))
    throw new MediaError('BAD_TYPE', `unknown media type ${String(payload.type)}`);
  return {
    input: {
      ...payload,
      mediaKey: Buffer.from(payload.mediaKey, 'base64'),
      ...(fileSha256 ? { fileSha256: Buffer.from(fileSha256, 'base64') } : {}),
      ...(fileEncSha256 ? { fileEncSha256: Buffer.from(fileEncSha256, 'base64') } : {}),
    },
    origins: Array.isArray(origins) ? origins.filter((o): o is string => typeof o === 'string') : [],
  };
}
