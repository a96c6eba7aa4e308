// The multi-device companion session (docs/protocol-md.md) and its vocabulary: what it hears from the
// socket and the user, what it asks the socket to send, the promise actors it invokes, what it emits.

export { type MdSessionMachine, mdSessionMachine } from './md-session.ts';
export {
  DEFAULT_MD_LIMITS,
  DEFAULT_MD_TIMING,
  type FinishedPairCode,
  type FinishPairCodeInput,
  type MdCredentials,
  type MdEmittedContent,
  type MdEmittedMedia,
  type MdFailureReason,
  type MdFrameDropCode,
  type MdInternalEvent,
  type MdLimits,
  type MdMe,
  type MdMediaItem,
  type MdMessageContent,
  type MdMessageSummary,
  type MdPairCodeFailure,
  type MdPairFailure,
  type MdPairingMethod,
  type MdPhoneProblem,
  type MdSendFailure,
  type MdServerEvent,
  type MdSessionContext,
  type MdSessionEmitted,
  type MdSessionEvent,
  type MdSessionInput,
  type MdSignedPreKey,
  type MdSocketCommand,
  type MdSocketEvent,
  type MdSocketInput,
  type MdSocketMode,
  type MdSocketReport,
  type MdTiming,
  type MdUserEvent,
  type PreparedPairCode,
  type PreparePairCodeInput,
  type StoreDeviceInput,
  type VerifyPairSuccessInput,
  type VerifyPairSuccessResult,
} from './md-types.ts';
export { mdBackoffDelay } from './offline.ts';
export { checkPhone, formatPairCode, type PhoneCheck, rejectionReason } from './pairing-code.ts';
export { usableRefs } from './pairing-qr.ts';
