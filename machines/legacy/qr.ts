// QR codes and pairing (docs/protocol.md §2.2-2.4): the ref from init becomes a QR code, rotated with
// `reref` before it expires until the server's budget runs out; the phone's scan arrives as a Conn with
// the pairing secret, whose keys are derived and checked before anything is stored.
import { assertEvent, assign, emit, sendTo } from 'xstate';
import { buildQrText } from '../../codec/index.ts';
import { deriveSessionKeys, fromBase64, type SessionKeys } from '../../crypto/index.ts';
import { fail, STORE_CREDENTIALS, sessionSetup, silence, timer } from './session-setup.ts';
import type { Credentials, SessionContext, SessionEmitted, SocketCommand } from './session-types.ts';

/** A server's ttl as the client believes it: at most qrTtlMax (a huge one must not overflow a timer). */
function believedTtl(context: SessionContext, ttl: number): number {
  return timer(Math.min(ttl, context.timing.qrTtlMax));
}

/** Keys from the pairing secret (docs/protocol.md §2.4), or null when the secret is malformed or forged. */
function pairingKeys(privateKey: Uint8Array, secret: string | undefined): SessionKeys | null {
  if (!secret) return null;
  try {
    return deriveSessionKeys(privateKey, fromBase64(secret));
  } catch {
    return null;
  }
}

export const qrSetup = sessionSetup.extend({
  actions: {
    /**
     * init's ref is the first code (§2.2) of a new pairing attempt, which gets a fresh key pair: the
     * caller's first one, then a new one for every socket that shows codes.
     */
    rememberRef: assign(({ context, event }) => {
      assertEvent(event, 'init.ok');
      return {
        ref: event.ref,
        ttl: believedTtl(context, event.ttl),
        qrIndex: 0,
        pairing: {
          ...context.pairing,
          keyPair: context.pairing.firstKeyPair ?? context.pairing.newKeyPair(),
          firstKeyPair: null,
        },
      };
    }),
    /** A reref's ref replaces it; its ttl too when the server sent one. */
    rememberNewRef: assign(({ context, event }) => {
      assertEvent(event, 'reref.result');
      return {
        ref: event.ref ?? context.ref,
        ttl: event.ttl === undefined ? context.ttl : believedTtl(context, event.ttl),
        qrIndex: context.qrIndex + 1,
      };
    }),
    emitQr: emit(
      ({ context }): SessionEmitted => ({
        type: 'qr',
        text: buildQrText({
          ref: context.ref!,
          publicKey: context.pairing.keyPair!.publicKey,
          clientId: context.clientId,
        }),
        ref: context.ref!,
        ttl: context.ttl,
        index: context.qrIndex,
      }),
    ),
    sendReref: sendTo('socket', { type: 'send.reref' } satisfies SocketCommand),
    rememberPairingConn: assign(({ context, event }) => {
      assertEvent(event, 'server.conn');
      return { pairing: { ...context.pairing, conn: event.conn } };
    }),
    derivePairingKeys: assign({
      pairing: ({ context }) => ({
        ...context.pairing,
        keys: pairingKeys(context.pairing.keyPair!.privateKey, context.pairing.conn?.secret),
      }),
    }),
    adoptPairing: sessionSetup.enqueueActions(({ context, enqueue }) => {
      const conn = context.pairing.conn!;
      const keys = context.pairing.keys!;
      const credentials: Credentials = {
        clientId: context.clientId,
        clientToken: conn.clientToken,
        serverToken: conn.serverToken,
        browserToken: conn.browserToken,
        encKey: keys.encKey,
        macKey: keys.macKey,
        wid: conn.wid,
      };
      enqueue.assign({ credentials, pairing: { ...context.pairing, conn: null, keys: null } });
      enqueue.sendTo('socket', { type: 'use.keys', keys });
      enqueue.emit({ type: 'paired', wid: conn.wid });
    }),
  },
  guards: {
    connCarriesSecret: ({ event }) => {
      assertEvent(event, 'server.conn');
      return typeof event.conn.secret === 'string';
    },
    rerefWithRef: ({ event }) => {
      assertEvent(event, 'reref.result');
      return event.status === 200 && !!event.ref;
    },
    pairingKeysValid: ({ context }) => context.pairing.keys !== null,
    /** The client keeps the server's budget itself (§2.2): a server that grants every reref gets 6 codes. */
    qrBudgetLeft: ({ context }) => context.qrIndex + 1 < context.limits.qrCodesPerSocket,
  },
  delays: {
    qrRefresh: ({ context }) => timer(context.ttl - context.timing.qrRefreshMargin),
    /** What is left of the current ref once no other follows it: it was asked for qrRefreshMargin early. */
    qrExpiry: ({ context }) => timer(Math.min(context.ttl, context.timing.qrRefreshMargin)),
    rerefTimeout: ({ context }) => timer(context.timing.rerefTimeout),
  },
});

const REFS_EXHAUSTED = { target: '#session.refsExhausted', actions: fail('refsExhausted') } as const;

/** §2.2: showing codes until the phone scans one. */
export const qrState = qrSetup.createStateConfig({
  description: 'Showing QR codes until the phone scans one (docs/protocol.md §2.2).',
  tags: ['needsScan'],
  entry: 'rememberRef',
  initial: 'showing',
  on: {
    'server.conn': { guard: 'connCarriesSecret', target: 'pairing', actions: 'rememberPairingConn' },
  },
  states: {
    showing: {
      entry: 'emitQr',
      after: { qrRefresh: [{ guard: 'qrBudgetLeft', target: 'rerefing' }, { target: 'kept' }] },
    },
    rerefing: {
      entry: 'sendReref',
      after: { rerefTimeout: silence('a reref', 'rerefTimeout') },
      on: {
        'reref.result': [
          { guard: 'rerefWithRef', target: 'showing', actions: 'rememberNewRef' },
          { guard: { type: 'status', params: { status: 304 } }, target: 'kept' },
          REFS_EXHAUSTED,
        ],
      },
    },
    kept: {
      description:
        'No more rerefs on this socket (a 304, or the budget is spent): the current code lives until its own expiry.',
      after: { qrExpiry: REFS_EXHAUSTED },
    },
  },
});

/** §2.3-2.4: the scan's Conn carried a secret; a forged one never yields keys. */
export const pairingState = qrSetup.createStateConfig({
  description: 'Keys from the secret (docs/protocol.md §2.4); a forged secret never yields keys.',
  entry: 'derivePairingKeys',
  always: [
    { guard: 'pairingKeysValid', target: 'ready', actions: ['adoptPairing', STORE_CREDENTIALS] },
    { target: '#session.failed', actions: fail('badSecret') },
  ],
});
