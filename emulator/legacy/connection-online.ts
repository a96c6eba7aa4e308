// An authenticated socket and its end (docs/protocol.md §2.5-2.7, §3), the server's side: after a scan
// Conn, Stream and Props; after a login or a pairing the contact and chat lists and what waited; binary
// requests answered; the same login re-sent after its answer went out answered again; a logout forgets the
// browser and closes.
import { loginSetup } from './connection-login.ts';
import { answer, answerFrame, close, tokensOf, when } from './connection-setup.ts';

export const onlineSetup = loginSetup.extend({
  guards: {
    sameLogin: when('LOGIN', (e, c) => c.loginTokens === tokensOf(e)),
    /** The same login again, sent after its answer went out: the client lost that answer. */
    sameLoginAnswerLost: when('LOGIN', (e, c) => c.loginTokens === tokensOf(e) && e.afterAnswer === true),
    // logout (§2.7)
    holdsSession: ({ context }) => context.session !== null,
  },
});

export const onlineStates = {
  authenticated: onlineSetup.createStateConfig({
    tags: 'authenticated',
    // Every way in names its first step (streaming after a scan, delivering after a login).
    initial: 'delivering',
    on: {
      // The login that passed, re-sent after its answer went out (the client lost it): answered again as
      // the first one was, Conn with the browser's tokens and then 200, without another rotation. One that
      // arrived while the first was being worked on is the same request: answered once.
      LOGIN: [
        {
          guard: 'sameLoginAnswerLost',
          actions: [{ type: 'pushConn', params: { pairing: false } }, answerFrame({ status: 200 })],
        },
        { guard: 'sameLogin' },
        { actions: answerFrame({ status: 405 }) },
      ],
      TEST: { actions: answerFrame(['Pong', true]) },
      BINARY: { actions: 'answerBinary' },
    },
    states: {
      /** Paired: Conn went out; Stream and Props follow the conn step. */
      streaming: {
        tags: 'busy',
        invoke: { src: 'pause', input: { step: 'conn' } },
        on: { CONN_DONE: { target: 'delivering', actions: 'pushStreamAndProps' } },
      },
      /** The contact and chat lists, then messages that waited for this browser, after the ready step. */
      delivering: {
        tags: 'busy',
        invoke: { src: 'pause', input: { step: 'ready' } },
        on: { READY_DONE: { target: 'online', actions: ['pushPreempt', 'deliverPending'] } },
      },
      online: {},
    },
  }),
  loggingOut: onlineSetup.createStateConfig({
    tags: 'busy',
    invoke: { src: 'pause', input: { step: 'logout' } },
    on: {
      LOGOUT_DONE: [
        {
          guard: 'holdsSession',
          target: 'closed',
          actions: ['forgetBrowser', answer({ status: 200 }), close('logged out', 1000)],
        },
        { target: 'closed', actions: [answer({ status: 200 }), close('logged out', 1000)] },
      ],
    },
  }),
};
