// The multi-device companion machine's vocabulary (the contract between machines/md and actors/md): what
// it remembers, what the socket reports, what it asks the socket to send, the promise actors it invokes,
// and what it tells the application. Plain data: bytes are Uint8Array, nothing here does I/O.
// Protocol facts cite docs/protocol-md.md.
import type { MediaReference } from '../../codec/index.ts';
import type { AppStateSyncKey } from '../../codec/md/index.ts';
import type { KeyPair } from '../legacy/index.ts';

/** The signed pre-key (docs/protocol-md.md §4.2): key id 1 at creation, its 64-byte XEdDSA signature. */
export interface MdSignedPreKey {
  keyId: number;
  keyPair: KeyPair;
  signature: Uint8Array;
}

/** Who the companion is once paired (docs/protocol-md.md §6.4, §8.3): the device JID and its LID. */
export interface MdMe {
  jid: string;
  lid: string | null;
  name?: string;
}

/**
 * What a companion keeps (docs/protocol-md.md §15). `me === null` means unpaired: the machine registers
 * (pairs); otherwise it logs in. Signal sessions, identities, one-time pre-keys and app-state keys live in
 * the Signal/app-state store (actors/md, md-store), not here.
 */
export interface MdCredentials {
  noiseKey: KeyPair;
  identityKey: KeyPair;
  signedPreKey: MdSignedPreKey;
  registrationId: number;
  /** 32 random bytes, in the QR code and the pair-success HMAC key; replaced by a pair code's stage 3 (§7.5). */
  advSecret: Uint8Array;
  me: MdMe | null;
  /** ADVSignedDeviceIdentity as the companion keeps it (docs/protocol-md.md §6.5-6.6). */
  account: Uint8Array | null;
  /** The primary's platform from pair-success (`android`, `iphone`, `smba`, …). */
  platform?: string;
  /** The id the next one-time pre-key gets. */
  nextPreKeyId: number;
  /** The first one-time pre-key id not yet confirmed uploaded. */
  firstUnuploadedPreKeyId: number;
}

/** Which ClientPayload the socket sends (docs/protocol-md.md §4.2-4.3). */
export type MdSocketMode = 'register' | 'login';

/** What the socket actor is started with. */
export interface MdSocketInput {
  mode: MdSocketMode;
  credentials: MdCredentials;
}

/**
 * Every timer of the MD machine, in milliseconds. Each waiting state has one of these as its deadline;
 * each is clamped to what a timer can hold (MAX_TIMER_MS).
 */
export interface MdTiming {
  /** Wait this long for the WebSocket to open (docs/protocol-md.md §1.1). */
  connectTimeout: number;
  /** Wait this long for the Noise XX handshake and the certificate chain (docs/protocol-md.md §2). */
  handshakeTimeout: number;
  /** Registration: wait this long for `pair-device` after the handshake (docs/protocol-md.md §6.1). */
  pairDeviceTimeout: number;
  /** Login: wait this long for `<success>` or `<failure>` after the handshake (docs/protocol-md.md §8.2). */
  loginTimeout: number;
  /** The first QR ref lives 60 s (docs/protocol-md.md §6.3). */
  qrFirstRef: number;
  /** Each later ref lives 20 s (docs/protocol-md.md §6.3). */
  qrNextRef: number;
  /** Wait this long for preparePairCode (PBKDF2, off the event loop; docs/protocol-md.md §7.2). */
  pairCodePrepareTimeout: number;
  /** Wait this long for the answer to companion_hello (docs/protocol-md.md §7.3). */
  companionHelloTimeout: number;
  /** A pair code is valid this long after the server accepted it (docs/protocol-md.md §7.4: 180 s). */
  pairCodeValid: number;
  /** Wait this long for finishPairCode (PBKDF2 again, the key bundle; docs/protocol-md.md §7.5). */
  pairCodeFinishTimeout: number;
  /** After a primary_hello, wait this long for pair-success (docs/protocol-md.md §7.5: 60 s). */
  pairSuccessAfterHello: number;
  /** A 429 to companion_hello without a backoff attribute: refuse new codes this long (§7.6). */
  pairCodeRateBackoff: number;
  /** Wait this long for verifyPairSuccess (docs/protocol-md.md §6.5). */
  verifyTimeout: number;
  /** Wait this long for storeDevice to be durable (docs/protocol-md.md §15). */
  storeTimeout: number;
  /** After pair-device-sign, wait this long for the 515 restart (docs/protocol-md.md §8.1). */
  restartTimeout: number;
  /** Wait this long for the pre-key count and for the upload's answer (docs/protocol-md.md §9). */
  preKeyTimeout: number;
  /** Wait this long for `passive active`'s answer (docs/protocol-md.md §9). */
  passiveTimeout: number;
  /** Send a ping this often, while pairing and while ready (docs/protocol-md.md §11: 30 s). */
  pingInterval: number;
  /** Give the socket up after this long without a frame (docs/protocol-md.md §11: 35 s). */
  livenessTimeout: number;
  /** Reconnect backoff: base · 2^attempt, capped, then jittered to between half and all of it. */
  backoffBase: number;
  backoffMax: number;
  /** After `<failure 429/503>` (try later, docs/protocol-md.md §8.3) the backoff is at least this. */
  throttledBackoff: number;
  /** The backoff starts again from its base only after this long in ready. */
  readyStable: number;
  /** Give the server this long to answer remove-companion-device (docs/protocol-md.md §14). */
  logoutTimeout: number;
}

