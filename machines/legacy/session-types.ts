// The session machine's vocabulary: what it remembers, what it hears from the socket and the user,
// what it asks the socket to send, and what it tells the application.
import type {
  BinaryNode,
  Chat,
  Contact,
  MediaReference,
  MessageSummary,
  Receipt,
  WebMessageInfo,
} from '../../codec/index.ts';
import type { SessionKeys } from '../../crypto/index.ts';

/** The three tokens a Conn hands over and a login sends (docs/protocol.md §2.3, §2.5). */
export interface TokenPair {
  clientToken: string;
  serverToken: string;
  browserToken: string;
}

/** docs/protocol.md §2.4's stored set. Keys are raw bytes here; stores serialise them. */
export interface Credentials extends TokenPair {
  clientId: string;
  encKey: Uint8Array;
  macKey: Uint8Array;
  wid: string;
  /**
   * The tokens the last rotation replaced (docs/protocol.md §2.5), kept until a login with the current
   * ones succeeds: when the current ones are answered 401 the session tries these before it gives up.
   */
  previous?: TokenPair;
}

/** Why a session stopped: the end states carry one of these. */
export type FailureReason =
  | 'tosBlocked' // 403 with tos ≥ 2
  | 'denied' // 403
  | 'removed' // 401: the phone removed this browser
  | 'tooOld' // 419: session too old
  | 'badRequest' // 400 to login
  | 'alreadyLoggedIn' // 405 twice
  | 'challengeFailed' // the server refused our challenge answer
  | 'needsMultiDevice' // upgrade_md_prod: the phone only pairs multi-device companions
  | 'outdatedClient' // init answered with Cmd update
  | 'initRefused' // init answered with an error status
  | 'badSecret' // the pairing secret failed its HMAC or length check
  | 'unlinked' // Cmd disconnect without kind
  | 'replaced' // Cmd disconnect kind replaced
  | 'loggedOut' // the user logged out
  | 'refsExhausted' // the QR budget ran out
  | 'badServerAnswer' // init answered with fields walink refuses (a ref with a comma, …)
  | 'unsupportedBinVersion' // a Conn announced a binary dictionary walink does not decode
  | 'internalError'; // the session's own code failed (actors/ ends the session, the process lives on)

export type LoginMode = 'takeover' | 'reconnect';

/** The Conn object the server pushes (docs/protocol.md §2.3), the parts the client uses. */
export interface ConnInfo {
  wid: string;
  clientToken: string;
  serverToken: string;
  browserToken: string;
  secret?: string;
  pushname?: string;
  platform?: string;
  binVersion?: number;
  ref?: string;
}

/**
 * Why the socket actor dropped a frame instead of reporting what it meant (like ws's `WS_ERR_*` codes).
 * Inbound: the frame could not be read; outbound: a command could not be turned into a frame.
 */
export type FrameDropCode =
  | 'FRAME_MALFORMED' // not a frame at all (docs/protocol.md §1)
  | 'FRAME_NO_KEYS' // a binary frame before the session has keys
  | 'FRAME_BAD_MAC' // a binary frame whose HMAC does not verify (docs/protocol.md §1)
  | 'FRAME_UNDECRYPTABLE' // the HMAC verified, the ciphertext did not decrypt (length, padding)
  | 'FRAME_UNDECODABLE' // decrypted, but not a binary node (docs/protocol.md §3)
  | 'FRAME_BAD_CONN' // a Conn push without wid and tokens (docs/protocol.md §2.3)
  | 'FRAME_BAD_CHALLENGE' // a challenge that is not base64 (docs/protocol.md §2.5)
  | 'FRAME_BAD_ANSWER' // an answer whose fields walink refuses (a reref's ref with a comma, …)
  | 'FRAME_BAD_PUSH' // a push whose fields walink refuses (an id or kind that is not a short string)
  | 'FRAME_UNBUILDABLE'; // outbound: a command the sender could not encode

/**
 * What the socket actor reports (actors/legacy/ turns frames into these), in five families:
 * - `socket.*`: the WebSocket itself opened or closed.
 * - `<request>.*`: the answer to one of our requests before or around login (`init`, `reref`, `login`,
 *   `challenge`, `logout`; docs/protocol.md §2.1-2.5, §2.7).
 * - `cmd.*`: the server's commands (`["Cmd", …]`): a challenge, an unlink or takeover, a multi-device upgrade.
 * - `conn.unsupported`: a Conn this client cannot follow (its binary dictionary is not one walink has);
 *   like `cmd.*` it ends the session on any socket, so it stays out of `server.*`.
 * - `server.*`: the traffic of a running session (pushes, nodes, acks, pongs, a frame that could not be
 *   read). Any of them proves the socket alive: the keep-alive listens to `server.*` (docs/protocol.md §2.6).
 *   The other families stay out of it on purpose: a transition in one of ready's regions keeps an event
 *   from ever reaching `online` (XState asks a parallel state's ancestors only when no region takes the
 *   event), and `cmd.disconnect` must reach it.
 */
