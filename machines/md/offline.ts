// The states without a socket: the restart after 515 (docs/protocol-md.md §8.1, a step, not an error),
// waiting to reconnect (backoff with jitter, capped, reset only after a stable ready), and the resting
// states, which the session leaves only when asked (user.restart). Each resting state carries a reason.
import { emit } from 'xstate';
import { loggedOut, timer } from './md-setup.ts';
import type { MdSessionContext, MdSessionEmitted } from './md-types.ts';
import { readySetup } from './ready.ts';

/** Exponential backoff with "equal jitter": between half and all of base·2^attempt, capped. */
export function mdBackoffDelay(
  context: Pick<MdSessionContext, 'timing' | 'random'>,
  attempt: number,
  throttled = false,
): number {
  const { backoffBase, backoffMax, throttledBackoff } = context.timing;
  const ceiling = Math.min(backoffMax, backoffBase * 2 ** Math.min(Math.max(0, attempt), 20));
  const delay = Math.round(ceiling / 2 + (ceiling / 2) * context.random());
  return throttled ? Math.max(delay, throttledBackoff) : delay;
}

export const offlineSetup = readySetup.extend({
  actions: {
    planReconnect: readySetup.assign(({ context }) => ({
      reconnectAttempts: context.reconnectAttempts + 1,
      backoff: mdBackoffDelay(context, context.reconnectAttempts, context.throttled),
      throttled: false,
    })),
    emitReconnecting: emit(
      ({ context }): MdSessionEmitted => ({
        type: 'reconnecting',
        attempt: context.reconnectAttempts,
        delay: context.backoff,
        reason: context.lastDisconnect,
      }),
    ),
    emitFailed: emit(
      ({ context }): MdSessionEmitted => ({ type: 'failed', reason: context.failure ?? 'internalError' }),
    ),
    emitLoggedOut: emit(
      ({ context }): MdSessionEmitted => ({ type: 'loggedOut', reason: context.failure ?? 'loggedOut' }),
    ),
    emitPairFailed: emit(
      ({ context }): MdSessionEmitted => ({
        type: 'pairFailed',
        reason:
          (context.failure as Extract<MdSessionEmitted, { type: 'pairFailed' }>['reason']) ?? 'verifyFailed',
      }),
    ),
    emitConflict: emit({ type: 'conflict' } satisfies MdSessionEmitted),
  },
  delays: {
    reconnectBackoff: ({ context }) => timer(context.backoff),
  },
});

const RESTART = { 'user.restart': { target: 'online', actions: 'clearFailure' } } as const;

export const offlineStates = {
  restarting: offlineSetup.createStateConfig({
    description: '515 after pairing (docs/protocol-md.md §8.1): a new socket at once, which logs in.',
    tags: ['offline'],
    always: 'online',
  }),
  reconnecting: offlineSetup.createStateConfig({
    description:
      'Backoff with jitter, then a new socket; a paired device logs in, an unpaired one registers.',
    tags: ['offline'],
    entry: ['planReconnect', 'emitReconnecting'],
    after: { reconnectBackoff: 'online' },
    on: {
      'user.restart': 'online',
      'user.logout': loggedOut('loggedOut'),
      'user.requestPairingCode': [
        { guard: 'validPhone', actions: 'rememberRequestedPhone' },
        { actions: 'emitInvalidPhone' },
      ],
    },
  }),
  refsExhausted: offlineSetup.createStateConfig({
    description:
      'The QR refs ran out with no pair code pending (docs/protocol-md.md §6.3); user.restart opens a new socket.',
    tags: ['offline', 'resting'],
    on: RESTART,
  }),
  conflict: offlineSetup.createStateConfig({
    description:
      'Another connection of this device took over (docs/protocol-md.md §10): never reconnects on its own.',
    tags: ['offline', 'resting'],
    entry: 'emitConflict',
    on: { ...RESTART, 'user.logout': loggedOut('loggedOut') },
  }),
  loggedOut: offlineSetup.createStateConfig({
    description:
      'The device is gone (failure 401/403/406, device_removed, or the user logged out); user.restart pairs anew.',
    tags: ['offline', 'resting'],
    entry: 'emitLoggedOut',
    on: RESTART,
  }),
  failed: offlineSetup.createStateConfig({
    description: 'Stopped with a typed reason (failure 405: client outdated; a failed handshake).',
    tags: ['offline', 'resting'],
    entry: 'emitFailed',
    on: RESTART,
  }),
  pairFailed: offlineSetup.createStateConfig({
    description:
      'A pair-success failed a check or could not be stored (docs/protocol-md.md §6.5); nothing was kept.',
    tags: ['offline', 'resting'],
    entry: 'emitPairFailed',
    on: RESTART,
  }),
};
