// Login (docs/protocol-md.md §8.2-8.3, §9): a paired device's socket sends the login payload; `<success>`
// carries the LID, which is stored; then the one-time pre-keys are counted and, when the server holds
// 5 or fewer, 30 more are uploaded; `passive active` ends the sequence in ready. Each step has a
// deadline; an error answer gives the socket up (an unanswered count, upload or passive means a
// companion never opens, §9). `<failure>` is handled on `online` (connection.ts).
import { assertEvent, sendTo } from 'xstate';
import { STORE_CREDENTIALS, silence, timer } from './md-setup.ts';
import type { MdSocketCommand } from './md-types.ts';
import { pairingSetup } from './pairing.ts';

export const loginSetup = pairingSetup.extend({
  actions: {
    /** §8.3: `<success lid>` is where a companion learns (or confirms) its LID; a new one is stored. */
    adoptLid: pairingSetup.enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.success');
      const me = context.credentials.me;
      if (!me || !event.lid || event.lid === me.lid) return;
      const credentials = { ...context.credentials, me: { ...me, lid: event.lid } };
      enqueue.assign({ credentials });
      enqueue({ type: 'storeCredentials', params: { credentials } });
      enqueue.emit({ type: 'credentials.updated', jid: me.jid });
    }),
    sendPreKeyCount: sendTo('socket', { type: 'send.preKeyCount' } satisfies MdSocketCommand),
    sendPreKeyUpload: sendTo(
      'socket',
      ({ context }): MdSocketCommand => ({
        type: 'send.preKeyUpload',
        count: context.limits.preKeyUploadCount,
        firstId: context.credentials.nextPreKeyId,
      }),
    ),
    /** The upload was answered: those ids are the server's now; the next upload starts after them. */
    advancePreKeys: pairingSetup.assign(({ context }) => {
      const next = context.credentials.nextPreKeyId + context.limits.preKeyUploadCount;
      return { credentials: { ...context.credentials, nextPreKeyId: next, firstUnuploadedPreKeyId: next } };
    }),
    sendPassiveActive: sendTo('socket', { type: 'send.passiveActive' } satisfies MdSocketCommand),
    noteIqError: pairingSetup.assign(({ event }) => {
      assertEvent(event, 'server.iqError');
      return { lastDisconnect: `an IQ was answered with error ${event.code} ${event.text}` };
    }),
  },
  guards: {
    /** §9: upload when the server holds preKeyUploadThreshold (5) or fewer. */
    lowPreKeys: ({ context, event }) => {
      assertEvent(event, 'server.preKeyCount');
      return !(event.count > context.limits.preKeyUploadThreshold);
    },
  },
  delays: {
    loginTimeout: ({ context }) => timer(context.timing.loginTimeout),
    preKeyTimeout: ({ context }) => timer(context.timing.preKeyTimeout),
    passiveTimeout: ({ context }) => timer(context.timing.passiveTimeout),
  },
});

/** An error answer to one of login's IQs (§9): this socket will not open; a new one, after the backoff. */
const IQ_ERROR = { target: '#mdSession.reconnecting', actions: 'noteIqError' } as const;

export const loggingInState = loginSetup.createStateConfig({
  description: 'The login payload sent (docs/protocol-md.md §8.2): <success> or <failure>.',
  after: { loginTimeout: silence('<success>', 'loginTimeout') },
  on: { 'server.success': { target: 'countingPreKeys', actions: 'adoptLid' } },
});

export const countingPreKeysState = loginSetup.createStateConfig({
  description: 'How many one-time pre-keys the server holds (docs/protocol-md.md §9).',
  entry: 'sendPreKeyCount',
  after: { preKeyTimeout: silence('the pre-key count', 'preKeyTimeout') },
  on: {
    'server.preKeyCount': [{ guard: 'lowPreKeys', target: 'uploadingPreKeys' }, { target: 'activating' }],
    'server.iqError': IQ_ERROR,
  },
});

export const uploadingPreKeysState = loginSetup.createStateConfig({
  description: '5 or fewer left: 30 more uploaded with the signed pre-key (docs/protocol-md.md §9).',
  entry: 'sendPreKeyUpload',
  after: { preKeyTimeout: silence('the pre-key upload answer', 'preKeyTimeout') },
  on: {
    'server.preKeysUploaded': { target: 'activating', actions: ['advancePreKeys', STORE_CREDENTIALS] },
    'server.iqError': IQ_ERROR,
  },
});

export const activatingState = loginSetup.createStateConfig({
  description: '`passive active` (docs/protocol-md.md §9): its answer opens the session.',
  entry: 'sendPassiveActive',
  after: { passiveTimeout: silence('the passive active answer', 'passiveTimeout') },
  on: {
    'server.passiveActive': 'ready',
    'server.iqError': IQ_ERROR,
  },
});
