// Connect and init (docs/protocol.md §2.1): the socket opens, `admin init` goes out (with `login` right
// after it when the session has keys, §2.5), and init's answer sends the session to a QR code (qr.ts) or
// to logging in (login.ts). A server may answer the login before init; the outcome is the same.
import { assertEvent, assign, enqueueActions, sendTo } from 'xstate';
import { LOGIN_OUTCOMES, loginSetup } from './login.ts';
import { ADOPT_TOKENS, fail, silence, timer } from './session-setup.ts';
import type { SocketCommand } from './session-types.ts';

export const connectSetup = loginSetup.extend({
  actions: {
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
    /** A new login starts waiting (loggingIn counts its re-sends against loginTimeout). */
    startLoginWait: assign({ loginWaited: 0 }),
  },
  guards: {
    initOutdated: ({ event }) => {
      assertEvent(event, 'init.failed');
      return event.status === 'update';
    },
    initInvalid: ({ event }) => {
      assertEvent(event, 'init.failed');
      return event.status === 'invalid';
    },
  },
  delays: {
    initTimeout: ({ context }) => timer(context.timing.initTimeout),
  },
});

export const connectingState = connectSetup.createStateConfig({
  description: 'Opening the WebSocket.',
  on: { 'socket.open': 'initializing' },
});

export const initializingState = connectSetup.createStateConfig({
  description: 'init sent (and login right after it when restoring, docs/protocol.md §2.5).',
  entry: ['sendInit', 'sendLoginIfRestoring', 'startLoginWait'],
  after: { initTimeout: silence('init', 'initTimeout') },
  on: {
    'init.ok': [{ guard: 'restoring', target: 'loggingIn' }, { target: 'qr' }],
    'init.failed': [
      { guard: 'initOutdated', target: '#session.failed', actions: fail('outdatedClient') },
      { guard: 'initInvalid', target: '#session.failed', actions: fail('badServerAnswer') },
      { target: '#session.failed', actions: fail('initRefused') },
    ],
    // An early answer to the login (docs/protocol.md §2.5): handled as loggingIn would.
    'server.conn': { guard: 'restoring', ...ADOPT_TOKENS },
    'cmd.challenge': { guard: 'restoring', target: 'challenged' },
    'login.result': LOGIN_OUTCOMES,
  },
});
