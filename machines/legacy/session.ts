// The session: docs/protocol.md part 2 as a statechart. Pure: the socket, the credential store and the
// media enqueuer are named here and supplied by actors/ (machine.provide swaps them in tests); every
// timer is an XState delay, so SimulatedClock drives time.
import { assign, emit, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import { buildQrText, type MediaReference, summarizeMessage } from '../../codec/index.ts';
import { challengeAnswer, deriveSessionKeys, fromBase64, type SessionKeys } from '../../crypto/index.ts';
import {
  type ConnInfo,
  type Credentials,
  DEFAULT_TIMING,
  type FailureReason,
  type SessionContext,
  type SessionEmitted,
  type SessionEvent,
  type SessionInput,
  type SocketCommand,
} from './session-types.ts';

/** What the socket actor is started with: the keys when the session already has them. */
export interface SocketActorInput {
  keys: SessionKeys | null;
}

const DEFAULT_DESCRIPTION = ['walink', 'Node.js', '0.1.0'];

/** Events that prove the socket is alive: any of them resets the keep-alive. */
const INBOUND_ACTIVITY = [
  'ACTIVITY',
  'CONN',
  'PHONE_PONG',
  'STREAM',
  'MESSAGES',
  'RECEIPTS',
  'CONTACTS',
  'CHATS',
  'NODE',
  'MESSAGE_ACK',
  'FRAME_DROPPED',
] as const;

function keysOf(credentials: Credentials | null): SessionKeys | null {
  return credentials ? { encKey: credentials.encKey, macKey: credentials.macKey } : null;
}

function withTokens(credentials: Credentials, conn: ConnInfo): Credentials {
  return {
    ...credentials,
    clientToken: conn.clientToken,
    serverToken: conn.serverToken,
    browserToken: conn.browserToken,
    wid: conn.wid || credentials.wid,
  };
}

/** Keys from the pairing secret (docs/protocol.md §2.4), or null when the secret is malformed or forged. */
function pairingKeys(privateKey: Uint8Array, secret: string | undefined): SessionKeys | null {
  if (!secret) return null;
  try {
    return deriveSessionKeys(privateKey, fromBase64(secret));
  } catch {
    return null;
  }
}

/** A media message the session hands to the queue. */
export interface MediaItem {
  media: MediaReference;
  messageId: string;
  chat: string;
}

/** Media of incoming (not our own) messages in a MESSAGES event. */
export function mediaItems(event: SessionEvent): MediaItem[] {
  if (event.type !== 'MESSAGES') return [];
  const items: MediaItem[] = [];
  for (const info of event.messages) {
    const message = summarizeMessage(info);
    if (message.media && !message.fromMe)
      items.push({ media: message.media, messageId: message.id, chat: message.chat });
  }
  return items;
}

/** Exponential backoff with "equal jitter": between half and all of base·2^attempt, capped. */
export function backoffDelay(context: Pick<SessionContext, 'timing' | 'random'>, attempt: number): number {
  const { backoffBase, backoffMax } = context.timing;
  const ceiling = Math.min(backoffMax, backoffBase * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * context.random());
}

const setupSession = setup({
  types: {
    context: {} as SessionContext & { backoff: number },
    events: {} as SessionEvent,
    input: {} as SessionInput,
    emitted: {} as SessionEmitted,
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

    sendInit: sendTo(
      'socket',
      ({ context }): SocketCommand => ({
        type: 'send.init',
        clientId: context.clientId,
        description: context.description,
      }),
    ),
    sendLoginIfRestoring: enqueueActions(({ context, enqueue }) => {
      if (!context.credentials) return;
      const command: SocketCommand = {
        type: 'send.login',
        credentials: context.credentials,
        mode: context.loginMode,
      };
      enqueue.sendTo('socket', command);
    }),
    resendLogin: sendTo('socket', { type: 'send.loginAgain' } satisfies SocketCommand),
    sendReref: sendTo('socket', { type: 'send.reref' } satisfies SocketCommand),
    sendPing: sendTo('socket', { type: 'send.ping' } satisfies SocketCommand),
    sendPhoneTest: sendTo('socket', { type: 'send.phoneTest' } satisfies SocketCommand),
    sendGoodbye: sendTo('socket', { type: 'send.goodbye' } satisfies SocketCommand),
    sendInitialQueries: sendTo('socket', { type: 'send.initialQueries' } satisfies SocketCommand),
    answerChallenge: sendTo('socket', ({ context, event }): SocketCommand => {
      const credentials = context.credentials!;
      const challenge = event.type === 'CHALLENGE' ? event.challenge : new Uint8Array(32);
      return {
        type: 'send.challenge',
        answer: challengeAnswer(credentials.macKey, challenge),
        serverToken: credentials.serverToken,
        clientId: credentials.clientId,
      };
    }),
    sendText: sendTo('socket', ({ event }): SocketCommand => {
      if (event.type !== 'SEND_TEXT') throw new Error('sendText runs on SEND_TEXT');
      return { type: 'send.text', jid: event.jid, text: event.text, id: event.id };
    }),

    rememberRef: assign(({ event, context }) => {
      if (event.type === 'INIT_OK') return { ref: event.ref, ttl: event.ttl, qrIndex: 0 };
      if (event.type === 'REREF_RESULT' && event.ref)
        return { ref: event.ref, ttl: event.ttl ?? context.ttl, qrIndex: context.qrIndex + 1 };
      return {};
    }),
    emitQr: emit(
      ({ context }): SessionEmitted => ({
        type: 'qr',
        text: buildQrText({
          ref: context.ref!,
          publicKey: context.keyPair.publicKey,
          clientId: context.clientId,
        }),
        ref: context.ref!,
        ttl: context.ttl,
        index: context.qrIndex,
      }),
    ),
    rememberPairingConn: assign({
      pairingConn: ({ event }) => (event.type === 'CONN' ? event.conn : null),
    }),
    derivePairingKeys: assign({
      pairingKeys: ({ context }) => pairingKeys(context.keyPair.privateKey, context.pairingConn?.secret),
    }),
    adoptPairing: enqueueActions(({ context, enqueue }) => {
      const conn = context.pairingConn!;
      const keys = context.pairingKeys!;
      const credentials: Credentials = {
        clientId: context.clientId,
        clientToken: conn.clientToken,
        serverToken: conn.serverToken,
        browserToken: conn.browserToken,
        encKey: keys.encKey,
        macKey: keys.macKey,
        wid: conn.wid,
      };
      enqueue.assign({ credentials, pairingConn: null, pairingKeys: null });
      enqueue.sendTo('socket', { type: 'use.keys', keys } satisfies SocketCommand);
      enqueue.emit({ type: 'paired', wid: conn.wid });
    }),
    adoptTokens: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'CONN' || !context.credentials) return;
      const credentials = withTokens(context.credentials, event.conn);
      enqueue.assign({ credentials });
      enqueue.emit({ type: 'credentials.updated', wid: credentials.wid });
    }),
    dropCredentials: enqueueActions(({ enqueue }, params: { reason: FailureReason }) => {
      enqueue.assign({ credentials: null });
      enqueue.emit({ type: 'credentials.cleared', reason: params.reason });
    }),
    setFailure: assign((_, params: { reason: FailureReason }) => ({ failure: params.reason })),
    clearFailure: assign({ failure: null, retriedAfter405: false }),
    emitFailed: emit(
      ({ context }): SessionEmitted => ({ type: 'failed', reason: context.failure ?? 'badRequest' }),
    ),
    emitLoggedOut: emit(
      ({ context }): SessionEmitted => ({
        type: 'loggedOut',
        reason: context.failure ?? 'loggedOut',
      }),
    ),
    noteDisconnect: assign({
      lastDisconnect: ({ event }) =>
        event.type === 'SOCKET_CLOSED'
          ? `socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`
          : event.type,
    }),
    planReconnect: assign(({ context }) => ({
      reconnectAttempts: context.reconnectAttempts + 1,
      backoff: backoffDelay(context, context.reconnectAttempts),
    })),
    emitReconnecting: emit(
      ({ context }): SessionEmitted => ({
        type: 'reconnecting',
        attempt: context.reconnectAttempts,
        delay: context.backoff,
        reason: context.lastDisconnect,
      }),
    ),
    markReady: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ reconnectAttempts: 0, retriedAfter405: false });
      enqueue.emit({ type: 'ready', wid: context.credentials?.wid ?? '' });
    }),
    deliverMessages: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'MESSAGES') return;
      for (const info of event.messages) {
        const message = summarizeMessage(info);
        enqueue.emit({ type: 'message', message, add: event.add });
        if (message.media && !message.fromMe) enqueue.emit({ type: 'media', message, media: message.media });
      }
    }),
    deliverReceipts: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'RECEIPTS') return;
      for (const receipt of event.receipts) enqueue.emit({ type: 'receipt', receipt });
    }),
    deliverContacts: emit(
      ({ event }): SessionEmitted => ({
        type: 'contacts',
        contacts: event.type === 'CONTACTS' ? event.contacts : [],
      }),
    ),
    deliverChats: emit(
      ({ event }): SessionEmitted => ({
        type: 'chats',
        chats: event.type === 'CHATS' ? event.chats : [],
      }),
    ),
    deliverAck: emit(
      ({ event }): SessionEmitted =>
        event.type === 'MESSAGE_ACK'
          ? { type: 'message.ack', id: event.id, status: event.status, ...(event.t ? { t: event.t } : {}) }
          : { type: 'message.ack', id: '', status: 0 },
    ),
    countDroppedFrame: enqueueActions(({ context, event, enqueue }) => {
      const count = context.droppedFrames + 1;
      enqueue.assign({ droppedFrames: count });
      enqueue.emit({
        type: 'frame.dropped',
        reason: event.type === 'FRAME_DROPPED' ? event.reason : '',
        count,
      });
    }),
    notePhone: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'PHONE_PONG') {
        enqueue.assign({ phoneReachable: event.reachable });
        enqueue.emit({ type: 'phone', reachable: event.reachable });
      } else if (event.type === 'STREAM' && event.kind === 'asleep') {
        enqueue.assign({ phoneReachable: false });
        enqueue.emit({ type: 'phone', reachable: false, asleep: true });
      }
    }),
    noteReason: assign((_, params: { reason: string }) => ({ lastDisconnect: params.reason })),
    switchToTakeover: assign({ loginMode: 'takeover' as const }),
    mark405Retry: assign({ retriedAfter405: true, lastDisconnect: 'login answered 405: reconnecting once' }),
  },
  guards: {
    restoring: ({ context }) => context.credentials !== null,
    pairingKeysValid: ({ context }) => context.pairingKeys !== null,
    connCarriesSecret: ({ event }) => event.type === 'CONN' && typeof event.conn.secret === 'string',
    status: ({ event }, params: { status: number }) =>
      'status' in event && typeof event.status === 'number' && event.status === params.status,
    tosBlocked: ({ event }) => event.type === 'LOGIN_RESULT' && (event.tos ?? 0) >= 2,
    firstTimeFor405: ({ context }) => !context.retriedAfter405,
    rerefWithRef: ({ event }) => event.type === 'REREF_RESULT' && event.status === 200 && !!event.ref,
    kindReplaced: ({ event }) => event.type === 'DISCONNECT' && event.kind === 'replaced',
    initOutdated: ({ event }) => event.type === 'INIT_FAILED' && event.status === 'update',
    streamAsleep: ({ event }) => event.type === 'STREAM' && event.kind === 'asleep',
  },
  delays: {
    qrRefresh: ({ context }) => Math.max(0, context.ttl - context.timing.qrRefreshMargin),
    qrLifetime: ({ context }) => context.ttl,
    loginResend: ({ context }) => context.timing.loginResend,
    keepAliveIdle: ({ context }) => context.timing.keepAliveIdle,
    staleTimeout: ({ context }) => context.timing.staleTimeout,
    phoneCheck: ({ context }) => context.timing.phoneCheck,
    reconnectBackoff: ({ context }) => context.backoff,
    logoutTimeout: ({ context }) => context.timing.logoutTimeout,
  },
});

