// Ready and logging out (docs/protocol-md.md §11-14): logged in, with the keep-alive (a ping every 30 s)
// and the liveness deadline (35 s without a stanza) side by side. What the server delivers is handled on
// `online` (messages can arrive right after <success>, before ready, §12.5): every message, notification
// and receipt is acked (§12.4), messages are told to the application, media is queued, app-state keys
// are stored (§13). Texts go out from ready (§12.7: the socket actor does usync, bundles and encryption);
// their acks and typed failures are told wherever they arrive. A logout sends remove-companion-device and
// forgets the device whatever the answer.
import { assertEvent, sendTo } from 'xstate';
import { connectionSetup } from './connection.ts';
import { KEEP_ALIVE_REGIONS, loggedOut, timer } from './md-setup.ts';
import type { MdEmittedContent, MdMediaItem, MdMessageContent, MdSocketCommand } from './md-types.ts';

/** What the application hears of a message: no key bytes (docs/protocol-md.md §13; the media key). */
export function emittedContent(content: MdMessageContent): MdEmittedContent {
  switch (content.kind) {
    case 'media': {
      const { mediaKey: _key, ...media } = content.media;
      return { kind: 'media', media, ...(content.caption !== undefined ? { caption: content.caption } : {}) };
    }
    case 'appStateKeys':
      return { kind: 'appStateKeys', count: content.keys.length };
    default:
      return content;
  }
}

/** §12.4: `peer_msg` for the account's own phone, `inactive` otherwise (no presence was sent). */
function receiptTypeFor(peer: boolean | undefined): string {
  return peer ? 'peer_msg' : 'inactive';
}

export const readySetup = connectionSetup.extend({
  actions: {
    markReady: connectionSetup.emit(({ context }) => ({
      type: 'ready',
      jid: context.credentials.me?.jid ?? '',
    })),
    /** Ready long enough to call the connection good again: the next drop backs off from the base. */
    resetBackoff: connectionSetup.assign({ reconnectAttempts: 0 }),
    /**
     * A decrypted message (docs/protocol-md.md §12.4): a receipt (none for one that did not decrypt), then
     * the ack; told to the application without key bytes; media queued, app-state keys stored.
     */
    deliverMessage: connectionSetup.enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'server.message');
      const participant = event.participant !== undefined ? { participant: event.participant } : {};
      if (event.content.kind !== 'undecryptable') {
        enqueue.sendTo('socket', {
          type: 'send.receipt',
          id: event.id,
          to: event.from,
          ...participant,
          receiptType: receiptTypeFor(event.peer),
        } satisfies MdSocketCommand);
      }
      // §13: a history-sync notification is answered with hist_sync as well.
      if (event.content.kind === 'historySync') {
        enqueue.sendTo('socket', {
          type: 'send.receipt',
          id: event.id,
          to: event.from,
          ...participant,
          receiptType: 'hist_sync',
        } satisfies MdSocketCommand);
      }
      enqueue.sendTo('socket', {
        type: 'send.ack',
        id: event.id,
        to: event.from,
        class: 'message',
        ...(event.messageType !== undefined ? { ackType: event.messageType } : {}),
        ...participant,
      } satisfies MdSocketCommand);
      enqueue.emit({
        type: 'message',
        message: {
          id: event.id,
          from: event.from,
          ...participant,
          t: event.t,
          content: emittedContent(event.content),
        },
      });
      if (event.content.kind === 'media') {
        const items: MdMediaItem[] = [{ media: event.content.media, messageId: event.id, chat: event.from }];
        enqueue({ type: 'enqueueMedia', params: { items } });
      }
      if (event.content.kind === 'appStateKeys') {
        enqueue({ type: 'storeAppStateKeys', params: { keys: event.content.keys } });
      }
    }),
    deliverReceipt: connectionSetup.enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'server.receipt');
      enqueue.sendTo('socket', {
        type: 'send.ack',
        id: event.id,
        to: event.from,
        class: 'receipt',
        ...(event.receiptType ? { ackType: event.receiptType } : {}),
        ...(event.participant !== undefined ? { participant: event.participant } : {}),
      } satisfies MdSocketCommand);
      enqueue.emit({ type: 'receipt', id: event.id, from: event.from, receiptType: event.receiptType });
    }),
    noteOffline: connectionSetup.emit(({ event }) => {
      assertEvent(event, 'server.offline');
      return { type: 'offline', count: event.count };
    }),
    sendText: sendTo('socket', ({ event }): MdSocketCommand => {
      assertEvent(event, 'user.sendText');
      return { type: 'send.text', jid: event.jid, text: event.text, id: event.id };
    }),
    sendLogout: sendTo('socket', { type: 'send.logout' } satisfies MdSocketCommand),
    sendAccountQueries: sendTo('socket', { type: 'send.accountQueries' } satisfies MdSocketCommand),
    /** §12.7: the server took the message; an ack with an error is a failed send. */
    noteSent: connectionSetup.emit(({ event }) => {
      assertEvent(event, 'server.messageAck');
      if (event.error !== undefined) {
        return {
          type: 'send.failed',
          id: event.id,
          to: event.from,
          reason: 'serverError',
          detail: `ack error ${event.error}`,
        };
      }
      return { type: 'sent', id: event.id, to: event.from };
    }),
    /** A text asked for outside ready is not sent: a typed answer, not silence. */
    emitNotReady: connectionSetup.emit(({ event }) => {
      assertEvent(event, 'user.sendText');
      return { type: 'send.failed', id: event.id, to: event.jid, reason: 'notReady' };
    }),
    noteSendFailed: connectionSetup.emit(({ event }) => {
      assertEvent(event, 'socket.sendFailed');
      return {
        type: 'send.failed',
        id: event.id,
        to: event.to,
        reason: event.reason,
        ...(event.detail !== undefined ? { detail: event.detail } : {}),
      };
    }),
  },
  delays: {
    readyStable: ({ context }) => timer(context.timing.readyStable),
    logoutTimeout: ({ context }) => timer(context.timing.logoutTimeout),
  },
});

