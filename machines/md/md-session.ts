// The multi-device companion: docs/protocol-md.md as a statechart. Pure: the socket, the pair-code and
// pair-success procedures, the stores and the media queue are named in setup() and supplied by actors/md
// (machine.provide swaps them in tests); every timer is an XState delay from context.timing, so
// SimulatedClock drives time. Each part of the protocol is its own file; this one puts them together:
//   §1-2, §8.3, §10  connection.ts    connecting, handshaking, registering; <failure>, <stream:error>
//   §6               pairing-qr.ts    the QR region
//   §7               pairing-code.ts  the pair-code region
//   §6.4-6.6, §7.7   pairing.ts       pairing (both regions, keep-alive), verifying, storing, awaitingRestart
//   §8.2-8.3, §9     login.ts         loggingIn, countingPreKeys, uploadingPreKeys, activating
//   §11-14           ready.ts         ready (keep-alive, liveness), loggingOut; what the server delivers
//   offline          offline.ts       restarting, reconnecting, and the resting states
import { withDefaults } from '../legacy/index.ts';
import {
  connectingState,
  FAILURE_OUTCOMES,
  handshakingState,
  registeringState,
  STREAM_ERROR_OUTCOMES,
} from './connection.ts';
import { activatingState, countingPreKeysState, loggingInState, uploadingPreKeysState } from './login.ts';
import { loggedOut } from './md-setup.ts';
import { DEFAULT_MD_LIMITS, DEFAULT_MD_TIMING, type MdLimits, type MdTiming } from './md-types.ts';
import { offlineSetup, offlineStates } from './offline.ts';
import {
  awaitingRestartState,
  pairingState,
  pairRejectedState,
  storingState,
  verifyingState,
} from './pairing.ts';
import { DELIVERY, loggingOutState, readyState } from './ready.ts';

export const mdSessionMachine = offlineSetup.createMachine({
  id: 'mdSession',
  context: ({ input }) => ({
    credentials: input.credentials,
    freshCredentials: input.freshCredentials ?? null,
    timing: withDefaults<MdTiming>(DEFAULT_MD_TIMING, input.timing),
    limits: withDefaults<MdLimits>(DEFAULT_MD_LIMITS, input.limits),
    random: input.random ?? Math.random,
    refs: [],
    refIndex: 0,
    pairDeviceIqId: null,
    requestedPhone: null,
    phone: null,
    prepared: null,
    pairCodeRef: null,
    primaryHellos: 0,
    codePending: false,
    finishSent: false,
    codeBackoff: 0,
    pairSuccess: null,
    verified: null,
    pairingMethod: null,
    pairError: null,
    reconnectAttempts: 0,
    throttled: false,
    lastDisconnect: '',
    backoff: 0,
    droppedFrames: 0,
    failure: null,
  }),
  // A code asked for where no pairing can start (logged in, resting) gets a typed answer.
  // A text asked for outside ready gets a typed send.failed (ready sends it, docs/protocol-md.md §12.7).
  on: {
    'user.requestPairingCode': { actions: 'emitNotPairing' },
    'user.sendText': { actions: 'emitNotReady' },
  },
  initial: 'online',
  states: {
    online: {
      description: 'A socket is open (or opening); the protocol runs over it.',
      tags: ['online'],
      invoke: {
        id: 'socket',
        src: 'socket',
        input: ({ context }) => ({
          mode: context.credentials.me === null ? 'register' : 'login',
          credentials: context.credentials,
        }),
      },
      // What may happen on a socket in any of its states.
      on: {
        'socket.closed': { target: 'reconnecting', actions: 'noteDisconnect' },
        'server.streamError': STREAM_ERROR_OUTCOMES,
        'server.failure': FAILURE_OUTCOMES,
        'server.frameDropped': { actions: ['markAlive', 'countDroppedFrame'] },
        // A primary_hello no code is waiting for is still acked (docs/protocol-md.md §12.4).
        'server.primaryHello': { actions: ['markAlive', 'ackNotification'] },
        ...DELIVERY,
        // Any other stanza (a pong, an IQ answer no state waits for) is life (docs/protocol-md.md §11).
        'server.*': { actions: 'markAlive' },
        'user.logout': loggedOut('loggedOut'),
      },
      initial: 'connecting',
      states: {
        connecting: connectingState,
        handshaking: handshakingState,
        registering: registeringState,
        pairing: pairingState,
        verifying: verifyingState,
        storing: storingState,
        awaitingRestart: awaitingRestartState,
        pairRejected: pairRejectedState,
        loggingIn: loggingInState,
        countingPreKeys: countingPreKeysState,
        uploadingPreKeys: uploadingPreKeysState,
        activating: activatingState,
        ready: readyState,
        loggingOut: loggingOutState,
      },
    },
    ...offlineStates,
  },
});

export type MdSessionMachine = typeof mdSessionMachine;
