// The session machine as a model for xstate/graph: its states are the real machine's snapshots (plus a
// few facts about the world), its events are *stimuli*, things a test can make happen against the
// emulator (a scan, a dropped socket, a login answered 405, time passing on the SimulatedClock). Each
// stimulus lists the machine events the world will produce, so the model predicts the state the real
// session must be in afterwards; the runner (world.ts) makes it happen and compares.
import { fromTransition, initialTransition, type SnapshotFrom, transition } from 'xstate';
import { buildQrText } from '../../codec/index.ts';
import { buildPairingSecret, type SessionKeys, toBase64, x25519KeyPair } from '../../crypto/index.ts';
import {
  type SessionEvent,
  type SessionLimits,
  type SessionTiming,
  sessionMachine,
} from '../../machines/index.ts';

/** Timings for the model runs: distinct so that advancing the clock for one fires only that one. */
export const MODEL_TIMING: SessionTiming = {
  qrRefreshMargin: 500,
  qrTtlMax: 120_000,
  initTimeout: 5_000,
  rerefTimeout: 6_000,
  loginResend: 4_000,
  loginTimeout: 7_000,
  challengeTimeout: 5_000,
  keepAliveIdle: 10_000,
  staleTimeout: 3_000,
  phoneCheck: 60_000,
  backoffBase: 100,
  backoffMax: 100,
  readyStable: 2_000,
  logoutTimeout: 2_000,
};

/** Two codes per socket: the client's own QR budget is reached in one rotation. */
export const MODEL_LIMITS: Partial<SessionLimits> = { qrCodesPerSocket: 2 };

/** How long the emulator sits on a request in the "server stays silent" stimuli (real time). */
const SILENT_MS = 5_000;

type MachineSnapshot = SnapshotFrom<typeof sessionMachine>;

export interface ModelState {
  machine: MachineSnapshot;
  /** The emulator will leave the pending ping unanswered (a dropPing fault was consumed). */
  pingDropped: boolean;
  /** Another browser (a second walink session with our credentials) took the session over. */
  otherHolds: boolean;
  /**
   * The emulator would take the session's previous tokens (they are its own previous pair, so a login
   * with them is challenged as stale and accepted); false once another login rotated past them.
   */
  previousValid: boolean;
}

/** What a stimulus does to the world; world.ts implements each. */
export type WorldAction =
  | { kind: 'scan'; forged?: boolean; multiDevice?: boolean; faults?: unknown[] }
  | {
      kind: 'advance';
      delay: keyof SessionTiming | 'ttl' | 'qrRefresh';
      faults?: unknown[];
      /** Further delays, advanced one after the other (each timer they fire starts the next). */
      afterwards?: (keyof SessionTiming)[];
    }
  | { kind: 'drop' }
  | { kind: 'user'; command: 'restart' | 'takeOver' | 'logout' | 'send'; faults?: unknown[] }
  | {
      kind: 'reconnect';
      faults?: unknown[];
      tosBlocked?: boolean;
      resend?: boolean;
      /** Once the session is in `waitFor`, advance these delays one after the other (a silent server). */
      afterwards?: { waitFor: string; advance: number[] };
    }
  | { kind: 'phone'; action: 'message' | 'unlink' | 'asleep' | 'corruptMessage' | 'receipt' }
  | { kind: 'garbage' }
  | { kind: 'otherTakesOver' };

export interface Stimulus {
  name: string;
  applies(state: ModelState): boolean;
  /** The machine events the world produces, in order; may depend on the state. */
  events(state: ModelState): SessionEvent[];
  /** What the runner does; may depend on the state (faults that must fire once or twice). */
  world: WorldAction | ((state: ModelState) => WorldAction);
  /** How the stimulus changes the modelled world facts. */
  after?: (state: ModelState) => Partial<Omit<ModelState, 'machine'>>;
}

// ------------------------------------------------------------------------------- events, by example

const KEYS: SessionKeys = { encKey: new Uint8Array(32).fill(1), macKey: new Uint8Array(32).fill(2) };
const TOKENS = { clientToken: 'c', serverToken: 's', browserToken: 'b', wid: '490000000000@c.us' };
const after = (delay: string, stateId: string) =>
  ({ type: `xstate.after.${delay}.session.${stateId}` }) as unknown as SessionEvent;

const MODEL_KEY_PAIR = x25519KeyPair();