/** What the server delivers on a logged-in socket, acked and told wherever it arrives (`online`). */
export const DELIVERY = {
  'server.message': { actions: ['markAlive', 'deliverMessage'] },
  'server.notification': { actions: ['markAlive', 'ackNotification'] },
  'server.receipt': { actions: ['markAlive', 'deliverReceipt'] },
  'server.offline': { actions: ['markAlive', 'noteOffline'] },
  'server.messageAck': { actions: ['markAlive', 'noteSent'] },
  'socket.sendFailed': { actions: 'noteSendFailed' },
} as const;

export const readyState = readySetup.createStateConfig({
  description: 'Logged in (docs/protocol-md.md §9-13): messages flow; ping every 30 s, liveness 35 s.',
  type: 'parallel',
  tags: ['ready'],
  // §9: props, blocklist and privacy, as deployed companions ask on every login (answers only logged).
  entry: ['markReady', 'sendAccountQueries'],
  // The backoff is reset by a stable session, not by reaching ready (a server that accepts and drops at
  // once would otherwise get a reconnect every base interval forever).
  after: { readyStable: { actions: 'resetBackoff' } },
  on: {
    'user.sendText': { actions: 'sendText' },
    'user.logout': 'loggingOut',
  },
  states: KEEP_ALIVE_REGIONS,
});

const LOGGED_OUT_BY_USER = loggedOut('loggedOut');

export const loggingOutState = readySetup.createStateConfig({
  description:
    'remove-companion-device sent (docs/protocol-md.md §14); the device is forgotten whatever the answer.',
  entry: 'sendLogout',
  after: { logoutTimeout: LOGGED_OUT_BY_USER },
  on: {
    'server.logoutAccepted': LOGGED_OUT_BY_USER,
    'socket.closed': LOGGED_OUT_BY_USER,
  },
});
