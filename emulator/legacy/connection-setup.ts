// The connection machine's base (connection-machine.ts puts it together): its vocabulary, the steps and
// effects the socket supplies (socket-bindings.ts), and the helpers every region uses. Each region
// (connection-init.ts, connection-login.ts, connection-online.ts) extends this setup with its own guards
// and assignments (XState's `setup().extend()`), the way machines/legacy/ is split.
import { assertEvent, assign, fromCallback, setup } from 'xstate';
import type {
  AdminRequest,
  ChallengeAnswerRequest,
  ConnectionContext,
  ConnectionEvent,
  ConnectionInput,
  LoginRequest,
  StepInput,
} from './connection-types.ts';

export type Answer = Record<string, unknown> | unknown[];

/** The pending request, which the state being left was entered with. */
export function requested<T extends AdminRequest['type']>(
  context: ConnectionContext,
  type: T,
): Extract<AdminRequest, { type: T }> {
  if (context.request?.type !== type)
    throw new Error(`connection machine: expected a pending ${type}, have ${context.request?.type}`);
  return context.request as Extract<AdminRequest, { type: T }>;
}

/** A guard over one event type (assertEvent picks its data). */
export function when<T extends ConnectionEvent['type']>(
  type: T,
  test: (event: Extract<ConnectionEvent, { type: T }>, context: ConnectionContext) => boolean,
) {
  return ({ context, event }: { context: ConnectionContext; event: ConnectionEvent }) => {
    assertEvent(event, type);
    return test(event as unknown as Extract<ConnectionEvent, { type: T }>, context);
  };
}

/** `clientToken serverToken` of a login: the same pair again is the same login. */
export function tokensOf(login: { clientToken: string; serverToken: string }): string {
  return `${login.clientToken} ${login.serverToken}`;
}

export const connectionSetup = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  actors: {
    // Supplied by socket-bindings.ts: each runs its step (the server's time, injected delay or close),
    // then reports what the server found (socket-steps.ts). `pause` reports `<STEP>_DONE`.
    checkInit: fromCallback<ConnectionEvent, StepInput>(() => undefined),
    checkReref: fromCallback<ConnectionEvent, StepInput>(() => undefined),
    checkLogin: fromCallback<ConnectionEvent, StepInput & { login: LoginRequest }>(() => undefined),
    checkChallenge: fromCallback<ConnectionEvent, StepInput & { answer: ChallengeAnswerRequest }>(
      () => undefined,
    ),
    pause: fromCallback<ConnectionEvent, StepInput>(() => undefined),
  },
  actions: {
    // Effects supplied by socket-bindings.ts.
    /** Answers the pending request's tag. */
    answerRequest: (_, _params: { body: Answer }) => undefined,
    /** Answers the tag of the frame being handled (no request is pending for it). */
    answerFrame: (_, _params: { body: Answer }) => undefined,
    /** Answers the tag of the login a passed challenge was for (noted as a login's answer, like below). */
    answerChallengedLogin: (_, _params: { body: Answer }) => undefined,
    /** The pending login was answered just now: the same login arriving after this is a re-send (§2.5). */
    noteLoginAnswered: () => undefined,
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
  },
});

/** Answers the pending request with `body`. */
export const answer = (body: Answer) => ({ type: 'answerRequest' as const, params: { body } });
/** Answers the frame being handled (nothing is pending for it) with `body`. */
export const answerFrame = (body: Answer) => ({ type: 'answerFrame' as const, params: { body } });
/** Answers the pending request with the status a fault forced (a forced 403 says `tos: 0`). */
export const answerForced = {
  type: 'answerRequest' as const,
  params: ({ event }: { event: ConnectionEvent }) => {
    const forced = 'forced' in event ? event.forced : null;
    return { body: forced === 403 ? { status: 403, tos: 0 } : { status: forced } };
  },
};
/** Answers the pending login with `body` and notes that its answer went out (§2.5: a re-send after it). */
export const answerLogin = (body: Answer) => [answer(body), 'noteLoginAnswered' as const];
/** Answers the pending login with the status a fault forced, and notes it like answerLogin. */
export const answerLoginForced = [answerForced, 'noteLoginAnswered' as const];
export const close = (reason: string, code: number) => ({
  type: 'closeSocket' as const,
  params: { reason, code },
});
/** Closes on a frame that is no frame, with its reason (1002: a protocol error). */
export const closeMalformed = {
  type: 'closeSocket' as const,
  params: ({ event }: { event: ConnectionEvent }) => {
    assertEvent(event, 'MALFORMED');
    return { reason: event.reason, code: 1002 };
  },
};
