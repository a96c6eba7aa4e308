// A session as an application sees it, whichever protocol runs underneath: its public state, the events
// it tells, and the few things it can be asked. actors/legacy/ implements it over the legacy machine.
import type { Observable } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import type {
  FailureReason,
  LoginMode,
  MdFailureReason,
  MdSessionEmitted,
  SessionEmitted,
  SessionLimits,
  SessionTag,
  SessionTiming,
} from '../machines/index.ts';
import type { MediaQueue } from '../workers/index.ts';
import type { CredentialStore } from './credential-store.ts';

export interface CreateSessionOptions {
  /** The server's WebSocket address, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Where credentials persist; default: memory only. */
  store?: CredentialStore;
  /** Where incoming media goes; default: nowhere (the `media` events still arrive). */
  queue?: MediaQueue;
  /** A name for logs and the session manager. */
  name?: string;
  origin?: string;
  /** What the phone lists for this browser: [os or app, browser, version]. */
  description?: string[];
  loginMode?: LoginMode;
  /** Every timer and deadline (DEFAULT_TIMING); a value that is not a number ≥ 0 keeps its default. */
  timing?: Partial<SessionTiming>;
  /** What the session keeps itself whatever a server sends or allows (DEFAULT_LIMITS): QR budget, field sizes. */
  limits?: Partial<SessionLimits>;
  /** XState's inspection hook (the inspector page uses it). */
  inspect?: (event: InspectionEvent) => void;
  /** An XState clock (SimulatedClock in tests). */
  clock?: {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => unknown;
    clearTimeout: (id: unknown) => void;
  };
  random?: () => number;
}

/** The QR code a phone should scan, while the session shows one. */
export interface SessionQr {
  /** What the code encodes (docs/protocol.md §2.2). */
  text: string;
  /** The server's ref inside the text: it names this code (a new ref is a new code). */
  ref: string;
  /** 0 for the first code on a socket, then 1, 2, … as the ref rotates. */
  index: number;
  /** How long the code lives, in ms, and when it expires (ms since the epoch, this process's clock). */
  ttl: number;
  expiresAt: number;
}

/** What a session is doing, in terms that do not depend on how its machine is drawn. */
export interface SessionState {
  /**
   * Where the session is: the path of states down to the first parallel one (`online.qr.showing`,
   * `online.ready`, `conflict`, …; machines/state-name.ts), or `starting` before start().
   */
  name: string;
  /** The machine's full state value, parallel regions included (null before start()). */
  value: unknown;
  /**
   * The tags of the states it is in, in SESSION_TAGS order: online, needsScan, needsCode, ready, offline,
   * resting.
   */
  tags: SessionTag[];
  /** In a state it does not leave on its own (`refsExhausted`, `conflict`, `loggedOut`, `failed`, …). */
  resting: boolean;
  /** Why it came to rest (or is about to); null while nothing ended it. Multi-device has its own reasons. */
  reason: FailureReason | MdFailureReason | null;
  /** The account's JID once the session has credentials (`4915…@c.us`), else null. */
  me: string | null;
  /** The code to scan while the state is tagged needsScan, else null. */
  qr: SessionQr | null;
  /** Frames the session dropped so far (unreadable inbound, or not buildable outbound). */
  droppedFrames: number;
}

/** The pair code a user types on the phone (multi-device), while one is up. */
export interface SessionPairCode {
  /** `XXXX-XXXX` (docs/protocol-md.md §7.1). */
  code: string;
  /** How long it is valid (ms), and until when (ms since the epoch, this process's clock). */
  ttl: number;
  expiresAt: number;
}

/**
 * What a multi-device session tells beyond the protocol-neutral events: its machine's emitted events with
 * `md.` in front of their type (`md.paired`, `md.message`, `md.pairCode.failed`…), so they never mix with
 * the legacy events of the same name and shape of their own.
 */
export type MdAppEvent = MdSessionEmitted extends infer E
  ? E extends { type: infer T extends string }
    ? T extends 'qr' | 'qr.exhausted' | 'reconnecting' | 'conflict' | 'pairCode'
      ? never
      : Omit<E, 'type'> & { type: `md.${T}` }
    : never
  : never;

/** Everything the session tells an application, in order. */
export type SessionAppEvent =
  | Exclude<SessionEmitted, { type: 'qr' }>
  | MdAppEvent
  | ({ type: 'pairCode' } & SessionPairCode)
  | ({ type: 'qr' } & SessionQr)
  | { type: 'state'; state: string; previous: string | null }
  | { type: 'media.queued'; id: string; messageId: string }
  /**
   * Something failed beside the protocol: a credential write, a media job, the inspection hook, or the
   * session's own code (`session`: the session then rests in `failed`, reason `internalError`).
   */
  | { type: 'error'; where: 'store' | 'queue' | 'inspect' | 'session'; message: string };

/** Frames on the session's sockets, counted once, across reconnects. */
export interface ProtocolStats {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
}

export interface Session {
  readonly name: string;
  /** The public state now (always current, also between two emissions of state$). */
  readonly state: SessionState;
  /**
   * The public state each time its name changes. A subscriber first gets the current one, so it does
   * not matter whether it subscribes before or after start(). Regions inside a state (the keep-alive,
   * the phone check) change without a new name: read `state` for them.
   */
  readonly state$: Observable<SessionState>;
  /**
   * Everything the session tells, in order, from the moment of subscribing. A subscriber that comes
   * while a QR code is up first gets that code's `qr` event (a code is something to act on, and is
   * still valid); nothing else is replayed: `state$` holds the state, and messages are told once.
   */
  readonly events$: Observable<SessionAppEvent>;
  readonly stats: ProtocolStats;
  /** Sends a text message (only while tagged ready); returns its message id. */
  send(jid: string, text: string): string;
  logout(): void;
  restart(): void;
  takeOver(): void;
  /**
   * Multi-device: link by phone number instead of a QR code (docs/protocol-md.md §7). The code appears as
   * a `pairCode` event once the server accepted the request. A legacy session throws a TypeError.
   */
  requestPairingCode(phone: string): void;
  /**
   * Resolves with the state once `predicate` holds for it (checked now and at each new state name),
   * or rejects after `timeoutMs`.
   */
  waitFor(predicate: (state: SessionState) => boolean, timeoutMs?: number): Promise<SessionState>;
  /** Starts the machine (it connects). Subscribing before or after makes no difference. */
  start(): Session;
  /** Stops the machine (closing its socket) and waits for pending credential writes. */
  stop(): Promise<void>;
}
