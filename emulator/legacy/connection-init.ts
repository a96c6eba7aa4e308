// Init, the QR's ref and the scan (docs/protocol.md §2.1-2.3), the server's side: an init is checked (an
// outdated client is told to update) and answered with a ref; a reref gets a new ref, 304 while the old one
// is young, or 429 once the budget is spent; a scan pairs the browser, or tells the browser of a
// multi-device phone to upgrade.
import { assertEvent, assign } from 'xstate';
import { answer, answerForced, connectionSetup, requested, when } from './connection-setup.ts';

export const MAX_REREFS = 5;
/** Versions older than this get `["Cmd",{"type":"update"}]` instead of a ref. */
const MIN_CLIENT_VERSION: readonly number[] = [0, 3, 0];

function olderThan(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    if ((version[i] ?? 0) !== minimum[i]) return (version[i] ?? 0) < minimum[i]!;
  }
  return false;
}

export const initSetup = connectionSetup.extend({
  actions: {
    takeScan: assign({
      scan: ({ event }) => {
        assertEvent(event, 'SCANNED');
        return event;
      },
    }),
    acceptInit: assign(({ context, event }) => {
      assertEvent(event, 'INIT_CHECKED');
      const init = requested(context, 'INIT');
      return { clientId: init.clientId, description: init.description, ref: event.ref, initialized: true };
    }),
    takeNewRef: assign(({ context, event }) => {
      assertEvent(event, 'REREF_CHECKED');
      return { ref: event.ref, rerefs: context.rerefs + 1 };
    }),
    holdScannedBrowser: assign({
      session: ({ context }) => {
        const scan = context.scan!;
        return { clientId: context.clientId!, phoneNumber: scan.phoneNumber, keys: scan.keys };
      },
    }),
  },
  guards: {
    // init (§2.1)
    clientOutdated: ({ context }) => olderThan(requested(context, 'INIT').version, MIN_CLIENT_VERSION),
    updateForced: when('INIT_CHECKED', (e) => e.forced === 'update'),
    initRefused: when('INIT_CHECKED', (e) => typeof e.forced === 'number'),
    // reref (§2.2): five per socket; a ref younger than half its ttl is kept (304)
    rerefForcedRefusal: when('REREF_CHECKED', (e) => e.forced !== null && e.forced !== 200),
    rerefsSpent: ({ context }) => context.rerefs >= MAX_REREFS,
    refStillYoung: when(
      'REREF_CHECKED',
      (e, c) => e.forced === null && c.ref !== null && c.ref.expiresAt - e.now > c.refTtlMs / 2,
    ),
    // scan (§2.3)
    phoneMultiDevice: when('SCANNED', (e) => e.multiDevice),
  },
});

export const initStates = {
  awaitingInit: initSetup.createStateConfig({
    on: {
      INIT: { target: 'checkingInit', actions: 'takeRequest' },
      LOGIN: { target: 'loggingIn', actions: 'takeRequest' },
    },
  }),
  checkingInit: initSetup.createStateConfig({
    tags: 'busy',
    invoke: { src: 'checkInit', input: { step: 'init' } },
    on: {
      INIT_CHECKED: [
        { guard: 'clientOutdated', target: 'awaitingInit', actions: answer(['Cmd', { type: 'update' }]) },
        { guard: 'updateForced', target: 'awaitingInit', actions: answer(['Cmd', { type: 'update' }]) },
        {
          guard: 'initRefused',
          target: 'awaitingInit',
          actions: answerForced,
        },
        { target: 'refIssued', actions: ['acceptInit', 'registerRef', 'answerInit'] },
      ],
    },
  }),
  refIssued: initSetup.createStateConfig({
    tags: 'scannable',
    on: {
      REREF: { target: 'rotatingRef', actions: 'takeRequest' },
      SCANNED: [
        { guard: 'phoneMultiDevice', actions: 'pushUpgrade' },
        { target: 'pairing', actions: 'takeScan' },
      ],
      LOGIN: { target: 'loggingIn', actions: 'takeRequest' },
    },
  }),
  rotatingRef: initSetup.createStateConfig({
    tags: 'busy',
    invoke: { src: 'checkReref', input: { step: 'reref' } },
    on: {
      REREF_CHECKED: [
        {
          guard: 'rerefForcedRefusal',
          target: 'refIssued',
          actions: answerForced,
        },
        {
          guard: 'rerefsSpent',
          target: 'refIssued',
          actions: answer({ status: 429 }),
        },
        {
          guard: 'refStillYoung',
          target: 'refIssued',
          actions: answer({ status: 304 }),
        },
        { target: 'refIssued', actions: ['retireRef', 'takeNewRef', 'registerRef', 'answerRef'] },
      ],
    },
  }),
  pairing: initSetup.createStateConfig({
    tags: 'busy',
    invoke: { src: 'pause', input: { step: 'scan' } },
    on: {
      SCAN_DONE: {
        target: 'authenticated.streaming',
        actions: ['holdScannedBrowser', 'linkBrowser', { type: 'pushConn', params: { pairing: true } }],
      },
    },
  }),
};
