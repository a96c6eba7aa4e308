// The server's side of one legacy WebSocket (docs/protocol.md part 2) as a statechart. Every answer the
// emulator gives is chosen here, by guards over the request, this connection's own state and the facts
// the server looked up after the request's step:
//   awaitingInit → checkingInit → refIssued ⇄ rotatingRef; a scan: refIssued → pairing → authenticated;
//   a login: loggingIn → [challenged → checkingChallenge →] authenticated, or loginRefused → back;
//   a logout: loggingOut → closed; a closed, replaced or unlinked socket: → closed.
// Pure: no socket, no timer. The connection (connection.ts) supplies the effects named in setup()
// (answers, pushes, the hub's bookkeeping) and the steps (`checkInit`, `pause`, …), where the faults
// of faults.ts delay or close the socket. States tagged `busy` are working on a request; the connection
// hands over its next frame only when none is.
import { assertEvent, assign, fromCallback, setup } from 'xstate';
import { challengeAnswer, constantTimeEqual, fromBase64 } from '../../crypto/index.ts';
import type {
  AdminRequest,
  ChallengeAnswerRequest,
  ConnectionContext,
  ConnectionEvent,
  ConnectionInput,
  LoginRequest,
  StepInput,
} from './connection-types.ts';

export const MAX_REREFS = 5;
/** Versions older than this get `["Cmd",{"type":"update"}]` instead of a ref. */
const MIN_CLIENT_VERSION: readonly number[] = [0, 3, 0];

type Answer = Record<string, unknown> | unknown[];

function olderThan(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    if ((version[i] ?? 0) !== minimum[i]) return (version[i] ?? 0) < minimum[i]!;
  }
  return false;
}

/** The pending request, which the state being left was entered with. */
function requested<T extends AdminRequest['type']>(
  context: ConnectionContext,
  type: T,
): Extract<AdminRequest, { type: T }> {
  if (context.request?.type !== type)
    throw new Error(`connection machine: expected a pending ${type}, have ${context.request?.type}`);
  return context.request as Extract<AdminRequest, { type: T }>;
}

/** A guard over one event type (assertEvent picks its data). */
function when<T extends ConnectionEvent['type']>(
  type: T,
  test: (event: Extract<ConnectionEvent, { type: T }>, context: ConnectionContext) => boolean,
) {
  return ({ context, event }: { context: ConnectionContext; event: ConnectionEvent }) => {
    assertEvent(event, type);
    return test(event as unknown as Extract<ConnectionEvent, { type: T }>, context);
  };
}

function tokensOf(login: { clientToken: string; serverToken: string }): string {
  return `${login.clientToken} ${login.serverToken}`;
}

