// A login and its challenge (docs/protocol.md §2.5), the server's side: the login is checked against the
// browser the server knows (unknown, blocked, tokens it never issued, held elsewhere in reconnect mode:
// refused), answered with Conn and 200, or challenged when it presents the previous tokens; a challenge
// answer is checked against the browser's mac key. A refused login goes back to the ref, or to init.
import { assertEvent, assign } from 'xstate';
import { challengeAnswer, constantTimeEqual, fromBase64 } from '../../crypto/index.ts';
import { initSetup } from './connection-init.ts';
import {
  answer,
  answerForced,
  answerFrame,
  answerLogin,
  answerLoginForced,
  requested,
  tokensOf,
  when,
} from './connection-setup.ts';

export const loginSetup = initSetup.extend({
  actions: {
    rememberChallenge: assign(({ context, event }) => {
      assertEvent(event, 'LOGIN_CHECKED');
      const login = requested(context, 'LOGIN');
      return {
        clientId: login.clientId,
        loginTokens: tokensOf(login),
        challenge: { bytes: event.challenge, mode: login.mode },
        challengedLoginTag: login.tag,
      };
    }),
    holdLoggedInBrowser: assign(({ context, event }) => {
      assertEvent(event, 'LOGIN_CHECKED');
      const login = requested(context, 'LOGIN');
      const { phoneNumber, keys } = event.browser!;
      return {
        clientId: login.clientId,
        loginTokens: tokensOf(login),
        session: { clientId: login.clientId, phoneNumber, keys },
      };
    }),
    holdChallengedBrowser: assign(({ context, event }) => {
      assertEvent(event, 'CHALLENGE_CHECKED');
      const { phoneNumber, keys } = event.browser!;
      return { session: { clientId: context.clientId!, phoneNumber, keys } };
    }),
    dropChallenge: assign({ challenge: null }),
  },
  guards: {
    // login
    loginForced: when('LOGIN_CHECKED', (e) => e.forced !== null),
    browserUnknown: when('LOGIN_CHECKED', (e) => e.browser === null),
    accountBlocked: when('LOGIN_CHECKED', (e) => e.browser?.tosBlocked === true),
    tokensUnknown: when('LOGIN_CHECKED', (e) => e.browser?.tokens === 'unknown'),
    reconnectWhileHeld: when(
      'LOGIN_CHECKED',
      (e, c) => e.heldElsewhere && requested(c, 'LOGIN').mode === 'reconnect',
    ),
    tokensStale: when('LOGIN_CHECKED', (e) => e.browser?.tokens === 'stale'),
    challengeForced: when('LOGIN_CHECKED', (e) => e.challengeForced),
    initialized: ({ context }) => context.initialized,
    // challenge
    answersOwnChallenge: when('CHALLENGE_ANSWER', (e, c) => e.clientId === c.clientId),
    challengeStatusForced: when('CHALLENGE_CHECKED', (e) => e.forced !== null),
    challengeAnswerWrong: when('CHALLENGE_CHECKED', (e, c) => {
      if (!e.browser || !c.challenge) return true;
      let answer: Uint8Array = new Uint8Array(0);
      try {
        answer = fromBase64(requested(c, 'CHALLENGE_ANSWER').answer);
      } catch {
        // A malformed answer is simply a wrong one.
      }
      return !constantTimeEqual(answer, challengeAnswer(e.browser.keys.macKey, c.challenge.bytes));
    }),
    reconnectWhileHeldAfterChallenge: when(
      'CHALLENGE_CHECKED',
      (e, c) => e.heldElsewhere && c.challenge?.mode === 'reconnect',
    ),
  },
});

export const loginStates = {
  loggingIn: loginSetup.createStateConfig({
    tags: 'busy',
    invoke: {
      src: 'checkLogin',
      input: ({ context }) => ({ step: 'login' as const, login: requested(context, 'LOGIN') }),
    },
    on: {
      LOGIN_CHECKED: [
        {
          guard: 'loginForced',
          target: 'loginRefused',
          actions: answerLoginForced,
        },
        {
          guard: 'browserUnknown',
          target: 'loginRefused',
          actions: answerLogin({ status: 401 }),
        },
        {
          guard: 'accountBlocked',
          target: 'loginRefused',
          actions: answerLogin({ status: 403, tos: 2 }),
        },
        {
          guard: 'tokensUnknown',
          target: 'loginRefused',
          actions: answerLogin({ status: 401 }),
        },
        {
          guard: 'reconnectWhileHeld',
          target: 'loginRefused',
          actions: answerLogin({ status: 409 }),
        },
        { guard: 'tokensStale', target: 'challenged', actions: ['rememberChallenge', 'pushChallenge'] },
        {
          guard: 'challengeForced',
          target: 'challenged',
          actions: ['consumeChallengeFault', 'rememberChallenge', 'pushChallenge'],
        },
        {
          target: 'confirmingLogin',
          actions: [
            'holdLoggedInBrowser',
            'resumeSession',
            'retireRef',
            { type: 'pushConn', params: { pairing: false } },
          ],
        },
      ],
    },
  }),
  /** The Conn push went out; the login's own answer follows the conn step. */
  confirmingLogin: loginSetup.createStateConfig({
    tags: 'busy',
    invoke: { src: 'pause', input: { step: 'conn' } },
    on: {
      CONN_DONE: { target: 'authenticated.delivering', actions: answerLogin({ status: 200 }) },
    },
  }),
  challenged: loginSetup.createStateConfig({
    on: {
      // docs/protocol.md §2.5: the client re-sends its login while it waits; it is answered once.
      LOGIN: {},
      CHALLENGE_ANSWER: [
        { guard: 'answersOwnChallenge', target: 'checkingChallenge', actions: 'takeRequest' },
        { actions: answerFrame({ status: 400 }) },
      ],
    },
  }),
  checkingChallenge: loginSetup.createStateConfig({
    tags: 'busy',
    invoke: {
      src: 'checkChallenge',
      input: ({ context }) => ({
        step: 'challenge' as const,
        answer: requested(context, 'CHALLENGE_ANSWER'),
      }),
    },
    exit: 'dropChallenge',
    on: {
      CHALLENGE_CHECKED: [
        {
          guard: 'challengeStatusForced',
          target: 'loginRefused',
          actions: answerForced,
        },
        {
          guard: 'challengeAnswerWrong',
          target: 'loginRefused',
          actions: answer({ status: 401 }),
        },
        {
          guard: 'reconnectWhileHeldAfterChallenge',
          target: 'loginRefused',
          actions: answer({ status: 409 }),
        },
        {
          target: 'authenticated.delivering',
          actions: [
            answer({ status: 200 }),
            'holdChallengedBrowser',
            'resumeSession',
            'retireRef',
            { type: 'pushConn', params: { pairing: false } },
            // The login that was challenged gets its answer too.
            { type: 'answerChallengedLogin', params: { body: { status: 200 } } },
          ],
        },
      ],
    },
  }),
  /** The refusal was answered: back to the QR when init gave this socket one. */
  loginRefused: loginSetup.createStateConfig({
    always: [{ guard: 'initialized', target: 'refIssued' }, { target: 'awaitingInit' }],
  }),
};
