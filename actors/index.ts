// The effects machines invoke, and the library API built on them.
export { CLIENT_VERSION, ClientProtocol, type ProtocolStats } from './client-protocol.ts';
export {
  CredentialError,
  type CredentialStore,
  FileCredentialStore,
  MemoryCredentialStore,
} from './credential-store.ts';
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
export { createSocketActor } from './socket.ts';