export const DEFAULT_MD_TIMING: MdTiming = {
  connectTimeout: 20_000,
  handshakeTimeout: 20_000,
  pairDeviceTimeout: 20_000,
  loginTimeout: 20_000,
  qrFirstRef: 60_000,
  qrNextRef: 20_000,
  pairCodePrepareTimeout: 30_000,
  companionHelloTimeout: 30_000,
  pairCodeValid: 180_000,
  pairCodeFinishTimeout: 30_000,
  pairSuccessAfterHello: 60_000,
  pairCodeRateBackoff: 60_000,
  verifyTimeout: 10_000,
  storeTimeout: 10_000,
  restartTimeout: 20_000,
  preKeyTimeout: 30_000,
  passiveTimeout: 60_000,
  pingInterval: 30_000,
  livenessTimeout: 35_000,
  backoffBase: 1_000,
  backoffMax: 60_000,
  throttledBackoff: 30_000,
  readyStable: 60_000,
  logoutTimeout: 5_000,
};

/** Limits the machine keeps whatever a server sends. */
export interface MdLimits {
  /** QR refs shown per socket (docs/protocol-md.md §6.1: the server sends 6). */
  maxRefs: number;
  /** primary_hello notifications answered per code (docs/protocol-md.md §7.4: 3). */
  maxPrimaryHellos: number;
  /** Phone numbers: at least this many digits (docs/protocol-md.md §7.1) … */
  minPhoneDigits: number;
  /** … and at most this many (E.164). */
  maxPhoneDigits: number;
  /** Upload one-time pre-keys when the server holds this many or fewer (docs/protocol-md.md §9: 5). */
  preKeyUploadThreshold: number;
  /** How many one-time pre-keys one upload carries (docs/protocol-md.md §9: 30). */
  preKeyUploadCount: number;
}

export const DEFAULT_MD_LIMITS: MdLimits = {
  maxRefs: 6,
  maxPrimaryHellos: 3,
  minPhoneDigits: 7,
  maxPhoneDigits: 15,
  preKeyUploadThreshold: 5,
  preKeyUploadCount: 30,
};

export interface MdSessionInput {
  credentials: MdCredentials;
  timing?: Partial<MdTiming>;
  limits?: Partial<MdLimits>;
  /** Random in [0, 1) for reconnect jitter: injected so tests are deterministic (default Math.random). */
  random?: () => number;
  /**
   * Fresh unpaired credentials (new keys, new adv secret) for pairing again after the device was cleared
   * (loggedOut). Made by the caller so the machine stays pure; without it the old keys pair again.
   */
  freshCredentials?: () => MdCredentials;
}

// ---- failure reasons ----

