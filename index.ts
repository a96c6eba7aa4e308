// walink's front door: what an application needs to run sessions. Everything here is re-exported from
// the folders' own front doors (actors/, workers/, emulator/, machines/, codec/); README "The library".
export {
  type CreateMdSessionOptions,
  type CreateSessionOptions,
  type CredentialCodec,
  CredentialError,
  type CredentialStore,
  createSession,
  FileCredentialStore,
  generateMdCredentials,
  type ManagedEvent,
  MD_CREDENTIAL_CODEC,
  type MdAppEvent,
  type MdCredentialRecord,
  MdDeviceStore,
  MemoryCredentialStore,
  newClientId,
  type ProtocolStats,
  RedisCredentialStore,
  type Session,
  type SessionAppEvent,
  SessionManager,
  type SessionManagerOptions,
  type SessionPairCode,
  type SessionQr,
  type SessionState,
} from './actors/index.ts';
export type {
  Chat,
  Contact,
  MediaReference,
  MessageMediaType,
  MessageSummary,
  Receipt,
} from './codec/index.ts';
export { type Emulator, type EmulatorOptions, startEmulator } from './emulator/index.ts';
export {
  type Credentials,
  DEFAULT_LIMITS,
  DEFAULT_TIMING,
  type FailureReason,
  type FrameDropCode,
  type LoginMode,
  SESSION_TAGS,
  type SessionEmitted,
  type SessionLimits,
  type SessionTag,
  type SessionTiming,
  type TokenPair,
} from './machines/index.ts';
export {
  DEFAULT_MEDIA_HOSTS,
  isMediaError,
  MediaError,
  type MediaErrorCode,
  MediaHostPolicy,
  type MediaJobEvent,
  type MediaJobInput,
  type MediaQueue,
} from './workers/index.ts';
export { BullMediaQueue, InProcessMediaQueue, openMediaQueue } from './workers/queues/index.ts';
