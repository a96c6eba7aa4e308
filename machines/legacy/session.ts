// The session: docs/protocol.md part 2 as a statechart. Pure: the socket, the credential store and the
// media enqueuer are named in setup() and supplied by actors/ (machine.provide swaps them in tests);
// every timer is an XState delay, so SimulatedClock drives time. Each part of the protocol is its own
// file; this one puts them together:
//   §2.1      connect.ts   connecting, initializing
//   §2.2-2.4  qr.ts        qr (showing, rerefing, kept), pairing
//   §2.5      login.ts     loggingIn, challenged
//   §2.6-2.7  ready.ts     ready (stream, keepAlive, phone), loggingOut
//   offline   offline.ts   loggingInAgain, usingPreviousTokens, reconnecting, and the resting states
import { assertEvent } from 'xstate';
import { x25519KeyPair } from '../../crypto/index.ts';
import { connectingState, initializingState } from './connect.ts';
import { challengedState, loggingInState } from './login.ts';
import { offlineSetup, offlineStates } from './offline.ts';
import { pairingState, qrState } from './qr.ts';
import { loggingOutState, readyState } from './ready.ts';
import { COUNT_DROPPED_FRAME, fail, forget, LOGGED_OUT } from './session-setup.ts';
import { DEFAULT_LIMITS, DEFAULT_TIMING, type SessionLimits, type SessionTiming } from './session-types.ts';

const DEFAULT_DESCRIPTION = ['walink', 'Node.js', '0.1.0'];

/**
 * Numeric options (SessionTiming, SessionLimits) over their defaults; a value that is not a number ≥ 0
 * (NaN, a string, −1) keeps the default.
 */
export function withDefaults<T extends { [K in keyof T]: number }>(
  defaults: T,
  given: Partial<T> | undefined,
): T {
  const result: Record<string, number> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const value: unknown = (given as Record<string, unknown> | undefined)?.[key];
    if (typeof value === 'number' && value >= 0) result[key] = value;
  }
  return result as T;
}

/** What the `online` state itself handles: the socket's end, and what ends a session on any socket. */
const onlineSetup = offlineSetup.extend({
  actions: {
    noteDisconnect: offlineSetup.assign(({ event }) => {
      assertEvent(event, 'socket.closed');
      return { lastDisconnect: `socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})` };
    }),
  },
  guards: {
    kindReplaced: ({ event }) => {
      assertEvent(event, 'cmd.disconnect');
      return event.kind === 'replaced';
    },
  },
});

export const sessionMachine = onlineSetup.createMachine({
  id: 'session',
  context: ({ input }) => ({
    clientId: input.clientId,
    description: input.description ?? DEFAULT_DESCRIPTION,
    credentials: input.credentials,
    pairing: {
      keyPair: null,
      firstKeyPair: input.keyPair ?? null,
      newKeyPair: input.newKeyPair ?? x25519KeyPair,
      conn: null,
      keys: null,
    },
    loginMode: input.loginMode ?? 'takeover',
    timing: withDefaults<SessionTiming>(DEFAULT_TIMING, input.timing),
    limits: withDefaults<SessionLimits>(DEFAULT_LIMITS, input.limits),
    random: input.random ?? Math.random,
    ref: null,
    ttl: 20_000,
    qrIndex: 0,
    loginWaited: 0,
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
      tags: ['online'],
      invoke: {
        id: 'socket',
        src: 'socket',
        input: ({ context }) => ({
          keys: context.credentials
            ? { encKey: context.credentials.encKey, macKey: context.credentials.macKey }
            : null,
        }),
      },
      // What may happen on a socket in any of its states.
      on: {
        'socket.closed': { target: 'reconnecting', actions: 'noteDisconnect' },
        'server.frameDropped': COUNT_DROPPED_FRAME,
        'cmd.disconnect': [
          { guard: 'kindReplaced', target: 'conflict', actions: fail('replaced') },
          { target: 'loggedOut', actions: [fail('unlinked'), ...forget('unlinked')] },
        ],
        'cmd.upgradeMd': { target: 'failed', actions: fail('needsMultiDevice') },
        'conn.unsupported': { target: 'failed', actions: fail('unsupportedBinVersion') },
        'user.logout': LOGGED_OUT,
      },
      initial: 'connecting',
      states: {
        connecting: connectingState,
        initializing: initializingState,
        qr: qrState,
        pairing: pairingState,
        loggingIn: loggingInState,
        challenged: challengedState,
        ready: readyState,
        loggingOut: loggingOutState,
      },
    },
    ...offlineStates,
  },
});

export type SessionMachine = typeof sessionMachine;