export const MODEL_INPUT = {
  clientId: toBase64(new Uint8Array(16).fill(9)),
  credentials: null,
  keyPair: MODEL_KEY_PAIR,
  // The model predicts pairings with this one pair; the real session draws a fresh one per attempt.
  newKeyPair: () => MODEL_KEY_PAIR,
};

const e = {
  open: { type: 'socket.open' } as SessionEvent,
  closed: { type: 'socket.closed', code: 1001, reason: 'dropped' } as SessionEvent,
  initOk: { type: 'init.ok', ref: 'ref-1', ttl: 20_000 } as SessionEvent,
  /** A login's rotation: new tokens (the pairing's become the previous pair). */
  conn: { type: 'server.conn', conn: { ...TOKENS, clientToken: 'c2', serverToken: 's2' } } as SessionEvent,
  pairingConn: (forged: boolean) => {
    const secret = buildPairingSecret(MODEL_INPUT.keyPair.publicKey, KEYS);
    if (forged) secret[40]! ^= 1;
    return { type: 'server.conn', conn: { ...TOKENS, secret: toBase64(secret) } } as SessionEvent;
  },
  login: (status: number, tos?: number) =>
    ({ type: 'login.result', status, ...(tos !== undefined ? { tos } : {}) }) as SessionEvent,
  challenge: { type: 'cmd.challenge', challenge: new Uint8Array(32) } as SessionEvent,
  challengeResult: (status: number) => ({ type: 'challenge.result', status }) as SessionEvent,
  reref: (status: number) =>
    ({
      type: 'reref.result',
      status,
      ...(status === 200 ? { ref: 'ref-2', ttl: 20_000 } : {}),
    }) as SessionEvent,
  phonePong: { type: 'server.phonePong', reachable: true } as SessionEvent,
  activity: { type: 'server.activity' } as SessionEvent,
  messages: { type: 'server.messages', add: 'relay', messages: [], undecodable: 0 } as SessionEvent,
  dropped: { type: 'server.frameDropped', code: 'FRAME_BAD_MAC', reason: 'bad HMAC' } as SessionEvent,
  ack: { type: 'server.messageAck', id: 'x', status: 200 } as SessionEvent,
  asleep: { type: 'server.stream', kind: 'asleep' } as SessionEvent,
  badInit: { type: 'init.failed', status: 'invalid', reason: 'a ref with a comma' } as SessionEvent,
  unsupportedConn: { type: 'conn.unsupported', binVersion: 12 } as SessionEvent,
  /** Ready long enough for the backoff to start from its base again (fires before any other ready timer). */
  stable: after('readyStable', 'online.ready'),
};

// ------------------------------------------------------------------------------------ state helpers

export function stateValue(state: ModelState): unknown {
  return state.machine.value;
}

const inState = (state: ModelState, path: string) => state.machine.matches(pathToValue(path) as never);

function pathToValue(path: string): unknown {
  const parts = path.split('.');
  let value: unknown = parts.pop()!;
  while (parts.length) value = { [parts.pop()!]: value };
  return value;
}

const hasCredentials = (state: ModelState) => state.machine.context.credentials !== null;
const hasPrevious = (state: ModelState) => state.machine.context.credentials?.previous !== undefined;
const ready = (state: ModelState) => inState(state, 'online.ready');
const qrBudgetLeft = (state: ModelState) =>
  state.machine.context.qrIndex + 1 < state.machine.context.limits.qrCodesPerSocket;
const showingWithBudget = (state: ModelState) => inState(state, 'online.qr.showing') && qrBudgetLeft(state);

/** What a new socket leads to: a QR code, or a login (answered `outcome`) when there are credentials. */
function newSocket(state: ModelState, outcome: SessionEvent[] = okLogin()): SessionEvent[] {
  return hasCredentials(state) ? [e.open, e.initOk, ...outcome] : [e.open, e.initOk];
}

/** A login the emulator accepts: the rotated tokens, 200, then the phone answers the liveness test. */
function okLogin(): SessionEvent[] {
  return [e.conn, e.login(200), e.phonePong];
}

/** Stale tokens (another browser logged in since): challenged, answered, accepted. */
function challengedLogin(): SessionEvent[] {
  return [e.challenge, e.challengeResult(200), e.conn, e.phonePong];
}

