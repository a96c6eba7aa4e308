// The states without a socket: waiting to reconnect (docs/protocol.md §2.5-2.6: backoff with jitter,
// then a new socket that restores by login), one more try after a 405, and the resting states, which
// the session leaves only when asked (RESTART, TAKE_OVER). Each resting state carries a reason.
import { emit } from 'xstate';
import { readySetup } from './ready.ts';
import { fail, LOGGED_OUT, timer } from './session-setup.ts';
import type { SessionContext, SessionEmitted } from './session-types.ts';

/** Exponential backoff with "equal jitter": between half and all of base·2^attempt, capped. */
export function backoffDelay(context: Pick<SessionContext, 'timing' | 'random'>, attempt: number): number {
  const { backoffBase, backoffMax } = context.timing;
  const ceiling = Math.min(backoffMax, backoffBase * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * context.random());
}

export const offlineSetup = readySetup.extend({
  actions: {
    planReconnect: readySetup.assign(({ context }) => ({
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
    mark405Retry: readySetup.assign({
      retriedAfter405: true,
      lastDisconnect: 'login answered 405: reconnecting once',
    }),
    switchToTakeover: readySetup.assign({ loginMode: 'takeover' as const }),
    emitFailed: emit(
      ({ context }): SessionEmitted => ({ type: 'failed', reason: context.failure ?? 'badRequest' }),
    ),
    emitLoggedOut: emit(
      ({ context }): SessionEmitted => ({ type: 'loggedOut', reason: context.failure ?? 'loggedOut' }),
    ),
  },
  guards: {
    firstTimeFor405: ({ context }) => !context.retriedAfter405,
  },
  delays: {
    reconnectBackoff: ({ context }) => timer(context.backoff),
  },
});

const RESTART = { target: 'online', actions: 'clearFailure' } as const;

export const offlineStates = {
  loggingInAgain: offlineSetup.createStateConfig({
    description: '405 (already logged in on this socket): one fresh socket and login, then give up.',
    tags: ['offline'],
    always: [
      { guard: 'firstTimeFor405', target: 'online', actions: 'mark405Retry' },
      { target: 'failed', actions: fail('alreadyLoggedIn') },
    ],
  }),
  usingPreviousTokens: offlineSetup.createStateConfig({
    description:
      '401 to the current tokens while the ones they replaced may still be good: one login with those on a fresh socket (docs/protocol.md §2.5).',
    tags: ['offline'],
    always: 'online',
  }),
  reconnecting: offlineSetup.createStateConfig({
    description: 'Backoff with jitter, then a new socket; a session with keys restores by login.',
    tags: ['offline'],
    entry: ['planReconnect', 'emitReconnecting'],
    after: { reconnectBackoff: 'online' },
    on: { 'user.restart': 'online', 'user.logout': LOGGED_OUT },
  }),
  refsExhausted: offlineSetup.createStateConfig({
    description: 'The QR budget ran out (429 or an expired kept ref); RESTART opens a new socket.',
    tags: ['offline', 'resting'],
    entry: emit({ type: 'qr.exhausted' }),
    on: { 'user.restart': RESTART },
  }),
  conflict: offlineSetup.createStateConfig({
    description: 'Replaced by another browser (or 409): never reconnects on its own; TAKE_OVER does.',
    tags: ['offline', 'resting'],
    entry: emit({ type: 'conflict' }),
    on: {
      'user.takeOver': { target: 'online', actions: ['clearFailure', 'switchToTakeover'] },
      'user.logout': LOGGED_OUT,
    },
  }),
  loggedOut: offlineSetup.createStateConfig({
    description: 'No session (removed, unlinked, too old, denied or logged out); RESTART pairs anew.',
    tags: ['offline', 'resting'],
    entry: 'emitLoggedOut',
    on: { 'user.restart': RESTART },
  }),
  failed: offlineSetup.createStateConfig({
    description: 'Stopped with a typed reason; RESTART tries again from a new socket.',
    tags: ['offline', 'resting'],
    entry: 'emitFailed',
    on: { 'user.restart': RESTART },
  }),
};
