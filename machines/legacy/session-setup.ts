// What every region of the session machine shares: its types and tags, the effects actors/ supplies
// (the socket, the credential store, the media queue), and the bookkeeping of how a session ends.
// Each region extends this setup with its own actions, guards and delays (XState's `setup().extend()`),
// one after the other: qr.ts → login.ts → connect.ts (init's answer leads to a QR code or a login) →
// ready.ts → offline.ts; session.ts assembles them.
import { assertEvent, assign, enqueueActions, fromCallback, setup } from 'xstate';
import type { MediaReference } from '../../codec/index.ts';
import type { SessionKeys } from '../../crypto/index.ts';
import type { SessionTag } from '../session-tags.ts';
import type {
  ConnInfo,
  Credentials,
  FailureReason,
  SessionContext,
  SessionEmitted,
  SessionEvent,
  SessionInput,
  SessionTiming,
  SocketCommand,
  TokenPair,
} from './session-types.ts';
import { MAX_TIMER_MS } from './session-types.ts';

/** What the socket actor is started with: the keys when the session already has them. */
export interface SocketActorInput {
  keys: SessionKeys | null;
}

/** A media message the session hands to the queue. */
export interface MediaItem {
  media: MediaReference;
  messageId: string;
  chat: string;
}

function tokensOf(source: TokenPair): TokenPair {
  return {
    clientToken: source.clientToken,
    serverToken: source.serverToken,
    browserToken: source.browserToken,
  };
}

function sameTokens(a: TokenPair, b: TokenPair): boolean {
  return a.clientToken === b.clientToken && a.serverToken === b.serverToken;
}

/**
 * A rotation (docs/protocol.md §2.5): the Conn's tokens become the current ones, and the ones they replace
 * are kept as `previous` until a login with the new ones succeeds (that login's own Conn replaces them).
 * The account stays the one paired: a Conn does not move the session to another wid.
 */
function withTokens(credentials: Credentials, conn: ConnInfo): Credentials {
  if (sameTokens(credentials, conn)) return credentials;
  return { ...credentials, ...tokensOf(conn), previous: tokensOf(credentials) };
}

/** A delay as a timer can hold it: never negative, never past MAX_TIMER_MS (which would fire at once). */
export function timer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(0, ms)) : MAX_TIMER_MS;
}

export const sessionSetup = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    emitted: {} as SessionEmitted,
    tags: {} as SessionTag,
  },
  actors: {
    // Supplied by actors/legacy/socket.ts: opens the WebSocket, reports SocketEvents, obeys SocketCommands.
    socket: fromCallback<SocketCommand, SocketActorInput>(() => undefined),
  },
  actions: {
    // Effects supplied by actors/: persisting and forgetting credentials, handing media to a queue.
    storeCredentials: (_, _params: { credentials: Credentials }) => undefined,
    clearCredentials: (_, _params: { reason: FailureReason }) => undefined,
    enqueueMedia: (_, _params: { items: MediaItem[] }) => undefined,

    /** The reason the end state will carry. */
    setFailure: assign((_, params: { reason: FailureReason }) => ({ failure: params.reason })),
    /** Leaving an end state: no reason any more. */
    clearFailure: assign({ failure: null, retriedAfter405: false }),
    /** The credentials are gone from the context (the store forgets them in clearCredentials). */
    dropCredentials: enqueueActions(({ enqueue }, params: { reason: FailureReason }) => {
      enqueue.assign({ credentials: null });
      enqueue.emit({ type: 'credentials.cleared', reason: params.reason });
    }),
    noteReason: assign((_, params: { reason: string }) => ({ lastDisconnect: params.reason })),
    /** A waiting state's deadline passed: why the socket is given up. */
    noteSilence: assign(({ context }, params: { what: string; deadline: keyof SessionTiming }) => ({
      lastDisconnect: `the server left ${params.what} unanswered for ${context.timing[params.deadline] / 1000} s`,
    })),
    /** A Conn push rotates the tokens (docs/protocol.md §2.3, §2.5): kept, then stored. */
    adoptTokens: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.conn');
      if (!context.credentials) return;
      const credentials = withTokens(context.credentials, event.conn);
      enqueue.assign({ credentials });
      enqueue.emit({ type: 'credentials.updated', wid: credentials.wid });
    }),
    countDroppedFrame: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.frameDropped');
      const count = context.droppedFrames + 1;
      enqueue.assign({ droppedFrames: count });
      enqueue.emit({ type: 'frame.dropped', code: event.code, reason: event.reason, count });
    }),
  },
  guards: {
    restoring: ({ context }) => context.credentials !== null,
    status: ({ event }, params: { status: number }) => {
      assertEvent(event, ['reref.result', 'login.result', 'challenge.result']);
      return event.status === params.status;
    },
  },
});

/** The action that gives the end state its reason. */
export function fail(reason: FailureReason) {
  return { type: 'setFailure', params: { reason } } as const;
}

/** The actions that forget the credentials, here and in the store: the session has to pair anew. */
export function forget(reason: FailureReason) {
  return [
    { type: 'dropCredentials', params: { reason } },
    { type: 'clearCredentials', params: { reason } },
  ] as const;
}

/** Persist what the context holds now (after the assign that updated it). */
export const STORE_CREDENTIALS = {
  type: 'storeCredentials',
  params: ({ context }: { context: SessionContext }) => ({ credentials: context.credentials! }),
} as const;

/** Tokens rotated by a Conn push, kept and stored wherever it arrives once the session has keys. */
export const ADOPT_TOKENS = { actions: ['adoptTokens', STORE_CREDENTIALS] } as const;

/** A waiting state's deadline (SessionTiming `deadline`) passed: a new socket, after the backoff. */
export function silence(what: string, deadline: keyof SessionTiming) {
  return {
    target: '#session.reconnecting',
    actions: { type: 'noteSilence', params: { what, deadline } },
  } as const;
}

/** A frame that could not be read is counted and reported; the session carries on. */
export const COUNT_DROPPED_FRAME = { actions: 'countDroppedFrame' } as const;

/** How a user's logout ends, from whichever state it is asked in: the session is forgotten (§2.7). */
export const LOGGED_OUT_ACTIONS = [fail('loggedOut'), ...forget('loggedOut')] as const;
export const LOGGED_OUT = { target: '#session.loggedOut', actions: LOGGED_OUT_ACTIONS } as const;