function loginFor(state: ModelState): SessionEvent[] {
  return state.otherHolds ? challengedLogin() : okLogin();
}

/** 405 (already logged in): one more socket, whose login is accepted. */
function answered405Once(): SessionEvent[] {
  return [e.login(405), e.open, e.initOk, ...okLogin()];
}

/**
 * A session with credentials is reconnecting; the backoff elapses, a new socket opens, and the server
 * answers init and login with `answers` (arranged by `world`'s faults).
 */
type ReconnectWorld = Omit<Extract<WorldAction, { kind: 'reconnect' }>, 'kind'>;

function restoreAfterBackoff(
  name: string,
  answers: SessionEvent[],
  world: ReconnectWorld | ((state: ModelState) => ReconnectWorld),
  more: Pick<Stimulus, 'after'> & { when?: (state: ModelState) => boolean } = {},
): Stimulus {
  return {
    name: `reconnecting: ${name}`,
    applies: (s) =>
      inState(s, 'reconnecting') && hasCredentials(s) && !s.otherHolds && (more.when?.(s) ?? true),
    events: () => [after('reconnectBackoff', 'reconnecting'), e.open, ...answers],
    world: (s) => ({ kind: 'reconnect', ...(typeof world === 'function' ? world(s) : world) }),
    ...(more.after ? { after: more.after } : {}),
  };
}

/** 401 to the current tokens, then the previous ones on a fresh socket: challenged as stale, accepted. */
function previousTokensAccepted(): SessionEvent[] {
  return [e.login(401), e.open, e.initOk, ...challengedLogin()];
}

// --------------------------------------------------------------------------------------- stimuli

const RESTING = ['refsExhausted', 'loggedOut', 'failed'];

