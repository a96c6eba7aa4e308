// What every region of the MD companion machine shares: its types and tags, the effects actors/md
// supplies (the socket, the pair-code and pair-success procedures, the stores, the media queue), and the
// bookkeeping of how a session ends. Each region extends this setup with its own actions, guards and
// delays (XState's `setup().extend()`), one after the other: pairing-qr.ts → pairing-code.ts →
// pairing.ts → login.ts → connection.ts → ready.ts → offline.ts; md-session.ts assembles them.
import { assertEvent, assign, enqueueActions, fromCallback, fromPromise, raise, sendTo, setup } from 'xstate';
import type { AppStateSyncKey } from '../../codec/md/index.ts';
import { MAX_TIMER_MS } from '../legacy/index.ts';
import type { SessionTag } from '../session-tags.ts';
import type {
  FinishedPairCode,
  FinishPairCodeInput,
  MdCredentials,
  MdFailureReason,
  MdMediaItem,
  MdSessionContext,
  MdSessionEmitted,
  MdSessionEvent,
  MdSessionInput,
  MdSocketCommand,
  MdSocketInput,
  MdTiming,
  PreparedPairCode,
  PreparePairCodeInput,
  StoreDeviceInput,
  VerifyPairSuccessInput,
  VerifyPairSuccessResult,
} from './md-types.ts';

/** A delay as a timer can hold it: never negative, never past MAX_TIMER_MS (which would fire at once). */
export function timer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(0, ms)) : MAX_TIMER_MS;
}

/** Stubs for what actors/md supplies: they fail, so a machine used without `provide` never pairs. */
function notSupplied(name: string): never {
  throw new Error(`${name} is supplied by actors/md (machine.provide)`);
}

/** The credentials of an unpaired device (the old keys, when the caller gave no fresh ones). */
export function unpaired(context: Pick<MdSessionContext, 'credentials' | 'freshCredentials'>): MdCredentials {
  if (context.freshCredentials) return context.freshCredentials();
  return { ...context.credentials, me: null, account: null };
}

export const mdSetup = setup({
  types: {
    context: {} as MdSessionContext,
    events: {} as MdSessionEvent,
    input: {} as MdSessionInput,
    emitted: {} as MdSessionEmitted,
    tags: {} as SessionTag,
  },
  actors: {
    // actors/md: opens the WebSocket, Noise XX, the ClientPayload; reports MdSocketReports, obeys commands.
    socket: fromCallback<MdSocketCommand, MdSocketInput>(() => undefined),
    // docs/protocol-md.md §7.2: a fresh ephemeral, the code, PBKDF2 off the event loop.
    preparePairCode: fromPromise<PreparedPairCode, PreparePairCodeInput>(async () =>
      notSupplied('preparePairCode'),
    ),
    // docs/protocol-md.md §7.5: the key bundle and the new adv secret.
    finishPairCode: fromPromise<FinishedPairCode, FinishPairCodeInput>(async () =>
      notSupplied('finishPairCode'),
    ),
    // docs/protocol-md.md §6.5: the HMAC, the account signature, the device signature.
    verifyPairSuccess: fromPromise<VerifyPairSuccessResult, VerifyPairSuccessInput>(async () =>
      notSupplied('verifyPairSuccess'),
    ),
    // docs/protocol-md.md §15: resolves when the paired device is durable.
    storeDevice: fromPromise<void, StoreDeviceInput>(async () => notSupplied('storeDevice')),
  },
  actions: {
    // Effects supplied by actors/md.
    storeCredentials: (_, _params: { credentials: MdCredentials }) => undefined,
    clearDevice: (_, _params: { reason: MdFailureReason }) => undefined,
    enqueueMedia: (_, _params: { items: MdMediaItem[] }) => undefined,
    storeAppStateKeys: (_, _params: { keys: AppStateSyncKey[] }) => undefined,

    /** The reason the resting state will carry. */
    setFailure: assign((_, params: { reason: MdFailureReason }) => ({ failure: params.reason })),
    /** Leaving a resting state: no reason any more. */
    clearFailure: assign({ failure: null }),
    /** The device is gone: the context holds unpaired credentials, and the application hears it. */
    dropDevice: enqueueActions(({ context, enqueue }, params: { reason: MdFailureReason }) => {
      enqueue.assign({ credentials: unpaired(context) });
      enqueue.emit({ type: 'credentials.cleared', reason: params.reason });
    }),
    noteReason: assign((_, params: { reason: string }) => ({ lastDisconnect: params.reason })),
    /** A waiting state's deadline passed: why the socket is given up. */
    noteSilence: assign(({ context }, params: { what: string; deadline: keyof MdTiming }) => ({
      lastDisconnect: `${params.what} did not come within ${context.timing[params.deadline] / 1000} s`,
    })),
    countDroppedFrame: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.frameDropped');
      const count = context.droppedFrames + 1;
      enqueue.assign({ droppedFrames: count });
      enqueue.emit({ type: 'frame.dropped', code: event.code, reason: event.reason, count });
    }),
    ackNotification: sendTo('socket', ({ event }): MdSocketCommand => {
      assertEvent(event, ['server.notification', 'server.primaryHello']);
      return {
        type: 'send.ack',
        id: event.id,
        to: event.from,
        class: 'notification',
        ackType: event.type === 'server.notification' ? event.notificationType : 'link_code_companion_reg',
      };
    }),
    sendPing: sendTo('socket', { type: 'send.ping' } satisfies MdSocketCommand),
    /** A stanza arrived: the liveness region starts its deadline again (docs/protocol-md.md §11). */
    markAlive: raise({ type: 'md.alive' }),
  },
  guards: {
    paired: ({ context }) => context.credentials.me !== null,
  },
  delays: {
    pingInterval: ({ context }) => timer(context.timing.pingInterval),
    livenessTimeout: ({ context }) => timer(context.timing.livenessTimeout),
  },
});

