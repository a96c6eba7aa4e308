// The server's view of one WebSocket, as an explicit machine mirroring the client's:
// awaiting init → ref issued (⇄ reref) → paired, or logging in ⇄ challenged → authenticated → closed.
// Pure: the connection handler (connection.ts) sends events and reads the state; it does all I/O.
import { assign, setup } from 'xstate';

export const MAX_REREFS = 5;

export type ConnectionEvent =
  | { type: 'INIT' }
  | { type: 'REREF' }
  | { type: 'SCANNED' }
  | { type: 'LOGIN' }
  | { type: 'LOGIN_OK' }
  | { type: 'CHALLENGE' }
  | { type: 'CHALLENGE_OK' }
  | { type: 'LOGIN_FAILED' }
  | { type: 'LOGGED_OUT' }
  | { type: 'CLOSE' };

export const connectionMachine = setup({
  types: {
    context: {} as { rerefs: number; initialized: boolean },
    events: {} as ConnectionEvent,
  },
  guards: {
    rerefBudgetLeft: ({ context }) => context.rerefs < MAX_REREFS,
    initialized: ({ context }) => context.initialized,
  },
  actions: {
    countReref: assign({ rerefs: ({ context }) => context.rerefs + 1 }),
    markInitialized: assign({ initialized: true }),
  },
}).createMachine({
  id: 'emulatorConnection',
  initial: 'awaitingInit',
  context: { rerefs: 0, initialized: false },
  on: { CLOSE: '.closed' },
  states: {
    awaitingInit: {
      on: {
        INIT: { target: 'refIssued', actions: 'markInitialized' },
        LOGIN: 'loggingIn',
      },
    },
    refIssued: {
      on: {
        REREF: { guard: 'rerefBudgetLeft', actions: 'countReref' },
        SCANNED: 'authenticated',
        LOGIN: 'loggingIn',
      },
    },
    loggingIn: {
      on: {
        LOGIN_OK: 'authenticated',
        CHALLENGE: 'challenged',
        LOGIN_FAILED: [{ guard: 'initialized', target: 'refIssued' }, { target: 'awaitingInit' }],
      },
    },
    challenged: {
      on: {
        CHALLENGE_OK: 'authenticated',
        LOGIN_FAILED: [{ guard: 'initialized', target: 'refIssued' }, { target: 'awaitingInit' }],
      },
    },
    authenticated: {
      on: { LOGGED_OUT: 'closed' },
    },
    closed: { type: 'final' },
  },
});