const connectionSetup = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    // Supplied by connection.ts: each runs its step (injected delay or close), then reports what the
    // server found. `pause` reports `<STEP>_DONE`.
    checkInit: fromCallback<ConnectionEvent, StepInput>(() => undefined),
    checkReref: fromCallback<ConnectionEvent, StepInput>(() => undefined),
    checkLogin: fromCallback<ConnectionEvent, StepInput & { login: LoginRequest }>(() => undefined),
    checkChallenge: fromCallback<ConnectionEvent, StepInput & { answer: ChallengeAnswerRequest }>(
      () => undefined,
    ),
    pause: fromCallback<ConnectionEvent, StepInput>(() => undefined),
  },
  actions: {
    // Effects supplied by connection.ts.
    /** Answers the pending request's tag. */
    answerRequest: (_, _params: { body: Answer }) => undefined,
    /** Answers the tag of the frame being handled (no request is pending for it). */
    answerFrame: (_, _params: { body: Answer }) => undefined,
    /** Answers the tag of the login a passed challenge was for. */
    answerChallengedLogin: (_, _params: { body: Answer }) => undefined,
    /** The init answer: status 200, the ref and its ttl. */
    answerInit: () => undefined,
    /** A reref's answer: status 200 with the new ref. */
    answerRef: () => undefined,
    registerRef: () => undefined,
    retireRef: () => undefined,
    pushUpgrade: () => undefined,
    /** Records the scanned browser (with fresh tokens) and makes this socket its holder. */
    linkBrowser: () => undefined,
    /** Makes this socket the browser's holder, counts the login and rotates the browser's tokens. */
    resumeSession: () => undefined,
    /** Conn with the browser's tokens; after a scan also the ref and the pairing secret. */
    pushConn: (_, _params: { pairing: boolean }) => undefined,
    pushStreamAndProps: () => undefined,
    /** The contact and chat lists, pushed unasked (`preempt-…` tags, docs/protocol.md §3). */
    pushPreempt: () => undefined,
    pushChallenge: () => undefined,
    consumeChallengeFault: () => undefined,
    deliverPending: () => undefined,
    forgetBrowser: () => undefined,
    answerBinary: () => undefined,
    pushDisconnect: (_, _params: { kind: 'replaced' | null }) => undefined,
    closeSocket: (_, _params: { reason: string; code: number }) => undefined,

    takeRequest: assign({
      request: ({ event }) => {
        assertEvent(event, ['INIT', 'REREF', 'LOGIN', 'CHALLENGE_ANSWER', 'LOGOUT']);
        return event;
      },
    }),
    takeScan: assign({
      scan: ({ event }) => {
        assertEvent(event, 'SCANNED');
        return event;
      },
    }),
    acceptInit: assign(({ context, event }) => {
      assertEvent(event, 'INIT_CHECKED');
      const init = requested(context, 'INIT');
      return { clientId: init.clientId, description: init.description, ref: event.ref, initialized: true };
    }),
    takeNewRef: assign(({ context, event }) => {
      assertEvent(event, 'REREF_CHECKED');
      return { ref: event.ref, rerefs: context.rerefs + 1 };
    }),
    holdScannedBrowser: assign({
      session: ({ context }) => {
        const scan = context.scan!;
        return { clientId: context.clientId!, phoneNumber: scan.phoneNumber, keys: scan.keys };
      },
    }),
    rememberChallenge: assign(({ context, event }) => {
      assertEvent(event, 'LOGIN_CHECKED');
      const login = requested(context, 'LOGIN');
      return {
        clientId: login.clientId,
        loginTokens: tokensOf(login),
        challenge: { bytes: event.challenge, mode: login.mode },
        challengedLoginTag: login.tag,
      };
    }),
    holdLoggedInBrowser: assign(({ context, event }) => {
      assertEvent(event, 'LOGIN_CHECKED');
      const login = requested(context, 'LOGIN');
      const { phoneNumber, keys } = event.browser!;
      return {
        clientId: login.clientId,
        loginTokens: tokensOf(login),
        session: { clientId: login.clientId, phoneNumber, keys },
      };
    }),
    holdChallengedBrowser: assign(({ context, event }) => {
      assertEvent(event, 'CHALLENGE_CHECKED');
      const { phoneNumber, keys } = event.browser!;
      return { session: { clientId: context.clientId!, phoneNumber, keys } };
    }),
    dropChallenge: assign({ challenge: null }),
  },
  guards: {
    // init (docs/protocol.md §2.1)
    clientOutdated: ({ context }) => olderThan(requested(context, 'INIT').version, MIN_CLIENT_VERSION),
    updateForced: when('INIT_CHECKED', (e) => e.forced === 'update'),
    initRefused: when('INIT_CHECKED', (e) => typeof e.forced === 'number'),
    // reref (§2.2): five per socket; a ref younger than half its ttl is kept (304)
    rerefForcedRefusal: when('REREF_CHECKED', (e) => e.forced !== null && e.forced !== 200),
    rerefsSpent: ({ context }) => context.rerefs >= MAX_REREFS,
    refStillYoung: when(
      'REREF_CHECKED',
      (e, c) => e.forced === null && c.ref !== null && c.ref.expiresAt - e.now > c.refTtlMs / 2,
    ),
    // scan (§2.3)
    phoneMultiDevice: when('SCANNED', (e) => e.multiDevice),
    // login (§2.5)
    loginForced: when('LOGIN_CHECKED', (e) => e.forced !== null),
    browserUnknown: when('LOGIN_CHECKED', (e) => e.browser === null),
    accountBlocked: when('LOGIN_CHECKED', (e) => e.browser?.tosBlocked === true),
    tokensUnknown: when('LOGIN_CHECKED', (e) => e.browser?.tokens === 'unknown'),
    reconnectWhileHeld: when(
      'LOGIN_CHECKED',
      (e, c) => e.heldElsewhere && requested(c, 'LOGIN').mode === 'reconnect',
    ),
    tokensStale: when('LOGIN_CHECKED', (e) => e.browser?.tokens === 'stale'),
    challengeForced: when('LOGIN_CHECKED', (e) => e.challengeForced),
    sameLogin: when('LOGIN', (e, c) => c.loginTokens === tokensOf(e)),
    /** The same login again, sent after its answer went out: the client lost that answer. */
    sameLoginAnswerLost: when('LOGIN', (e, c) => c.loginTokens === tokensOf(e) && e.afterAnswer === true),
    initialized: ({ context }) => context.initialized,
    // challenge (§2.5)
    answersOwnChallenge: when('CHALLENGE_ANSWER', (e, c) => e.clientId === c.clientId),
    challengeStatusForced: when('CHALLENGE_CHECKED', (e) => e.forced !== null),
    challengeAnswerWrong: when('CHALLENGE_CHECKED', (e, c) => {
      if (!e.browser || !c.challenge) return true;
      let answer: Uint8Array = new Uint8Array(0);
      try {
        answer = fromBase64(requested(c, 'CHALLENGE_ANSWER').answer);
      } catch {
        // A malformed answer is simply a wrong one.
      }
      return !constantTimeEqual(answer, challengeAnswer(e.browser.keys.macKey, c.challenge.bytes));
    }),
    reconnectWhileHeldAfterChallenge: when(
      'CHALLENGE_CHECKED',
      (e, c) => e.heldElsewhere && c.challenge?.mode === 'reconnect',
    ),
    // logout (§2.7)
    holdsSession: ({ context }) => context.session !== null,
  },
});