/** Why `pairFailed`: the pair-success checks of docs/protocol-md.md §6.5, or storing the device failed. */
export type MdPairFailure =
  | 'hmacMismatch' // step 2: 401 hmac-mismatch
  | 'signatureMismatch' // step 4: 401 signature-mismatch
  | 'invalidPairSuccess' // steps 1/3 or anything else verifyPairSuccess refused: 500 internal-error
  | 'verifyFailed' // verifyPairSuccess threw or missed its deadline: 500 internal-error
  | 'storeFailed'; // the verified device could not be stored durably: 500 internal-error

/** Why a session stopped: the resting states carry one of these. */
export type MdFailureReason =
  | MdPairFailure
  | 'loggedOut' // the user logged out (remove-companion-device, docs/protocol-md.md §14)
  | 'removed' // <failure reason=401> (docs/protocol-md.md §8.3)
  | 'mainDeviceGone' // <failure reason=403>
  | 'unknownLogout' // <failure reason=406>
  | 'deviceRemoved' // <stream:error code=401><conflict type=device_removed/> (docs/protocol-md.md §10)
  | 'clientOutdated' // <failure reason=405>
  | 'replaced' // <stream:error><conflict type=replaced/>
  | 'refsExhausted' // the QR refs ran out with no pair code pending (docs/protocol-md.md §6.3)
  | 'handshakeFailed' // Noise XX or the certificate chain failed (docs/protocol-md.md §2.4)
  | 'internalError'; // the session's own code failed (actors/ ends the session, the process lives on)

/** Why a pair-code request ended without pairing (the code region goes back to idle). */
export type MdPairCodeFailure =
  | 'invalidPhone' // digits only, ≥ minPhoneDigits, not starting with 0 (docs/protocol-md.md §7.1)
  | 'notPairing' // asked while the session is not registering
  | 'badRequest' // companion_hello answered 400 (docs/protocol-md.md §7.6)
  | 'forbidden' // 403
  | 'rateLimited' // 429 (or asked again during its backoff)
  | 'useQr' // 452 feature-not-available: use the QR code
  | 'serverError' // 500
  | 'rejected' // any other status
  | 'noAnswer' // companion_hello unanswered within companionHelloTimeout
  | 'prepareFailed' // preparePairCode threw or missed its deadline
  | 'finishFailed' // finishPairCode threw or missed its deadline
  | 'expired' // the code's 180 s ran out
  | 'tooManyAttempts' // maxPrimaryHellos wrong codes
  | 'noPairSuccess' // no pair-success within pairSuccessAfterHello of companion_finish
  | 'cancelled'; // a new request replaced it

/** The typed problem with a phone number (docs/protocol-md.md §7.1). */
export type MdPhoneProblem = 'notDigits' | 'tooShort' | 'tooLong' | 'leadingZero';

// ---- what the socket reports ----

/** Why the socket actor dropped a frame instead of reporting what it meant. */
export type MdFrameDropCode = string;

/** A decrypted message's content (actors/md decrypts; docs/protocol-md.md §12-13). */
export type MdMessageContent =
  | { kind: 'text'; text: string }
  | { kind: 'extendedText'; text: string; matchedText?: string }
  | { kind: 'media'; media: MediaReference; caption?: string }
  | { kind: 'historySync'; syncType: number | null }
  | { kind: 'appStateKeys'; keys: AppStateSyncKey[] }
  | { kind: 'undecryptable'; reason: string }
  | { kind: 'other'; type: string };

/** Why a text was not sent (docs/protocol-md.md §12.7); nothing went out for it. */
export type MdSendFailure =
  | 'badJid' // the recipient is not a user JID
  | 'noDevices' // usync listed no device for the recipient (not on WhatsApp)
  | 'bundleMissing' // no device of the recipient had a session or a pre-key bundle
  | 'iqError' // usync or the bundle fetch was answered with an error
  | 'timeout' // usync or the bundle fetch went unanswered
  | 'encryptFailed' // the Signal library refused (a bad bundle, a broken session)
  | 'notConnected' // the socket was not open, or closed during the send
  | 'notReady' // asked while the session is not ready (pairing, logging in, reconnecting, resting)
  | 'serverError'; // the server's ack carried an error

