// The server's side of one legacy WebSocket (docs/protocol.md part 2) as a statechart. Every answer the
// emulator gives is chosen here, by guards over the request, this connection's own state and the facts
// the server looked up after the request's step:
//   awaitingInit → checkingInit → refIssued ⇄ rotatingRef; a scan: refIssued → pairing → authenticated;
//   a login: loggingIn → [challenged → checkingChallenge →] authenticated, or loginRefused → back;
//   a logout: loggingOut → closed; a closed, replaced or unlinked socket: → closed.
// Pure: no socket, no timer. The socket (connection.ts, through socket-bindings.ts) supplies the effects
// named in setup() (answers, pushes, the hub's bookkeeping) and the steps (`checkInit`, `pause`, …), where
// the faults of faults.ts delay or close the socket. States tagged `busy` are working on a request; the
// socket hands over its next frame only when none is. Each part of the protocol is its own file:
//   §2.1-2.3  connection-init.ts    awaitingInit, checkingInit, refIssued, rotatingRef, pairing
//   §2.5      connection-login.ts   loggingIn, confirmingLogin, challenged, checkingChallenge, loginRefused
//   §2.7, §3  connection-online.ts  authenticated (streaming, delivering, online), loggingOut
// over the base in connection-setup.ts.
import { initStates } from './connection-init.ts';
import { loginStates } from './connection-login.ts';
import { onlineSetup, onlineStates } from './connection-online.ts';
import { answerFrame, close, closeMalformed } from './connection-setup.ts';

export { MAX_REREFS } from './connection-init.ts';

export const connectionMachine = onlineSetup.createMachine({
  id: 'emulatorConnection',
  initial: 'awaitingInit',
  context: ({ input }) => ({
    refTtlMs: input?.refTtlMs ?? 20_000,
    rerefs: 0,
    initialized: false,
    clientId: null,
    description: [],
    ref: null,
    request: null,
    scan: null,
    session: null,
    loginTokens: null,
    challenge: null,
    challengedLoginTag: null,
  }),
  // What no state below takes: a request out of turn or a command that is none gets 400, a binary frame
  // before keys closes, and so does a frame that is no frame (docs/protocol.md §1), in every state.
  on: {
    INIT: { actions: answerFrame({ status: 400 }) },
    REREF: { actions: answerFrame({ status: 400 }) },
    CHALLENGE_ANSWER: { actions: answerFrame({ status: 400 }) },
    BAD_COMMAND: { actions: answerFrame({ status: 400 }) },
    MALFORMED: { target: '.closed', actions: closeMalformed },
    TEST: { actions: answerFrame(['Pong', false]) },
    LOGOUT: { target: '.loggingOut', actions: 'takeRequest' },
    BINARY: {
      target: '.closed',
      actions: close('binary frame before keys exist', 1008),
    },
    REPLACED: {
      target: '.closed',
      actions: [
        { type: 'pushDisconnect', params: { kind: 'replaced' } },
        close('replaced by another browser', 1000),
      ],
    },
    UNLINKED: {
      target: '.closed',
      actions: [{ type: 'pushDisconnect', params: { kind: null } }, close('unlinked by the phone', 1000)],
    },
    CLOSE: '.closed',
  },
  states: {
    ...initStates,
    ...loginStates,
    ...onlineStates,
    closed: { type: 'final' },
  },
});