/** Answers the pending request with `body`. */
const answer = (body: Answer) => ({ type: 'answerRequest' as const, params: { body } });
/** Answers the frame being handled (nothing is pending for it) with `body`. */
const answerFrame = (body: Answer) => ({ type: 'answerFrame' as const, params: { body } });
/** Answers the pending request with the status a fault forced (a forced 403 says `tos: 0`). */
const answerForced = {
  type: 'answerRequest' as const,
  params: ({ event }: { event: ConnectionEvent }) => {
    const forced = 'forced' in event ? event.forced : null;
    return { body: forced === 403 ? { status: 403, tos: 0 } : { status: forced } };
  },
};
const close = (reason: string, code: number) => ({ type: 'closeSocket' as const, params: { reason, code } });

export const connectionMachine = connectionSetup.createMachine({
  id: 'emulatorConnection',
  initial: 'awaitingInit',
  context: ({ input }) => ({
    refTtlMs: input?.refTtlMs ?? 20_000,
    rerefs: 0,
    initialized: false,
    clientId: null,
    description: [],
    ref: null,
    request: null,
    scan: null,
    session: null,
    loginTokens: null,
    challenge: null,
    challengedLoginTag: null,
  }),
  // What no state below takes: a request out of turn gets 400, a binary frame before keys closes.
  on: {
    INIT: { actions: answerFrame({ status: 400 }) },
    REREF: { actions: answerFrame({ status: 400 }) },
    CHALLENGE_ANSWER: { actions: answerFrame({ status: 400 }) },
    TEST: { actions: answerFrame(['Pong', false]) },
    LOGOUT: { target: '.loggingOut', actions: 'takeRequest' },
    BINARY: {
      target: '.closed',
      actions: close('binary frame before keys exist', 1008),
    },
    REPLACED: {
      target: '.closed',
      actions: [
        { type: 'pushDisconnect', params: { kind: 'replaced' } },
        close('replaced by another browser', 1000),
      ],
    },
    UNLINKED: {
      target: '.closed',
      actions: [{ type: 'pushDisconnect', params: { kind: null } }, close('unlinked by the phone', 1000)],
    },
    CLOSE: '.closed',
  },
  states: {
    awaitingInit: {
      on: {
        INIT: { target: 'checkingInit', actions: 'takeRequest' },
        LOGIN: { target: 'loggingIn', actions: 'takeRequest' },
      },
    },
    checkingInit: {
      tags: 'busy',
      invoke: { src: 'checkInit', input: { step: 'init' } },
      on: {
        INIT_CHECKED: [
          { guard: 'clientOutdated', target: 'awaitingInit', actions: answer(['Cmd', { type: 'update' }]) },
          { guard: 'updateForced', target: 'awaitingInit', actions: answer(['Cmd', { type: 'update' }]) },
          {
            guard: 'initRefused',
            target: 'awaitingInit',
            actions: answerForced,
          },
          { target: 'refIssued', actions: ['acceptInit', 'registerRef', 'answerInit'] },
        ],
      },
    },
    refIssued: {
      tags: 'scannable',
      on: {
        REREF: { target: 'rotatingRef', actions: 'takeRequest' },
        SCANNED: [
          { guard: 'phoneMultiDevice', actions: 'pushUpgrade' },
          { target: 'pairing', actions: 'takeScan' },
        ],
        LOGIN: { target: 'loggingIn', actions: 'takeRequest' },
      },
    },
    rotatingRef: {
      tags: 'busy',
      invoke: { src: 'checkReref', input: { step: 'reref' } },
      on: {
        REREF_CHECKED: [
          {
            guard: 'rerefForcedRefusal',
            target: 'refIssued',
            actions: answerForced,
          },
          {
            guard: 'rerefsSpent',
            target: 'refIssued',
            actions: answer({ status: 429 }),
          },
          {
            guard: 'refStillYoung',
            target: 'refIssued',
            actions: answer({ status: 304 }),
          },
          { target: 'refIssued', actions: ['retireRef', 'takeNewRef', 'registerRef', 'answerRef'] },
        ],
      },
    },
    pairing: {
      tags: 'busy',
      invoke: { src: 'pause', input: { step: 'scan' } },
      on: {
        SCAN_DONE: {
          target: 'authenticated.streaming',
          actions: ['holdScannedBrowser', 'linkBrowser', { type: 'pushConn', params: { pairing: true } }],
        },
      },
    },
    loggingIn: {
      tags: 'busy',
      invoke: {
        src: 'checkLogin',
        input: ({ context }) => ({ step: 'login' as const, login: requested(context, 'LOGIN') }),
      },
      on: {
        LOGIN_CHECKED: [
          {
            guard: 'loginForced',
            target: 'loginRefused',
            actions: answerForced,
          },
          {
            guard: 'browserUnknown',
            target: 'loginRefused',
            actions: answer({ status: 401 }),
          },
          {
            guard: 'accountBlocked',
            target: 'loginRefused',
            actions: answer({ status: 403, tos: 2 }),
          },
          {
            guard: 'tokensUnknown',
            target: 'loginRefused',
            actions: answer({ status: 401 }),
          },
          {
            guard: 'reconnectWhileHeld',
            target: 'loginRefused',
            actions: answer({ status: 409 }),
          },
          { guard: 'tokensStale', target: 'challenged', actions: ['rememberChallenge', 'pushChallenge'] },
          {
            guard: 'challengeForced',
            target: 'challenged',
            actions: ['consumeChallengeFault', 'rememberChallenge', 'pushChallenge'],
          },
          {
            target: 'confirmingLogin',
            actions: [
              'holdLoggedInBrowser',
              'resumeSession',
              'retireRef',
              { type: 'pushConn', params: { pairing: false } },
            ],
          },
        ],
      },
    },
    /** The Conn push went out; the login's own answer follows the conn step. */
    confirmingLogin: {
      tags: 'busy',
      invoke: { src: 'pause', input: { step: 'conn' } },
      on: {
        CONN_DONE: { target: 'authenticated.delivering', actions: answer({ status: 200 }) },
      },
    },
    challenged: {
      on: {
        // docs/protocol.md §2.5: the client re-sends its login while it waits; it is answered once.
        LOGIN: {},
        CHALLENGE_ANSWER: [
          { guard: 'answersOwnChallenge', target: 'checkingChallenge', actions: 'takeRequest' },
          { actions: answerFrame({ status: 400 }) },
        ],
      },
    },
    checkingChallenge: {
      tags: 'busy',
      invoke: {
        src: 'checkChallenge',
        input: ({ context }) => ({
          step: 'challenge' as const,
          answer: requested(context, 'CHALLENGE_ANSWER'),
        }),
      },
      exit: 'dropChallenge',
      on: {
        CHALLENGE_CHECKED: [
          {
            guard: 'challengeStatusForced',
            target: 'loginRefused',
            actions: answerForced,
          },
          {
            guard: 'challengeAnswerWrong',
            target: 'loginRefused',
            actions: answer({ status: 401 }),
          },
          {
            guard: 'reconnectWhileHeldAfterChallenge',
            target: 'loginRefused',
            actions: answer({ status: 409 }),
          },
          {
            target: 'authenticated.delivering',
            actions: [
              answer({ status: 200 }),
              'holdChallengedBrowser',
              'resumeSession',
              'retireRef',
              { type: 'pushConn', params: { pairing: false } },
              // The login that was challenged gets its answer too.
              { type: 'answerChallengedLogin', params: { body: { status: 200 } } },
            ],
          },
        ],
      },
    },
    /** The refusal was answered: back to the QR when init gave this socket one. */
    loginRefused: {
      always: [{ guard: 'initialized', target: 'refIssued' }, { target: 'awaitingInit' }],
    },
    authenticated: {
      tags: 'authenticated',
      // Every way in names its first step (streaming after a scan, delivering after a login).
      initial: 'delivering',
      on: {
        // The login that passed, re-sent after its answer went out (the client lost it): answered again as
        // the first one was, Conn with the browser's tokens and then 200, without another rotation. One that
        // arrived while the first was being worked on is the same request: answered once.
        LOGIN: [
          {
            guard: 'sameLoginAnswerLost',
            actions: [{ type: 'pushConn', params: { pairing: false } }, answerFrame({ status: 200 })],
          },
          { guard: 'sameLogin' },
          { actions: answerFrame({ status: 405 }) },
        ],
        TEST: { actions: answerFrame(['Pong', true]) },
        BINARY: { actions: 'answerBinary' },
      },
      states: {
        /** Paired: Conn went out; Stream and Props follow the conn step. */
        streaming: {
          tags: 'busy',
          invoke: { src: 'pause', input: { step: 'conn' } },
          on: { CONN_DONE: { target: 'delivering', actions: 'pushStreamAndProps' } },
        },
        /** The contact and chat lists, then messages that waited for this browser, after the ready step. */
        delivering: {
          tags: 'busy',
          invoke: { src: 'pause', input: { step: 'ready' } },
          on: { READY_DONE: { target: 'online', actions: ['pushPreempt', 'deliverPending'] } },
        },
        online: {},
      },
    },
    loggingOut: {
      tags: 'busy',
      invoke: { src: 'pause', input: { step: 'logout' } },
      on: {
        LOGOUT_DONE: [
          {
            guard: 'holdsSession',
            target: 'closed',
            actions: ['forgetBrowser', answer({ status: 200 }), close('logged out', 1000)],
          },
          { target: 'closed', actions: [answer({ status: 200 }), close('logged out', 1000)] },
        ],
      },
    },
    closed: { type: 'final' },
  },
});