/** The socket's own life (docs/protocol-md.md §1-2). */
export type MdSocketEvent =
  | { type: 'socket.opened' }
  /** A send.text that could not go out (docs/protocol-md.md §12.7): typed, never a throw. */
  | { type: 'socket.sendFailed'; id: string; to: string; reason: MdSendFailure; detail?: string }
  | { type: 'socket.secured' }
  | { type: 'socket.handshakeFailed'; reason: string }
  | { type: 'socket.closed'; code: number | null; reason: string };

/**
 * The `server.*` family: every stanza the server sent. Any of them proves the socket alive (the liveness
 * region listens to `server.*`, docs/protocol-md.md §11).
 */
export type MdServerEvent =
  /** docs/protocol-md.md §6.1 */
  | { type: 'server.pairDevice'; iqId: string; refs: string[] }
  /** docs/protocol-md.md §6.4 */
  | {
      type: 'server.pairSuccess';
      iqId: string;
      deviceIdentity: Uint8Array;
      platform: string | null;
      jid: string;
      lid: string | null;
      businessName: string | null;
    }
  /** companion_hello's answer (docs/protocol-md.md §7.3, §7.6); `backoff` in seconds when the server sent one. */
  | { type: 'server.codeAccepted'; ref: string }
  | { type: 'server.codeRejected'; status: number; text: string; backoff?: number }
  /** notification link_code_companion_reg stage primary_hello (docs/protocol-md.md §7.4). */
  | {
      type: 'server.primaryHello';
      /** The notification's id and sender, for its ack (docs/protocol-md.md §12.4). */
      id: string;
      from: string;
      ref: string;
      wrappedPrimaryEphemeral: Uint8Array;
      primaryIdentityPublic: Uint8Array;
    }
  /** companion_finish answered with an error: the phone could not open the bundle, a wrong code (§7.5). */
  | { type: 'server.finishRejected'; status: number; text: string }
  /** docs/protocol-md.md §8.3 */
  | { type: 'server.success'; lid: string | null; t: number }
  | { type: 'server.failure'; reason: number; location?: string }
  /** docs/protocol-md.md §10 */
  | { type: 'server.streamError'; code: number | null; conflict: string | null; deviceRemoved: boolean }
  /** docs/protocol-md.md §9 */
  | { type: 'server.preKeyCount'; count: number }
  | { type: 'server.preKeysUploaded' }
  | { type: 'server.passiveActive' }
  | { type: 'server.iqError'; iqId: string; code: number; text: string }
  | { type: 'server.logoutAccepted' }
  | { type: 'server.pong' }
  /** docs/protocol-md.md §12; decrypted by the actors side. `peer`: from the account's own phone (§13). */
  | {
      type: 'server.message';
      id: string;
      from: string;
      participant?: string;
      t: number;
      /** The stanza's type attribute (`text`, `media`), echoed in the ack. */
      messageType?: string;
      peer?: boolean;
      content: MdMessageContent;
    }
  | { type: 'server.notification'; id: string; from: string; notificationType: string }
  | { type: 'server.receipt'; id: string; from: string; participant?: string; receiptType: string | null }
  /** The server took a message the companion sent (`<ack class=message id from>`, §12.7); `error` if refused. */
  | { type: 'server.messageAck'; id: string; from: string; error?: number }
  /** `<ib><offline count>`: the queued offline messages have all been delivered (docs/protocol-md.md §12.5). */
  | { type: 'server.offline'; count: number }
  | { type: 'server.frameDropped'; code: MdFrameDropCode; reason: string };

export type MdSocketReport = MdSocketEvent | MdServerEvent;

/** What the user of an MD session may ask. */
export type MdUserEvent =
  | { type: 'user.requestPairingCode'; phone: string }
  | { type: 'user.logout' }
  | { type: 'user.restart' }
  | { type: 'user.sendText'; jid: string; text: string; id: string };

/** Events the machine raises for itself (never sent from outside). */
export type MdInternalEvent =
  /** A server stanza arrived while a liveness deadline runs: start it again (docs/protocol-md.md §11). */
  | { type: 'md.alive' }
  /** companion_finish replaced the adv secret: the QR on screen is redrawn from it (§7.7). */
  | { type: 'md.advSecretChanged' };

export type MdSessionEvent = MdSocketReport | MdUserEvent | MdInternalEvent;

// ---- what the machine asks the socket to send (sendTo('socket', …)); the actor builds the nodes ----