/** Persist what the context holds now (after the assign that updated it). */
const STORE_CREDENTIALS = {
  type: 'storeCredentials',
  params: ({ context }: { context: SessionContext }) => ({ credentials: context.credentials! }),
} as const;

/** Forget the credentials here and in the store. */
function forget(reason: FailureReason) {
  return [
    { type: 'dropCredentials', params: { reason } },
    { type: 'clearCredentials', params: { reason } },
  ] as const;
}

/** docs/protocol.md §2.5's login statuses, shared by initializing (an early answer) and loggingIn. */
const LOGIN_OUTCOMES = [
  { guard: { type: 'status', params: { status: 200 } }, target: '#session.online.ready' },
  {
    guard: { type: 'status', params: { status: 401 } },
    target: '#session.loggedOut',
    actions: [{ type: 'setFailure', params: { reason: 'removed' } }, ...forget('removed')],
  },
  {
    guard: { type: 'status', params: { status: 419 } },
    target: '#session.loggedOut',
    actions: [{ type: 'setFailure', params: { reason: 'tooOld' } }, ...forget('tooOld')],
  },
  {
    guard: 'tosBlocked',
    target: '#session.loggedOut',
    actions: { type: 'setFailure', params: { reason: 'tosBlocked' } },
  },
  {
    guard: { type: 'status', params: { status: 403 } },
    target: '#session.loggedOut',
    actions: { type: 'setFailure', params: { reason: 'denied' } },
  },
  {
    guard: { type: 'status', params: { status: 405 } },
    target: '#session.loggingInAgain',
  },
  {
    guard: { type: 'status', params: { status: 409 } },
    target: '#session.conflict',
    actions: { type: 'setFailure', params: { reason: 'replaced' } },
  },
  {
    guard: { type: 'status', params: { status: 500 } },
    target: '#session.reconnecting',
    actions: { type: 'noteReason', params: { reason: 'login answered 500' } },
  },
  { target: '#session.failed', actions: { type: 'setFailure', params: { reason: 'badRequest' } } },
] as const;