export const STIMULI: Stimulus[] = [
  // QR codes and pairing (docs/protocol.md §2.2-2.4)
  {
    name: 'phone scans the QR code',
    applies: (s) => inState(s, 'online.qr') && !inState(s, 'online.qr.rerefing'),
    events: () => [e.pairingConn(false), e.phonePong],
    world: { kind: 'scan' },
    after: () => ({ previousValid: false }),
  },
  {
    name: 'phone scans, the secret is forged',
    applies: (s) => inState(s, 'online.qr.showing'),
    events: () => [e.pairingConn(true)],
    world: { kind: 'scan', forged: true },
  },
  {
    name: 'a multi-device phone scans',
    applies: (s) => inState(s, 'online.qr.showing'),
    events: () => [{ type: 'cmd.upgradeMd' }],
    world: { kind: 'scan', multiDevice: true },
  },
  {
    name: 'the QR code is about to expire: reref 200',
    applies: showingWithBudget,
    events: () => [after('qrRefresh', 'online.qr.showing'), e.reref(200)],
    // The emulator keeps a ref younger than half its ttl (304); SimulatedClock does not age it.
    world: { kind: 'advance', delay: 'qrRefresh', faults: [{ kind: 'rerefStatus', status: 200 }] },
  },
  {
    name: 'the QR code is about to expire: reref 304',
    applies: showingWithBudget,
    events: () => [after('qrRefresh', 'online.qr.showing'), e.reref(304)],
    world: { kind: 'advance', delay: 'qrRefresh', faults: [{ kind: 'rerefStatus', status: 304 }] },
  },
  {
    name: 'the QR code is about to expire: reref 429',
    applies: showingWithBudget,
    events: () => [after('qrRefresh', 'online.qr.showing'), e.reref(429)],
    world: { kind: 'advance', delay: 'qrRefresh', faults: [{ kind: 'rerefStatus', status: 429 }] },
  },
  {
    name: 'the QR code is about to expire, the server never answers the reref',
    applies: showingWithBudget,
    events: () => [after('qrRefresh', 'online.qr.showing'), after('rerefTimeout', 'online.qr.rerefing')],
    world: {
      kind: 'advance',
      delay: 'qrRefresh',
      faults: [{ kind: 'delay', at: 'reref', ms: SILENT_MS }],
      afterwards: ['rerefTimeout'],
    },
  },
  {
    name: 'the last code the budget allows is about to expire: no reref',
    applies: (s) => inState(s, 'online.qr.showing') && !qrBudgetLeft(s),
    events: () => [after('qrRefresh', 'online.qr.showing')],
    world: { kind: 'advance', delay: 'qrRefresh' },
  },
  {
    name: 'the kept QR code expires',
    applies: (s) => inState(s, 'online.qr.kept'),
    // It was asked for qrRefreshMargin before its end: that is all it has left (docs/protocol.md §2.2).
    events: () => [after('qrExpiry', 'online.qr.kept')],
    world: { kind: 'advance', delay: 'qrRefreshMargin' },
  },
  {
    name: 'phone scans, the Conn announces binVersion 12',
    applies: (s) => inState(s, 'online.qr.showing'),
    events: () => [e.unsupportedConn],
    world: { kind: 'scan', faults: [{ kind: 'connFields', fields: { binVersion: 12 } }] },
  },

  // The socket and reconnecting (docs/protocol.md §2.5-2.6)
  {
    name: 'the network drops the socket',
    applies: (s) => inState(s, 'online') && !inState(s, 'online.connecting') && !s.pingDropped,
    events: () => [e.closed],
    world: { kind: 'drop' },
  },
  {
    name: 'the backoff elapses: a new socket',
    applies: (s) => inState(s, 'reconnecting'),
    events: (s) => [after('reconnectBackoff', 'reconnecting'), ...newSocket(s, loginFor(s))],
    world: { kind: 'reconnect' },
    // A login challenged as stale rotates past the pair this session last knew.
    after: (s) => ({ otherHolds: false, ...(s.otherHolds ? { previousValid: false } : {}) }),
  },
  ...(
    [
      [403, 'access denied'],
      [419, 'the client is too old'],
      [500, 'the server failed'],
      [400, 'the request was bad'],
      [409, 'another browser is logged in'],
    ] as const
  ).map(([status, why]) =>
    restoreAfterBackoff(`login answered ${status} (${why})`, [e.initOk, e.login(status)], {
      faults: [{ kind: 'loginStatus', status }],
    }),
  ),
  restoreAfterBackoff(
    'login answered 401, no previous tokens (the browser was removed)',
    [e.initOk, e.login(401)],
    { faults: [{ kind: 'loginStatus', status: 401 }] },
    { when: (s) => !hasPrevious(s) },
  ),
  restoreAfterBackoff(
    'login answered 401, the previous tokens are taken',
    [e.initOk, ...previousTokensAccepted()],
    { faults: [{ kind: 'loginStatus', status: 401 }] },
    { when: (s) => hasPrevious(s) && s.previousValid, after: () => ({ previousValid: false }) },
  ),
  restoreAfterBackoff(
    'login answered 401 to both token pairs (the browser was removed)',
    [e.initOk, e.login(401), e.open, e.initOk, e.login(401)],
    // The previous pair is refused by the emulator itself once another rotation passed it.
    (s) => ({ faults: [{ kind: 'loginStatus', status: 401, times: s.previousValid ? 2 : 1 }] }),
    { when: hasPrevious },
  ),
  restoreAfterBackoff('the phone is blocked by the terms of service', [e.initOk, e.login(403, 2)], {
    tosBlocked: true,
  }),
  restoreAfterBackoff('login answered 405 once', [e.initOk, ...answered405Once()], {
    faults: [{ kind: 'loginStatus', status: 405 }],
  }),
  restoreAfterBackoff('login answered 405 twice', [e.initOk, e.login(405), e.open, e.initOk, e.login(405)], {
    faults: [{ kind: 'loginStatus', status: 405, times: 2 }],
  }),
  restoreAfterBackoff('the login is challenged', [e.initOk, ...challengedLogin()], {
    faults: [{ kind: 'challenge' }],
  }),
  ...([401, 409] as const).map((status) =>
    restoreAfterBackoff(
      `the challenge answer is refused ${status}`,
      [e.initOk, e.challenge, e.challengeResult(status)],
      { faults: [{ kind: 'challenge' }, { kind: 'challengeStatus', status }] },
    ),
  ),
  restoreAfterBackoff(
    'the login answer is slow, the login is re-sent',
    [e.initOk, after('loginResend', 'online.loggingIn'), ...okLogin()],
    { faults: [{ kind: 'delay', at: 'login', ms: 600 }], resend: true },
  ),
  // A server that goes silent (docs/protocol.md §2.1-2.5): every waiting state has a deadline.
  restoreAfterBackoff(
    'the server never answers the login',
    [e.initOk, after('loginResend', 'online.loggingIn'), after('loginResend', 'online.loggingIn')],
    {
      faults: [{ kind: 'delay', at: 'login', ms: SILENT_MS }],
      // Re-sent after loginResend; given up when loginTimeout is spent.
      afterwards: {
        waitFor: 'online.loggingIn',
        advance: [MODEL_TIMING.loginResend, MODEL_TIMING.loginTimeout - MODEL_TIMING.loginResend],
      },
    },
  ),
  restoreAfterBackoff(
    'the server never answers the challenge',
    [e.initOk, e.challenge, after('challengeTimeout', 'online.challenged')],
    {
      faults: [{ kind: 'challenge' }, { kind: 'delay', at: 'challenge', ms: SILENT_MS }],
      afterwards: { waitFor: 'online.challenged', advance: [MODEL_TIMING.challengeTimeout] },
    },
  ),
  {
    name: 'reconnecting: the server never answers init',
    applies: (s) => inState(s, 'reconnecting') && !s.otherHolds,
    events: () => [
      after('reconnectBackoff', 'reconnecting'),
      e.open,
      after('initTimeout', 'online.initializing'),
    ],
    world: {
      kind: 'reconnect',
      faults: [{ kind: 'delay', at: 'init', ms: SILENT_MS }],
      afterwards: { waitFor: 'online.initializing', advance: [MODEL_TIMING.initTimeout] },
    },
  },
  {
    name: 'reconnecting: init answered with a ref holding a comma',
    applies: (s) => inState(s, 'reconnecting') && !s.otherHolds,
    events: () => [after('reconnectBackoff', 'reconnecting'), e.open, e.badInit],
    world: {
      kind: 'reconnect',
      faults: [{ kind: 'answer', at: 'init', body: { status: 200, ref: '1@a,b', ttl: 20_000 } }],
    },
  },

  ...(
    [
      ['update', { type: 'init.failed', status: 'update' }],
      [500, { type: 'init.failed', status: 500 }],
    ] as const
  ).map(
    ([status, event]): Stimulus => ({
      name: `reconnecting: init answered ${status}`,
      applies: (s) => inState(s, 'reconnecting') && !s.otherHolds,
      events: () => [after('reconnectBackoff', 'reconnecting'), e.open, event as SessionEvent],
      world: { kind: 'reconnect', faults: [{ kind: 'initStatus', status }] },
    }),
  ),
  // docs/protocol.md §2.5: a server may answer the login before init; the outcome is the same.
  ...(
    [
      ['200', [], okLogin()],
      ['403', [{ kind: 'loginStatus', status: 403 }], [e.login(403)]],
      ['419', [{ kind: 'loginStatus', status: 419 }], [e.login(419)]],
      ['409', [{ kind: 'loginStatus', status: 409 }], [e.login(409)]],
      ['500', [{ kind: 'loginStatus', status: 500 }], [e.login(500)]],
      ['400', [{ kind: 'loginStatus', status: 400 }], [e.login(400)]],
      ['405', [{ kind: 'loginStatus', status: 405 }], answered405Once()],
      ['a challenge', [{ kind: 'challenge' }], challengedLogin()],
    ] as const
  ).map(([outcome, faults, events]) =>
    restoreAfterBackoff(`login answered ${outcome} before init`, events as SessionEvent[], {
      faults: [{ kind: 'initLate', ms: 300 }, ...faults],
    }),
  ),
  restoreAfterBackoff(
    'login answered 401 before init, no previous tokens',
    [e.login(401)],
    {
      faults: [
        { kind: 'initLate', ms: 300 },
        { kind: 'loginStatus', status: 401 },
      ],
    },
    { when: (s) => !hasPrevious(s) },
  ),
  restoreAfterBackoff(
    'login answered 401 before init, the previous tokens are taken',
    previousTokensAccepted(),
    {
      faults: [
        { kind: 'initLate', ms: 300 },
        { kind: 'loginStatus', status: 401 },
      ],
    },
    { when: (s) => hasPrevious(s) && s.previousValid, after: () => ({ previousValid: false }) },
  ),
  restoreAfterBackoff('the phone is blocked, answered before init', [e.login(403, 2)], {
    tosBlocked: true,
    faults: [{ kind: 'initLate', ms: 300 }],
  }),
  {
    name: 'the server sends a frame that is no frame',
    applies: (s) => inState(s, 'online.qr.showing') || inState(s, 'online.qr.kept') || ready(s),
    events: () => [e.dropped],
    world: { kind: 'garbage' },
    after: () => ({ pingDropped: false }),
  },

  // Ready: the frame stream, keep-alive and the phone (docs/protocol.md §2.6, 4)
  // Pushes from the phone; any inbound frame also ends an unanswered ping.
  ...(
    [
      [
        'the phone reads a message we sent',
        'receipt',
        { type: 'server.receipts', receipts: [{ type: 'read', id: 'x' }] },
      ],
      ['the phone sends a message', 'message', e.messages],
      ['a message arrives with a corrupted HMAC', 'corruptMessage', e.dropped],
      ['the phone goes to sleep', 'asleep', e.asleep],
    ] as const
  ).map(
    ([name, action, event]): Stimulus => ({
      name,
      applies: (s) => ready(s),
      events: () => [event as SessionEvent],
      world: { kind: 'phone', action },
      after: () => ({ pingDropped: false }),
    }),
  ),
  {
    name: 'the user sends a text',
    applies: (s) => ready(s) && !s.pingDropped,
    events: () => [
      { type: 'user.sendText', jid: '491700000000@c.us', text: 'hi', id: 'x' },
      e.activity,
      e.ack,
    ],
    world: { kind: 'user', command: 'send' },
  },
  {
    name: 'inbound silence: ping answered',
    applies: (s) => inState(s, 'online.ready.keepAlive.idle'),
    events: () => [e.stable, after('keepAliveIdle', 'online.ready.keepAlive.idle'), e.activity],
    world: { kind: 'advance', delay: 'keepAliveIdle' },
  },
  {
    name: 'inbound silence: ping unanswered',
    applies: (s) => inState(s, 'online.ready.keepAlive.idle'),
    events: () => [e.stable, after('keepAliveIdle', 'online.ready.keepAlive.idle')],
    world: { kind: 'advance', delay: 'keepAliveIdle', faults: [{ kind: 'dropPing' }] },
    after: () => ({ pingDropped: true }),
  },
  {
    name: 'the unanswered ping times out',
    applies: (s) => inState(s, 'online.ready.keepAlive.pinging'),
    events: () => [after('staleTimeout', 'online.ready.keepAlive.pinging')],
    world: { kind: 'advance', delay: 'staleTimeout' },
    after: () => ({ pingDropped: false }),
  },
  {
    name: 'time for a phone check',
    applies: (s) => inState(s, 'online.ready.phone.known') && inState(s, 'online.ready.keepAlive.idle'),
    // The keep-alive fires first (its delay is shorter), then the check; both are answered.
    events: () => [
      e.stable,
      after('keepAliveIdle', 'online.ready.keepAlive.idle'),
      after('phoneCheck', 'online.ready.phone.known'),
      e.activity,
      e.phonePong,
    ],
    world: { kind: 'advance', delay: 'phoneCheck' },
  },
  {
    name: 'time for a phone check, the ping goes unanswered',
    applies: (s) => inState(s, 'online.ready.phone.known') && inState(s, 'online.ready.keepAlive.idle'),
    // Both fire in one clock step; the ping is dropped, so the phone's Pong ends the pinging.
    events: () => [
      e.stable,
      after('keepAliveIdle', 'online.ready.keepAlive.idle'),
      after('phoneCheck', 'online.ready.phone.known'),
      e.phonePong,
    ],
    world: { kind: 'advance', delay: 'phoneCheck', faults: [{ kind: 'dropPing' }] },
  },
  {
    name: 'the phone unlinks this browser',
    applies: (s) => ready(s) && !s.pingDropped,
    events: () => [{ type: 'cmd.disconnect' }],
    world: { kind: 'phone', action: 'unlink' },
  },
  {
    name: 'another browser takes the session over',
    applies: (s) => ready(s) && !s.pingDropped && !s.otherHolds,
    events: () => [{ type: 'cmd.disconnect', kind: 'replaced' }],
    world: { kind: 'otherTakesOver' },
    after: () => ({ otherHolds: true, previousValid: false }),
  },

  // The user
  {
    name: 'the user logs out (answered)',
    applies: (s) =>
      !s.pingDropped &&
      (ready(s) ||
        inState(s, 'online.qr.showing') ||
        ['reconnecting', 'conflict'].some((p) => inState(s, p))),
    events: (s) =>
      ready(s)
        ? [{ type: 'user.logout' }, { type: 'logout.result', status: 200 }]
        : [{ type: 'user.logout' }],
    world: { kind: 'user', command: 'logout' },
  },
  {
    name: 'the user logs out, the server never answers',
    applies: (s) => ready(s) && !s.pingDropped,
    events: () => [{ type: 'user.logout' }, after('logoutTimeout', 'online.loggingOut')],
    world: { kind: 'user', command: 'logout', faults: [{ kind: 'delay', at: 'logout', ms: 1_500 }] },
  },
  {
    name: 'the user logs out, the socket drops',
    applies: (s) => ready(s) && !s.pingDropped,
    events: () => [{ type: 'user.logout' }, e.closed],
    world: { kind: 'user', command: 'logout', faults: [{ kind: 'closeSocket', at: 'logout' }] },
  },
  {
    name: 'the user restarts',
    applies: (s) => !s.otherHolds && [...RESTING, 'reconnecting'].some((p) => inState(s, p)),
    events: (s) => [{ type: 'user.restart' }, ...newSocket(s)],
    world: { kind: 'user', command: 'restart' },
  },
  {
    name: 'the user takes the session back',
    applies: (s) => inState(s, 'conflict'),
    events: (s) => [{ type: 'user.takeOver' }, ...newSocket(s, loginFor(s))],
    world: { kind: 'user', command: 'takeOver' },
    after: (s) => ({ otherHolds: false, ...(s.otherHolds ? { previousValid: false } : {}) }),
  },
];