export type SocketEvent =
  | { type: 'socket.open' }
  | { type: 'socket.closed'; code: number; reason: string }
  | { type: 'init.ok'; ref: string; ttl: number }
  /** `invalid`: init was answered 200 with fields walink refuses (`reason` says which). */
  | { type: 'init.failed'; status: number | 'update' | 'invalid'; reason?: string }
  | { type: 'reref.result'; status: number; ref?: string; ttl?: number }
  | { type: 'login.result'; status: number; tos?: number }
  | { type: 'challenge.result'; status: number }
  | { type: 'logout.result'; status: number }
  | { type: 'cmd.challenge'; challenge: Uint8Array }
  | { type: 'cmd.disconnect'; kind?: string }
  | { type: 'cmd.upgradeMd'; version?: string }
  /** A Conn that announced a binary dictionary this client does not decode (docs/protocol.md §2.3, §3). */
  | { type: 'conn.unsupported'; binVersion: number }
  | ServerEvent;

/** The `server.*` family: a running session's traffic (see SocketEvent). */
export type ServerEvent =
  /** A pong, an ack or a push that needs no handling: the socket is alive. */
  | { type: 'server.activity' }
  | { type: 'server.conn'; conn: ConnInfo }
  | { type: 'server.phonePong'; reachable: boolean }
  | { type: 'server.stream'; kind: string }
  | { type: 'server.messages'; add: string; messages: WebMessageInfo[]; undecodable: number }
  | { type: 'server.receipts'; receipts: Receipt[] }
  | { type: 'server.contacts'; contacts: Contact[] }
  | { type: 'server.chats'; chats: Chat[] }
  | { type: 'server.node'; tag: string; node: BinaryNode }
  | { type: 'server.messageAck'; id: string; status: number; t?: number }
  | { type: 'server.frameDropped'; code: FrameDropCode; reason: string };

/** What the user of a session may ask. */
export type UserEvent =
  | { type: 'user.logout' }
  | { type: 'user.restart' }
  | { type: 'user.takeOver' }
  | { type: 'user.sendText'; jid: string; text: string; id: string };

export type SessionEvent = SocketEvent | UserEvent;

/** Commands the machine gives the socket actor. */
export type SocketCommand =
  | { type: 'send.init'; clientId: string; description: string[] }
  | { type: 'send.login'; credentials: Credentials; mode: LoginMode }
  | { type: 'send.loginAgain' }
  | { type: 'send.reref' }
  | { type: 'send.challenge'; answer: Uint8Array; serverToken: string; clientId: string }
  | { type: 'send.ping' }
  | { type: 'send.phoneTest' }
  | { type: 'send.goodbye' }
  | { type: 'send.initialQueries' }
  | { type: 'send.text'; jid: string; text: string; id: string }
  | { type: 'use.keys'; keys: SessionKeys };

/** What the application hears (XState `emit`; createSession turns them into an RxJS stream). */
export type SessionEmitted =
  | { type: 'qr'; text: string; ref: string; ttl: number; index: number }
  | { type: 'qr.exhausted' }
  | { type: 'paired'; wid: string }
  | { type: 'ready'; wid: string }
  | { type: 'credentials.updated'; wid: string }
  | { type: 'credentials.cleared'; reason: FailureReason }
  | { type: 'message'; message: MessageSummary; add: string }
  | { type: 'media'; message: MessageSummary; media: MediaReference }
  | { type: 'receipt'; receipt: Receipt }
  | { type: 'contacts'; contacts: Contact[] }
  | { type: 'chats'; chats: Chat[] }
  | { type: 'message.ack'; id: string; status: number; t?: number }
  | { type: 'phone'; reachable: boolean; asleep?: boolean }
  | { type: 'frame.dropped'; code: FrameDropCode; reason: string; count: number }
  | { type: 'reconnecting'; attempt: number; delay: number; reason: string }
  | { type: 'conflict' }
  | { type: 'failed'; reason: FailureReason }
  | { type: 'loggedOut'; reason: FailureReason };

/**
 * Every timer of the machine, in milliseconds; tests shorten them or drive them with SimulatedClock. Each
 * waiting state has a deadline, so a server that goes silent costs a reconnect, never a wait forever.
 * Every delay is clamped to what a timer can hold (MAX_TIMER_MS): a larger one would fire at once.
 */
