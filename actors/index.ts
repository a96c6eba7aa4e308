// The effects machines invoke, and the library API built on them: createSession and the Session it
// returns (protocol-neutral), the session manager, the credential stores.
export {
  type CredentialCodec,
  CredentialError,
  type CredentialErrorCode,
  type CredentialStore,
  FileCredentialStore,
  LEGACY_CREDENTIAL_CODEC,
  MemoryCredentialStore,
  serializeCredentials,
} from './credential-store.ts';
export {
  CLIENT_VERSION,
  ClientProtocol,
  createSocketActor,
  FrameDropped,
  newClientId,
  Receiver,
  type RequestKind,
  Sender,
  type SocketOptions,
  TagLedger,
} from './legacy/index.ts';
export type { CreateMdSessionOptions } from './md/index.ts';
export * as md from './md/index.ts';
// The MD names an application needs to keep an MD session (the rest stays under `md`).
export {
  decryptMdMessage,
  generateMdCredentials,
  MD_CREDENTIAL_CODEC,
  type MdCredentialRecord,
  type MdDecryptedContent,
  MdDeviceStore,
} from './md/index.ts';
export {
  CREDENTIALS_KEY_ENV,
  credentialsKeyFromEnv,
  RedisCredentialStore,
  type RedisCredentialStoreOptions,
} from './redis-credential-store.ts';
export { createSession } from './session.ts';
export {
  type ManagedEvent,
  type ManagedSessionOptions,
  SessionManager,
  type SessionManagerOptions,
} from './session-manager.ts';
export type {
  CreateSessionOptions,
  MdAppEvent,
  ProtocolStats,
  Session,
  SessionAppEvent,
  SessionPairCode,
  SessionQr,
  SessionState,
} from './session-types.ts';
