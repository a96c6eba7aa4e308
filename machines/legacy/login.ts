// Login and challenge (docs/protocol.md §2.5): a session with keys restores by `login` (takeover or
// reconnect), re-sent while unanswered; the server may challenge stale tokens, answered with
// HMAC(macKey, challenge). The login's status decides where the session goes.
import { assertEvent, assign, sendTo } from 'xstate';
import { challengeAnswer } from '../../crypto/index.ts';
import { qrSetup } from './qr.ts';
import { ADOPT_TOKENS, fail, forget, silence, timer } from './session-setup.ts';
import type { SessionContext, SocketCommand } from './session-types.ts';

/** The next wait in loggingIn: a re-send interval, or what is left of loginTimeout when that is less. */
function loginTick(context: SessionContext): number {
  return Math.max(0, Math.min(context.timing.loginResend, context.timing.loginTimeout - context.loginWaited));
}

export const loginSetup = qrSetup.extend({
  actions: {
    resendLogin: sendTo('socket', { type: 'send.loginAgain' } satisfies SocketCommand),
    answerChallenge: sendTo('socket', ({ context, event }): SocketCommand => {
      assertEvent(event, 'cmd.challenge');
      const credentials = context.credentials!;
      return {
        type: 'send.challenge',
        answer: challengeAnswer(credentials.macKey, event.challenge),
        serverToken: credentials.serverToken,
        clientId: credentials.clientId,
      };
    }),
    countLoginWait: assign(({ context }) => ({ loginWaited: context.loginWaited + loginTick(context) })),
    /** 401 to the current tokens: the next login sends the ones they replaced (docs/protocol.md §2.5). */
    usePreviousTokens: assign(({ context }) => {
      const { previous, ...credentials } = context.credentials!;
      return { credentials: { ...credentials, ...previous! } };
    }),
  },
  guards: {
    tosBlocked: ({ event }) => {
      assertEvent(event, 'login.result');
      return (event.tos ?? 0) >= 2;
    },
    loginDeadlinePassed: ({ context }) =>
      context.loginWaited + loginTick(context) >= context.timing.loginTimeout,
    /** 401 to the current tokens, and the ones a rotation replaced may still be good: try them first. */
    previousTokensToTry: ({ context, event }) => {
      assertEvent(event, 'login.result');
      return event.status === 401 && context.credentials?.previous !== undefined;
    },
  },
  delays: {
    loginResend: ({ context }) => timer(loginTick(context)),
    challengeTimeout: ({ context }) => timer(context.timing.challengeTimeout),
  },
});

/** §2.5's login statuses, shared by initializing (an early answer) and loggingIn. */
export const LOGIN_OUTCOMES = [
  { guard: { type: 'status', params: { status: 200 } }, target: '#session.online.ready' },
  {
    guard: 'previousTokensToTry',
    target: '#session.usingPreviousTokens',
    actions: 'usePreviousTokens',
  },
  {
    guard: { type: 'status', params: { status: 401 } },
    target: '#session.loggedOut',
    actions: [fail('removed'), ...forget('removed')],
  },
  {
    guard: { type: 'status', params: { status: 419 } },
    target: '#session.loggedOut',
    actions: [fail('tooOld'), ...forget('tooOld')],
  },
  { guard: 'tosBlocked', target: '#session.loggedOut', actions: fail('tosBlocked') },
  {
    guard: { type: 'status', params: { status: 403 } },
    target: '#session.loggedOut',
    actions: fail('denied'),
  },
  { guard: { type: 'status', params: { status: 405 } }, target: '#session.loggingInAgain' },
  {
    guard: { type: 'status', params: { status: 409 } },
    target: '#session.conflict',
    actions: fail('replaced'),
  },
  {
    guard: { type: 'status', params: { status: 500 } },
    target: '#session.reconnecting',
    actions: { type: 'noteReason', params: { reason: 'login answered 500' } },
  },
  { target: '#session.failed', actions: fail('badRequest') },
] as const;

export const loggingInState = loginSetup.createStateConfig({
  description: 'Restoring with login (takeover or reconnect); re-sent while unanswered, until loginTimeout.',
  after: {
    loginResend: [
      { guard: 'loginDeadlinePassed', ...silence('the login', 'loginTimeout') },
      { target: 'loggingIn', reenter: true, actions: ['countLoginWait', 'resendLogin'] },
    ],
  },
  on: {
    'server.conn': ADOPT_TOKENS,
    'cmd.challenge': 'challenged',
    'login.result': LOGIN_OUTCOMES,
  },
});

export const challengedState = loginSetup.createStateConfig({
  description: 'The server challenged stale tokens; answered with HMAC(macKey, challenge).',
  entry: 'answerChallenge',
  after: { challengeTimeout: silence('the challenge answer', 'challengeTimeout') },
  on: {
    'challenge.result': [
      { guard: { type: 'status', params: { status: 200 } }, target: 'ready' },
      {
        guard: { type: 'status', params: { status: 409 } },
        target: '#session.conflict',
        actions: fail('replaced'),
      },
      { target: '#session.failed', actions: fail('challengeFailed') },
    ],
    'server.conn': ADOPT_TOKENS,
  },
});