export type MdSocketCommand =
  /** `<iq type=result>` to an IQ, e.g. pair-device (docs/protocol-md.md §6.1). */
  | { type: 'send.iqResult'; iqId: string }
  /** docs/protocol-md.md §6.6: account signature key stripped, device signature added. */
  | { type: 'send.pairDeviceSign'; iqId: string; deviceIdentity: Uint8Array; keyIndex: number }
  | { type: 'send.pairError'; iqId: string; code: number; text: string }
  /** docs/protocol-md.md §7.3; `phone` is digits only. */
  | {
      type: 'send.companionHello';
      phone: string;
      wrappedEphemeral: Uint8Array;
      showPushNotification: boolean;
    }
  /** docs/protocol-md.md §7.5 */
  | {
      type: 'send.companionFinish';
      phone: string;
      ref: string;
      wrappedKeyBundle: Uint8Array;
      identityPublic: Uint8Array;
    }
  /** docs/protocol-md.md §12.4 */
  | { type: 'send.ack'; id: string; to: string; class: string; ackType?: string; participant?: string }
  | { type: 'send.receipt'; id: string; to: string; participant?: string; receiptType?: string }
  /** docs/protocol-md.md §9 */
  | { type: 'send.preKeyCount' }
  /** Upload `count` one-time pre-keys with ids from `firstId` (the actor makes and stores them first). */
  | { type: 'send.preKeyUpload'; count: number; firstId: number }
  | { type: 'send.passiveActive' }
  /** docs/protocol-md.md §11 */
  | { type: 'send.ping' }
  /** remove-companion-device (docs/protocol-md.md §14). */
  | { type: 'send.logout' }
  /** docs/protocol-md.md §12.7: devices (usync), bundles, one `<enc>` per device; the actor does it all. */
  | { type: 'send.text'; jid: string; text: string; id: string }
  /** docs/protocol-md.md §9: props, blocklist and privacy, as deployed companions ask once logged in. */
  | { type: 'send.accountQueries' }
  | { type: 'send.close' };

// ---- the promise actors (supplied by actors/md; pure stubs in setup) ----

export interface PreparePairCodeInput {
  phone: string;
}

/** A fresh pairing ephemeral per request, wrapped with the code (docs/protocol-md.md §7.2). */
export interface PreparedPairCode {
  /** 8 characters of the pairing alphabet, without the dash (docs/protocol-md.md §7.1). */
  code: string;
  /** salt(32) ‖ iv(16) ‖ ct(32) = 80 bytes. */
  wrappedEphemeral: Uint8Array;
  ephemeral: KeyPair;
}

export interface FinishPairCodeInput {
  hello: Extract<MdServerEvent, { type: 'server.primaryHello' }>;
  prepared: PreparedPairCode;
  credentials: MdCredentials;
}

/** docs/protocol-md.md §7.5 */
export interface FinishedPairCode {
  /** bundleSalt(32) ‖ bundleNonce(12) ‖ bundleCt(112) = 156 bytes. */
  wrappedKeyBundle: Uint8Array;
  /** The new adv secret (replaces credentials.advSecret). */
  advSecret: Uint8Array;
  identityPublic: Uint8Array;
  ref: string;
}

export interface VerifyPairSuccessInput {
  pairSuccess: Extract<MdServerEvent, { type: 'server.pairSuccess' }>;
  credentials: MdCredentials;
}

/** docs/protocol-md.md §6.5-6.6 */
export type VerifyPairSuccessResult =
  | {
      ok: true;
      /** ADVSignedDeviceIdentity to send in pair-device-sign: account signature key stripped, device signature added. */
      deviceIdentity: Uint8Array;
      /** ADVSignedDeviceIdentity as the companion keeps it. */
      account: Uint8Array;
      keyIndex: number;
      me: MdMe;
    }
  | { ok: false; code: 401 | 500; text: 'hmac-mismatch' | 'signature-mismatch' | 'internal-error' | string };

export interface StoreDeviceInput {
  credentials: MdCredentials;
}

/** A media message the session hands to the media queue. */
export interface MdMediaItem {
  media: MediaReference;
  messageId: string;
  chat: string;
}

