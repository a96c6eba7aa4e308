// The connection (docs/protocol-md.md §1-2, §8.3, §10): the WebSocket opens, Noise XX runs with the
// server's certificate chain checked against the configured root, and the ClientPayload goes out — a
// registration for an unpaired device (then pair-device, pairing.ts), a login for a paired one (login.ts).
// Each step has a deadline. What ends or restarts a session on any socket (`<failure>`, `<stream:error>`)
// is decided here, for `online` to apply.
import { assertEvent } from 'xstate';
import { loginSetup } from './login.ts';
import { fail, loggedOut, silence, timer } from './md-setup.ts';

export const connectionSetup = loginSetup.extend({
  actions: {
    noteDisconnect: loginSetup.assign(({ event }) => {
      assertEvent(event, 'socket.closed');
      return {
        lastDisconnect: `socket closed (${event.code ?? 'no code'}${event.reason ? `: ${event.reason}` : ''})`,
      };
    }),
    noteHandshakeFailure: loginSetup.assign(({ event }) => {
      assertEvent(event, 'socket.handshakeFailed');
      return { lastDisconnect: `handshake failed: ${event.reason}` };
    }),
    noteStreamError: loginSetup.assign(({ event }) => {
      assertEvent(event, 'server.streamError');
      return {
        lastDisconnect:
          `stream error ${event.code ?? ''}${event.conflict ? ` conflict ${event.conflict}` : ''}`.trim(),
      };
    }),
    noteFailure: loginSetup.assign(({ event }) => {
      assertEvent(event, 'server.failure');
      return { lastDisconnect: `failure ${event.reason}` };
    }),
    /** §8.3: 429 and 503 mean "try later": the next backoff is at least throttledBackoff. */
    markThrottled: loginSetup.assign({ throttled: true }),
  },
  guards: {
    failureReason: ({ event }, params: { reasons: readonly number[] }) => {
      assertEvent(event, 'server.failure');
      return params.reasons.includes(event.reason);
    },
    streamErrorCode: ({ event }, params: { code: number }) => {
      assertEvent(event, 'server.streamError');
      return event.code === params.code;
    },
    conflictReplaced: ({ event }) => {
      assertEvent(event, 'server.streamError');
      return event.conflict === 'replaced';
    },
    deviceRemoved: ({ event }) => {
      assertEvent(event, 'server.streamError');
      return event.deviceRemoved;
    },
  },
  delays: {
    connectTimeout: ({ context }) => timer(context.timing.connectTimeout),
    handshakeTimeout: ({ context }) => timer(context.timing.handshakeTimeout),
    pairDeviceTimeout: ({ context }) => timer(context.timing.pairDeviceTimeout),
  },
});

/** docs/protocol-md.md §8.3: `<failure reason>` at connect time. */
export const FAILURE_OUTCOMES = [
  { guard: { type: 'failureReason', params: { reasons: [401] } }, ...loggedOut('removed') },
  { guard: { type: 'failureReason', params: { reasons: [403] } }, ...loggedOut('mainDeviceGone') },
  { guard: { type: 'failureReason', params: { reasons: [406] } }, ...loggedOut('unknownLogout') },
  {
    guard: { type: 'failureReason', params: { reasons: [405] } },
    target: '#mdSession.failed',
    actions: fail('clientOutdated'),
  },
  {
    guard: { type: 'failureReason', params: { reasons: [429, 503] } },
    target: '#mdSession.reconnecting',
    actions: ['noteFailure', 'markThrottled'],
  },
  { target: '#mdSession.reconnecting', actions: 'noteFailure' },
] as const;

/** docs/protocol-md.md §10: `<stream:error>`. 515 is a step (§8.1), not an error. */
export const STREAM_ERROR_OUTCOMES = [
  { guard: 'deviceRemoved', ...loggedOut('deviceRemoved') },
  { guard: 'conflictReplaced', target: '#mdSession.conflict', actions: fail('replaced') },
  {
    guard: { type: 'streamErrorCode', params: { code: 515 } },
    target: '#mdSession.restarting',
    actions: { type: 'noteReason', params: { reason: 'restart required (515)' } },
  },
  { target: '#mdSession.reconnecting', actions: 'noteStreamError' },
] as const;

/** A code asked for before pairing started is kept for the code region (§7.3). */
export const REMEMBER_PHONE = {
  'user.requestPairingCode': [
    { guard: 'validPhone', actions: 'rememberRequestedPhone' },
    { actions: 'emitInvalidPhone' },
  ],
} as const;

export const connectingState = connectionSetup.createStateConfig({
  description: 'Opening the WebSocket (docs/protocol-md.md §1.1).',
  after: { connectTimeout: silence('the WebSocket', 'connectTimeout') },
  on: { 'socket.opened': 'handshaking', ...REMEMBER_PHONE },
});

export const handshakingState = connectionSetup.createStateConfig({
  description:
    "Noise XX; the server's certificate chain checked against the root (docs/protocol-md.md §2); then the ClientPayload.",
  after: { handshakeTimeout: silence('the handshake', 'handshakeTimeout') },
  on: {
    'socket.secured': [{ guard: 'paired', target: 'loggingIn' }, { target: 'registering' }],
    'socket.handshakeFailed': {
      target: '#mdSession.failed',
      actions: ['noteHandshakeFailure', fail('handshakeFailed')],
    },
    ...REMEMBER_PHONE,
  },
});

export const registeringState = connectionSetup.createStateConfig({
  description: 'The registration payload sent: pair-device and its refs (docs/protocol-md.md §6.1).',
  after: { pairDeviceTimeout: silence('pair-device', 'pairDeviceTimeout') },
  on: {
    'server.pairDevice': [
      { guard: 'hasRefs', target: 'pairing', actions: 'rememberRefs' },
      { actions: { type: 'noteReason', params: { reason: 'pair-device carried no usable ref' } } },
    ],
    ...REMEMBER_PHONE,
  },
});