export const sessionMachine = setupSession.createMachine({
  id: 'session',
  context: ({ input }) => ({
    clientId: input.clientId,
    description: input.description ?? DEFAULT_DESCRIPTION,
    credentials: input.credentials,
    keyPair: input.keyPair,
    loginMode: input.loginMode ?? 'takeover',
    timing: { ...DEFAULT_TIMING, ...input.timing },
    random: input.random ?? Math.random,
    ref: null,
    ttl: 20_000,
    qrIndex: 0,
    pairingConn: null,
    pairingKeys: null,
    reconnectAttempts: 0,
    lastDisconnect: '',
    retriedAfter405: false,
    droppedFrames: 0,
    failure: null,
    phoneReachable: null,
    backoff: 0,
  }),
  initial: 'online',
  states: {
    online: {
      description: 'A socket is open (or opening); the protocol runs over it.',
      invoke: {
        id: 'socket',
        src: 'socket',
        input: ({ context }) => ({ keys: keysOf(context.credentials) }),
      },
      on: {
        SOCKET_CLOSED: { target: 'reconnecting', actions: 'noteDisconnect' },
        FRAME_DROPPED: { actions: 'countDroppedFrame' },
        DISCONNECT: [
          {
            guard: 'kindReplaced',
            target: 'conflict',
            actions: { type: 'setFailure', params: { reason: 'replaced' } },
          },
          {
            target: 'loggedOut',
            actions: [{ type: 'setFailure', params: { reason: 'unlinked' } }, ...forget('unlinked')],
          },
        ],
        UPGRADE_MD: {
          target: 'failed',
          actions: { type: 'setFailure', params: { reason: 'needsMultiDevice' } },
        },
        LOGOUT: {
          target: 'loggedOut',
          actions: [{ type: 'setFailure', params: { reason: 'loggedOut' } }, ...forget('loggedOut')],
        },
      },
      initial: 'connecting',
      states: {
        connecting: {
          description: 'Opening the WebSocket.',
          on: { SOCKET_OPEN: 'initializing' },
        },
        initializing: {
          description: 'init sent (and login right after it when restoring, docs/protocol.md §2.5).',
          entry: ['sendInit', 'sendLoginIfRestoring'],
          on: {
            INIT_OK: [
              { guard: 'restoring', target: 'loggingIn' },
              { target: 'qr', actions: 'rememberRef' },
            ],
            INIT_FAILED: [
              {
                guard: 'initOutdated',
                target: '#session.failed',
                actions: { type: 'setFailure', params: { reason: 'outdatedClient' } },
              },
              {
                target: '#session.failed',
                actions: { type: 'setFailure', params: { reason: 'initRefused' } },
              },
            ],
            // A server may answer the login before init; the outcome is the same.
            CONN: { guard: 'restoring', actions: ['adoptTokens', STORE_CREDENTIALS] },
            CHALLENGE: { guard: 'restoring', target: 'challenged' },
            LOGIN_RESULT: LOGIN_OUTCOMES,
          },
        },
        qr: {
          description: 'Showing QR codes until the phone scans one (docs/protocol.md §2.2).',
          initial: 'showing',
          on: {
            CONN: { guard: 'connCarriesSecret', target: 'pairing', actions: 'rememberPairingConn' },
          },
          states: {
            showing: {
              entry: 'emitQr',
              after: { qrRefresh: 'rerefing' },
            },
            rerefing: {
              entry: 'sendReref',
              on: {
                REREF_RESULT: [
                  { guard: 'rerefWithRef', target: 'showing', actions: 'rememberRef' },
                  { guard: { type: 'status', params: { status: 304 } }, target: 'kept' },
                  {
                    target: '#session.refsExhausted',
                    actions: { type: 'setFailure', params: { reason: 'refsExhausted' } },
                  },
                ],
              },
            },
            kept: {
              description: '304: the server keeps the current ref; no more rerefs on this socket.',
              after: {
                qrLifetime: {
                  target: '#session.refsExhausted',
                  actions: { type: 'setFailure', params: { reason: 'refsExhausted' } },
                },
              },
            },
          },
        },
        pairing: {
          description: 'Keys from the secret (docs/protocol.md §2.4); a forged secret never yields keys.',
          entry: 'derivePairingKeys',
          always: [
            { guard: 'pairingKeysValid', target: 'ready', actions: ['adoptPairing', STORE_CREDENTIALS] },
            { target: '#session.failed', actions: { type: 'setFailure', params: { reason: 'badSecret' } } },
          ],
        },
        loggingIn: {
          description: 'Restoring with login (takeover or reconnect); re-sent while unanswered.',
          after: { loginResend: { target: 'loggingIn', reenter: true, actions: 'resendLogin' } },
          on: {
            CONN: { actions: ['adoptTokens', STORE_CREDENTIALS] },
            CHALLENGE: 'challenged',
            LOGIN_RESULT: LOGIN_OUTCOMES,
          },
        },
        challenged: {
          description: 'The server challenged stale tokens; answered with HMAC(macKey, challenge).',
          entry: 'answerChallenge',
          on: {
            CHALLENGE_RESULT: [
              { guard: { type: 'status', params: { status: 200 } }, target: 'ready' },
              {
                guard: { type: 'status', params: { status: 409 } },
                target: '#session.conflict',
                actions: { type: 'setFailure', params: { reason: 'replaced' } },
              },
              {
                target: '#session.failed',
                actions: { type: 'setFailure', params: { reason: 'challengeFailed' } },
              },
            ],
            CONN: { actions: ['adoptTokens', STORE_CREDENTIALS] },
          },
        },
        ready: {
          description: 'Logged in: the frame stream is verified, decrypted and decoded.',
          type: 'parallel',
          entry: ['markReady', 'sendInitialQueries'],
          on: {
            SEND_TEXT: { actions: 'sendText' },
            LOGOUT: '#session.online.loggingOut',
          },
          states: {
            stream: {
              initial: 'receiving',
              states: {
                receiving: {
                  on: {
                    CONN: { actions: ['adoptTokens', STORE_CREDENTIALS] },
                    MESSAGES: {
                      actions: [
                        'deliverMessages',
                        { type: 'enqueueMedia', params: ({ event }) => ({ items: mediaItems(event) }) },
                      ],
                    },
                    RECEIPTS: { actions: 'deliverReceipts' },
                    CONTACTS: { actions: 'deliverContacts' },
                    CHATS: { actions: 'deliverChats' },
                    MESSAGE_ACK: { actions: 'deliverAck' },
                    FRAME_DROPPED: { actions: 'countDroppedFrame' },
                  },
                },
              },
            },
            keepAlive: {
              description:
                'docs/protocol.md §2.6: ping after silence, give the socket up when the ping goes unanswered.',
              initial: 'idle',
              states: {
                idle: {
                  after: { keepAliveIdle: 'pinging' },
                  on: Object.fromEntries(
                    INBOUND_ACTIVITY.map((type) => [type, { target: 'idle', reenter: true }]),
                  ),
                },
                pinging: {
                  entry: 'sendPing',
                  after: {
                    staleTimeout: {
                      target: '#session.reconnecting',
                      actions: {
                        type: 'noteReason',
                        params: { reason: 'stale socket: the ping went unanswered' },
                      },
                    },
                  },
                  on: Object.fromEntries(INBOUND_ACTIVITY.map((type) => [type, 'idle'])),
                },
              },
            },
            phone: {
              description: 'Is the phone reachable? (admin test, Stream asleep)',
              initial: 'checking',
              states: {
                checking: {
                  entry: 'sendPhoneTest',
                  on: {
                    PHONE_PONG: { target: 'known', actions: 'notePhone' },
                    STREAM: { guard: 'streamAsleep', target: 'known', actions: 'notePhone' },
                  },
                },
                known: {
                  after: { phoneCheck: 'checking' },
                  on: { STREAM: { guard: 'streamAsleep', actions: 'notePhone' } },
                },
              },
            },
          },
        },
        loggingOut: {
          description: 'goodbye sent (docs/protocol.md §2.7); the session is forgotten either way.',
          entry: 'sendGoodbye',
          on: {
            LOGOUT_RESULT: '#session.loggedOut',
            SOCKET_CLOSED: '#session.loggedOut',
          },
          after: { logoutTimeout: '#session.loggedOut' },
          exit: [{ type: 'setFailure', params: { reason: 'loggedOut' } }, ...forget('loggedOut')],
        },
      },
    },
    loggingInAgain: {
      description: '405 (already logged in on this socket): one fresh socket and login, then give up.',
      always: [
        { guard: 'firstTimeFor405', target: 'online', actions: 'mark405Retry' },
        { target: 'failed', actions: { type: 'setFailure', params: { reason: 'alreadyLoggedIn' } } },
      ],
    },
    reconnecting: {
      description: 'Backoff with jitter, then a new socket; a session with keys restores by login.',
      entry: ['planReconnect', 'emitReconnecting'],
      after: { reconnectBackoff: 'online' },
      on: {
        RESTART: 'online',
        LOGOUT: {
          target: 'loggedOut',
          actions: [{ type: 'setFailure', params: { reason: 'loggedOut' } }, ...forget('loggedOut')],
        },
      },
    },
    refsExhausted: {
      description: 'The QR budget ran out (429 or an expired kept ref); RESTART opens a new socket.',
      entry: emit({ type: 'qr.exhausted' }),
      on: { RESTART: { target: 'online', actions: 'clearFailure' } },
    },
    conflict: {
      description: 'Replaced by another browser (or 409): never reconnects on its own; TAKE_OVER does.',
      entry: emit({ type: 'conflict' }),
      on: {
        TAKE_OVER: { target: 'online', actions: ['clearFailure', 'switchToTakeover'] },
        LOGOUT: {
          target: 'loggedOut',
          actions: [{ type: 'setFailure', params: { reason: 'loggedOut' } }, ...forget('loggedOut')],
        },
      },
    },
    loggedOut: {
      description: 'No session (removed, unlinked, too old, denied or logged out); RESTART pairs anew.',
      entry: 'emitLoggedOut',
      on: { RESTART: { target: 'online', actions: 'clearFailure' } },
    },
    failed: {
      description: 'Stopped with a typed reason; RESTART tries again from a new socket.',
      entry: 'emitFailed',
      on: { RESTART: { target: 'online', actions: 'clearFailure' } },
    },
  },
});

export type SessionMachine = typeof sessionMachine;
