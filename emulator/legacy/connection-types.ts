// The connection machine's vocabulary (connection-machine.ts): the requests a socket brings, what the
// steps report back, and what one connection remembers.
import type { SessionKeys } from '../../crypto/index.ts';
import type { FaultRule, Step } from './faults.ts';

export interface Ref {
  value: string;
  expiresAt: number;
}

export type LoginMode = 'takeover' | 'reconnect';

/** Admin commands as parsed from the wire (commands.ts); each carries the tag its answer goes to. */
export type AdminRequest =
  | { type: 'INIT'; tag: string; version: number[]; description: string[]; clientId: string }
  | { type: 'REREF'; tag: string }
  | {
      type: 'LOGIN';
      tag: string;
      clientToken: string;
      serverToken: string;
      clientId: string;
      mode: LoginMode;
      /** Set by the socket (login-resends.ts): it arrived after the answer to a login with its tag went out. */
      afterAnswer?: boolean;
    }
  | { type: 'CHALLENGE_ANSWER'; tag: string; answer: string; clientId: string }
  | { type: 'LOGOUT'; tag: string }
  | { type: 'TEST'; tag: string };

export type LoginRequest = Extract<AdminRequest, { type: 'LOGIN' }>;
export type ChallengeAnswerRequest = Extract<AdminRequest, { type: 'CHALLENGE_ANSWER' }>;

/** The phone scanned this socket's ref; `keys` are the fresh session keys offered to the browser. */
export interface ScanRequest {
  type: 'SCANNED';
  phoneNumber: string;
  multiDevice: boolean;
  clientPublicKey: Uint8Array;
  keys: SessionKeys;
}

/** The browser a login names, as the server knows it; null facts mean there is no such browser. */
export interface KnownBrowser {
  phoneNumber: string;
  keys: SessionKeys;
  tosBlocked: boolean;
  /** Which of the browser's token sets the login presented. */
  tokens: 'current' | 'stale' | 'unknown';
}

type Forced<K extends FaultRule['kind']> = Extract<FaultRule, { kind: K; status?: unknown }>['status'];

/** What the steps report back, with what the server found (faults forcing an answer, the world). */
export type StepEvent =
  | { type: 'INIT_CHECKED'; forced: Forced<'initStatus'> | null; ref: Ref }
  | { type: 'REREF_CHECKED'; forced: Forced<'rerefStatus'> | null; ref: Ref; now: number }
  | {
      type: 'LOGIN_CHECKED';
      forced: Forced<'loginStatus'> | null;
      browser: KnownBrowser | null;
      /** Another open socket holds this browser. */
      heldElsewhere: boolean;
      /** A `challenge` fault is armed; it is consumed only when it decides the answer. */
      challengeForced: boolean;
      /** The challenge sent if this login gets one. */
      challenge: Uint8Array;
    }
  | {
      type: 'CHALLENGE_CHECKED';
      forced: Forced<'challengeStatus'> | null;
      browser: Pick<KnownBrowser, 'phoneNumber' | 'keys'> | null;
      heldElsewhere: boolean;
    }
  | { type: 'SCAN_DONE' }
  | { type: 'CONN_DONE' }
  | { type: 'READY_DONE' }
  | { type: 'LOGOUT_DONE' };

export type ConnectionEvent =
  | AdminRequest
  | ScanRequest
  | StepEvent
  | { type: 'BINARY'; tag: string; payload: Uint8Array }
  /** A frame with a tag whose admin command is not a well-formed one (commands.ts). */
  | { type: 'BAD_COMMAND'; tag: string }
  /** A frame that is no frame (frame-reader.ts): it does not parse, or its tag is no tag. */
  | { type: 'MALFORMED'; reason: string }
  /** Another socket took the browser over, or the phone unlinked it. */
  | { type: 'REPLACED' }
  | { type: 'UNLINKED' }
  /** The socket closed (either side); nothing more is said. */
  | { type: 'CLOSE' };

/** The browser this socket speaks for, once paired or logged in. */
export interface HeldSession {
  clientId: string;
  phoneNumber: string;
  keys: SessionKeys;
}

export interface ConnectionContext {
  refTtlMs: number;
  rerefs: number;
  /** An init was answered with a ref: a refused login returns to the QR, else to awaiting init. */
  initialized: boolean;
  /** From init; replaced by the clientId of a login that passed the checks. */
  clientId: string | null;
  description: string[];
  ref: Ref | null;
  /** The admin request being worked on; its tag gets the answer. */
  request: AdminRequest | null;
  scan: ScanRequest | null;
  session: HeldSession | null;
  /** `clientToken serverToken` of the login that passed: the same frame again is a re-send. */
  loginTokens: string | null;
  challenge: { bytes: Uint8Array; mode: LoginMode } | null;
  /** The tag of the login the last challenge was for: answered 200 too once the challenge passed. */
  challengedLoginTag: string | null;
}

export interface ConnectionInput {
  refTtlMs: number;
}

/** What the steps are started with: the step's name (where delay and close faults apply). */
export interface StepInput {
  step: Step;
}