/** The action that gives the resting state its reason. */
export function fail(reason: MdFailureReason) {
  return { type: 'setFailure', params: { reason } } as const;
}

/** The actions that forget the device, here and in the store: the session has to pair anew. */
export function forget(reason: MdFailureReason) {
  return [
    { type: 'dropDevice', params: { reason } },
    { type: 'clearDevice', params: { reason } },
  ] as const;
}

/** The one way into loggedOut: the reason, and the device forgotten here and in the store. */
export function loggedOut(reason: MdFailureReason) {
  return { target: '#mdSession.loggedOut', actions: [fail(reason), ...forget(reason)] } as const;
}

/** A waiting state's deadline (MdTiming `deadline`) passed: a new socket, after the backoff. */
export function silence(what: string, deadline: keyof MdTiming) {
  return {
    target: '#mdSession.reconnecting',
    actions: { type: 'noteSilence', params: { what, deadline } },
  } as const;
}

/** Persist what the context holds now (after the assign that updated it). */
export const STORE_CREDENTIALS = {
  type: 'storeCredentials',
  params: ({ context }: { context: MdSessionContext }) => ({ credentials: context.credentials }),
} as const;

/**
 * Keep-alive and liveness (docs/protocol-md.md §11), two regions of pairing and of ready: a ping every
 * pingInterval, and the socket given up after livenessTimeout without a stanza. Any `server.*` event is
 * life, but the liveness region cannot listen for them itself: XState asks a parallel state's ancestors
 * only when none of its regions takes an event, so a `server.*` listener here would keep every stream
 * error, failure and pair-success from `pairing` and `online`. Instead each transition that takes a
 * server event while a liveness region runs has the `markAlive` action (online has a `server.*` fallback
 * with it), which raises `md.alive`, and the region restarts its deadline on that.
 */
export const KEEP_ALIVE_REGIONS = {
  keepAlive: mdSetup.createStateConfig({
    description: 'A ping every pingInterval (docs/protocol-md.md §11: 30 s).',
    initial: 'waiting',
    states: {
      waiting: { after: { pingInterval: { target: 'waiting', reenter: true, actions: 'sendPing' } } },
    },
  }),
  liveness: mdSetup.createStateConfig({
    description: 'No stanza for livenessTimeout (35 s): the socket is given up (docs/protocol-md.md §11).',
    initial: 'watching',
    states: {
      watching: {
        after: { livenessTimeout: silence('a stanza', 'livenessTimeout') },
        on: { 'md.alive': { target: 'watching', reenter: true } },
      },
    },
  }),
};
