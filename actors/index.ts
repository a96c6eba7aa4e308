// The effects machines invoke, and the library API built on them.

export {
  CredentialError,
  type CredentialStore,
  FileCredentialStore,
  MemoryCredentialStore,
} from './credential-store.ts';
export { CLIENT_VERSION, ClientProtocol, type ProtocolStats } from './legacy/client-protocol.ts';
export { createSocketActor } from './legacy/socket.ts';
export {
  CREDENTIALS_KEY_ENV,
  credentialsKeyFromEnv,
  RedisCredentialStore,
} from './redis-credential-store.ts';
export {
  type CreateSessionOptions,
  createSession,
  newClientId,
  type Session,
  type SessionAppEvent,
  type SessionState,
} from './session.ts';
export { type ManagedEvent, SessionManager, type SessionManagerOptions } from './session-manager.ts';
