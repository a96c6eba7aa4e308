// The legacy session machine (docs/protocol.md part 2) and its vocabulary: what it hears, what it asks
// the socket to send, what it tells the application.
export { backoffDelay } from './offline.ts';
export { type SessionMachine, sessionMachine, withDefaults } from './session.ts';
export type { MediaItem, SocketActorInput } from './session-setup.ts';
export {
  type ConnInfo,
  type Credentials,
  DEFAULT_LIMITS,
  DEFAULT_TIMING,
  type FailureReason,
  type FrameDropCode,
  type KeyPair,
  type LoginMode,
  MAX_TIMER_MS,
  type ServerEvent,
  type SessionContext,
  type SessionEmitted,
  type SessionEvent,
  type SessionInput,
  type SessionLimits,
  type SessionTiming,
  type SocketCommand,
  type SocketEvent,
  type TokenPair,
  type UserEvent,
} from './session-types.ts';
