// The legacy session machine (docs/protocol.md part 2) and its vocabulary: what it hears, what it asks
// the socket to send, what it tells the application.
export { backoffDelay } from './offline.ts';
export { type SessionMachine, sessionMachine } from './session.ts';
export type { MediaItem, SocketActorInput } from './session-setup.ts';
export {
  type ConnInfo,
  type Credentials,
  DEFAULT_TIMING,
  type FailureReason,
  type FrameDropCode,
  type LoginMode,
  type ServerEvent,
  type SessionContext,
  type SessionEmitted,
  type SessionEvent,
  type SessionInput,
  type SessionTiming,
  type SocketCommand,
  type SocketEvent,
  type UserEvent,
} from './session-types.ts';