// ---- what the application hears (emit) ----

/** A media reference as emitted: without its key (the media queue gets the whole reference). */
export type MdEmittedMedia = Omit<MediaReference, 'mediaKey'>;

/** A message's content as emitted: no key bytes (app-state keys are counted, media keys left out). */
export type MdEmittedContent =
  | Exclude<MdMessageContent, { kind: 'media' } | { kind: 'appStateKeys' }>
  | { kind: 'media'; media: MdEmittedMedia; caption?: string }
  | { kind: 'appStateKeys'; count: number };

export interface MdMessageSummary {
  id: string;
  from: string;
  participant?: string;
  t: number;
  content: MdEmittedContent;
}

export type MdPairingMethod = 'qr' | 'code';

export type MdSessionEmitted =
  /** The QR text (docs/protocol-md.md §6.2); it carries the adv secret by design: show it only to the user. */
  | { type: 'qr'; text: string; expiresInMs: number; index: number }
  | { type: 'qr.exhausted' }
  /** The code as XXXX-XXXX, shown only after the server accepted companion_hello (§7.3). */
  | { type: 'pairCode'; code: string; expiresInMs: number }
  /** A request ended without pairing; `backoffMs` when the server asked to wait (429). */
  | {
      type: 'pairCode.failed';
      reason: MdPairCodeFailure;
      status?: number;
      problem?: MdPhoneProblem;
      backoffMs?: number;
    }
  /** companion_finish was refused (a wrong code): the code stays up for another try. */
  | { type: 'pairCode.wrongCode'; attemptsLeft: number }
  | { type: 'paired'; jid: string; lid: string | null; platform: string | null; method: MdPairingMethod }
  | { type: 'ready'; jid: string }
  | { type: 'credentials.updated'; jid: string | null }
  | { type: 'credentials.cleared'; reason: MdFailureReason }
  | { type: 'message'; message: MdMessageSummary }
  | { type: 'receipt'; id: string; from: string; receiptType: string | null }
  /** The server acked a text the companion sent (docs/protocol-md.md §12.7). */
  | { type: 'sent'; id: string; to: string }
  | { type: 'send.failed'; id: string; to: string; reason: MdSendFailure; detail?: string }
  | { type: 'offline'; count: number }
  | { type: 'frame.dropped'; code: MdFrameDropCode; reason: string; count: number }
  | { type: 'reconnecting'; attempt: number; delay: number; reason: string }
  | { type: 'conflict' }
  | { type: 'failed'; reason: MdFailureReason }
  | { type: 'pairFailed'; reason: MdPairFailure }
  | { type: 'loggedOut'; reason: MdFailureReason };

// ---- the context ----

export interface MdSessionContext {
  credentials: MdCredentials;
  freshCredentials: (() => MdCredentials) | null;
  timing: MdTiming;
  limits: MdLimits;
  random: () => number;
  /** pair-device's refs and the one on screen. */
  refs: string[];
  refIndex: number;
  pairDeviceIqId: string | null;
  /** A phone asked for before pairing started (docs/protocol-md.md §7.3: only on a registered socket). */
  requestedPhone: string | null;
  /** The phone of the pending request (digits only). */
  phone: string | null;
  /** The pending code's ephemeral and wrapped form; its private key never leaves the machine. */
  prepared: PreparedPairCode | null;
  pairCodeRef: string | null;
  primaryHellos: number;
  /** Set while the code region has a request outstanding: the socket stays when the QR refs run out. */
  codePending: boolean;
  /** companion_finish went out: a pair-success is the code's. */
  finishSent: boolean;
  codeBackoff: number;
  pairSuccess: Extract<MdServerEvent, { type: 'server.pairSuccess' }> | null;
  /** The verified device, until it is stored. */
  verified: Extract<VerifyPairSuccessResult, { ok: true }> | null;
  pairingMethod: MdPairingMethod | null;
  /** The error IQ a refused pair-success is answered with (docs/protocol-md.md §6.6). */
  pairError: { code: number; text: string } | null;
  reconnectAttempts: number;
  throttled: boolean;
  lastDisconnect: string;
  backoff: number;
  droppedFrames: number;
  failure: MdFailureReason | null;
}