export interface SessionTiming {
  /** Ask for a new ref this long before the current one expires (docs/protocol.md §2.2: 0.5 s). */
  qrRefreshMargin: number;
  /** The longest ttl a server's ref is believed (a larger one is cut to this; docs/protocol.md §2.2). */
  qrTtlMax: number;
  /** Wait this long for init's answer before the socket is given up (docs/protocol.md §2.1). */
  initTimeout: number;
  /** Wait this long for a reref's answer before the socket is given up (docs/protocol.md §2.2). */
  rerefTimeout: number;
  /** Re-send an unanswered login (docs/protocol.md §2.5: every 10 s). */
  loginResend: number;
  /** Wait this long in all for a login's answer, re-sends included, before the socket is given up. */
  loginTimeout: number;
  /** Wait this long for the answer to a challenge before the socket is given up (docs/protocol.md §2.5). */
  challengeTimeout: number;
  /** Ping after this much inbound silence (docs/protocol.md §2.6: 10-30 s). */
  keepAliveIdle: number;
  /** Give the socket up as stale when a ping is not answered within this. */
  staleTimeout: number;
  /** Ask whether the phone is reachable this often while ready. */
  phoneCheck: number;
  /** Reconnect backoff: base · 2^attempt, capped, then jittered to between half and all of it. */
  backoffBase: number;
  backoffMax: number;
  /** The backoff starts again from its base only after this long in ready (a server that accepts and drops). */
  readyStable: number;
  /** Give the server this long to confirm a logout. */
  logoutTimeout: number;
}

export const DEFAULT_TIMING: SessionTiming = {
  qrRefreshMargin: 500,
  qrTtlMax: 120_000,
  initTimeout: 20_000,
  rerefTimeout: 10_000,
  loginResend: 10_000,
  loginTimeout: 45_000,
  challengeTimeout: 20_000,
  keepAliveIdle: 20_000,
  staleTimeout: 20_000,
  phoneCheck: 60_000,
  backoffBase: 1_000,
  backoffMax: 30_000,
  readyStable: 60_000,
  logoutTimeout: 5_000,
};

/** The longest delay a JavaScript timer holds (2^31 − 1 ms, ~24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Limits the session keeps on its own, whatever a server sends or allows. The machine keeps the QR budget;
 * the socket actor's receiver (actors/legacy/) refuses fields longer than the others.
 */
export interface SessionLimits {
  /** QR codes one socket shows (docs/protocol.md §2.2: the server allows 6); then the last one expires. */
  qrCodesPerSocket: number;
  /** The longest ref accepted from init, a reref or a Conn (real ones are ~30 characters). */
  maxRefLength: number;
  /** The longest token, secret or challenge accepted (real tokens are 44-84 characters, secrets 192). */
  maxTokenLength: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  qrCodesPerSocket: 6,
  maxRefLength: 256,
  maxTokenLength: 1024,
};

export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface SessionInput {
  clientId: string;
  /** What the phone shows in its list of linked devices: [os or app, browser, version]. */
  description?: string[];
  credentials: Credentials | null;
  /**
   * The X25519 key pair of the first pairing attempt (docs/protocol.md §2.2); default: `newKeyPair()`.
   * Made by the caller so the machine stays pure.
   */
  keyPair?: KeyPair;
  /** A fresh X25519 key pair for each later pairing attempt (each new socket that shows QR codes). */
  newKeyPair?: () => KeyPair;
  loginMode?: LoginMode;
  timing?: Partial<SessionTiming>;
  limits?: Partial<SessionLimits>;
  /** Random in [0, 1) for reconnect jitter: injected so tests are deterministic. */
  random?: () => number;
}

/** Where the pairing attempt stands (docs/protocol.md §2.2-2.4); one field of SessionContext. */
export interface PairingState {
  /** The key pair of the current pairing attempt; null until the first socket shows a QR code. */
  keyPair: KeyPair | null;
  /** The caller's key pair for the first attempt, until it is used. */
  firstKeyPair: KeyPair | null;
  newKeyPair: () => KeyPair;
  /** The Conn that carried the pairing secret, until its keys are derived. */
  conn: ConnInfo | null;
  keys: SessionKeys | null;
}

/**
 * At most 19 fields at the top (test/machines/session-machine.test.ts): XState's assign copies the context
 * with Object.assign, and V8 keeps a copy of 20 or more properties in dictionary mode, ~1.5 KiB per session
 * instead of ~0.2 KiB. Fields that belong together are grouped (`pairing`).
 */
export interface SessionContext {
  clientId: string;
  description: string[];
  credentials: Credentials | null;
  pairing: PairingState;
  loginMode: LoginMode;
  timing: SessionTiming;
  limits: SessionLimits;
  random: () => number;
  ref: string | null;
  ttl: number;
  qrIndex: number;
  /** How long the current login has waited so far, over its re-sends (loginTimeout). */
  loginWaited: number;
  reconnectAttempts: number;
  lastDisconnect: string;
  /** 405 means "already logged in on this socket": reconnect once, then give up. */
  retriedAfter405: boolean;
  droppedFrames: number;
  failure: FailureReason | null;
  phoneReachable: boolean | null;
  /** The delay of the reconnect being waited for. */
  backoff: number;
}