// ------------------------------------------------------------------------------------- the logic

/** The first state of every path: a fresh session showing its first QR code. */
export function initialModelState(): ModelState {
  let [machine] = initialTransition(sessionMachine, {
    ...MODEL_INPUT,
    timing: MODEL_TIMING,
    limits: MODEL_LIMITS,
  });
  for (const event of [e.open, e.initOk]) [machine] = transition(sessionMachine, machine, event);
  return { machine, pingDropped: false, otherHolds: false, previousValid: false };
}

const isRotation = (event: SessionEvent) => event.type === 'server.conn' && !event.conn.secret;

export function applyStimulus(state: ModelState, stimulus: Stimulus): ModelState {
  let machine = state.machine;
  const events = stimulus.events(state);
  for (const event of events) [machine] = transition(sessionMachine, machine, event);
  // A rotation after a login with the current tokens leaves both sides with the same previous pair.
  const rotated = events.some(isRotation) ? { previousValid: true } : {};
  return { ...state, ...rotated, ...stimulus.after?.(state), machine };
}

export function worldOf(stimulus: Stimulus, state: ModelState): WorldAction {
  return typeof stimulus.world === 'function' ? stimulus.world(state) : stimulus.world;
}

const byName = new Map(STIMULI.map((s) => [s.name, s]));

export function stimulusNamed(name: string): Stimulus {
  const stimulus = byName.get(name);
  if (!stimulus) throw new Error(`no stimulus ${name}`);
  return stimulus;
}

/** xstate/graph traverses this: snapshots carry a ModelState, events are stimuli by name. */
export const modelLogic = fromTransition(
  (state: ModelState, event: { type: string }) => applyStimulus(state, stimulusNamed(event.type)),
  initialModelState,
);

/** What identifies a model state: where the machine is and the facts that change what comes next. */
export function serializeModelState(state: ModelState): string {
  const context = state.machine.context;
  return JSON.stringify({
    value: state.machine.value,
    credentials: context.credentials !== null,
    // Whether the previous pair would be taken is left out: it only narrows which stimuli apply, and
    // keeping it would triple the states with credentials (xstate/graph keeps the first path to each).
    previous: hasPrevious(state),
    qrIndex: inState(state, 'online.qr') ? context.qrIndex : null,
    retried405: context.retriedAfter405,
    pingDropped: state.pingDropped,
    otherHolds: state.otherHolds,
  });
}

export function applicableStimuli(state: ModelState): { type: string }[] {
  return STIMULI.filter((s) => s.applies(state)).map((s) => ({ type: s.name }));
}

export function qrTextFor(ref: string): string {
  return buildQrText({ ref, publicKey: MODEL_INPUT.keyPair.publicKey, clientId: MODEL_INPUT.clientId });
}
