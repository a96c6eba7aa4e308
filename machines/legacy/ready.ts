// Ready and logging out (docs/protocol.md §2.6-2.7, §3-4): logged in, three regions run side by side —
// the frame stream (messages, receipts, contacts, chats, acks), the keep-alive (ping after silence, give
// the socket up when the ping goes unanswered) and the phone's liveness. A logout sends `goodbye` and
// forgets the session whatever the server answers.
import { assertEvent, emit, sendTo } from 'xstate';
import { summarizeMessage } from '../../codec/index.ts';
import { connectSetup } from './connect.ts';
import {
  ADOPT_TOKENS,
  COUNT_DROPPED_FRAME,
  LOGGED_OUT_ACTIONS,
  type MediaItem,
  timer,
} from './session-setup.ts';
import type { SessionEmitted, SocketCommand } from './session-types.ts';

export const readySetup = connectSetup.extend({
  actions: {
    sendPing: sendTo('socket', { type: 'send.ping' } satisfies SocketCommand),
    sendPhoneTest: sendTo('socket', { type: 'send.phoneTest' } satisfies SocketCommand),
    sendGoodbye: sendTo('socket', { type: 'send.goodbye' } satisfies SocketCommand),
    sendInitialQueries: sendTo('socket', { type: 'send.initialQueries' } satisfies SocketCommand),
    sendText: sendTo('socket', ({ event }): SocketCommand => {
      assertEvent(event, 'user.sendText');
      return { type: 'send.text', jid: event.jid, text: event.text, id: event.id };
    }),
    markReady: connectSetup.enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ retriedAfter405: false });
      enqueue.emit({ type: 'ready', wid: context.credentials?.wid ?? '' });
    }),
    /** Ready long enough to call the connection good again: the next drop backs off from the base. */
    resetBackoff: connectSetup.assign({ reconnectAttempts: 0 }),
    /** Each message is summarised once: told to the application, and its media (not our own) queued. */
    deliverMessages: connectSetup.enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'server.messages');
      const items: MediaItem[] = [];
      for (const info of event.messages) {
        const message = summarizeMessage(info);
        enqueue.emit({ type: 'message', message, add: event.add });
        if (!message.media || message.fromMe) continue;
        enqueue.emit({ type: 'media', message, media: message.media });
        items.push({ media: message.media, messageId: message.id, chat: message.chat });
      }
      enqueue({ type: 'enqueueMedia', params: { items } });
    }),
    deliverReceipts: connectSetup.enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'server.receipts');
      for (const receipt of event.receipts) enqueue.emit({ type: 'receipt', receipt });
    }),
    deliverContacts: emit(({ event }): SessionEmitted => {
      assertEvent(event, 'server.contacts');
      return { type: 'contacts', contacts: event.contacts };
    }),
    deliverChats: emit(({ event }): SessionEmitted => {
      assertEvent(event, 'server.chats');
      return { type: 'chats', chats: event.chats };
    }),
    deliverAck: emit(({ event }): SessionEmitted => {
      assertEvent(event, 'server.messageAck');
      return { type: 'message.ack', id: event.id, status: event.status, ...(event.t ? { t: event.t } : {}) };
    }),
    notePhone: connectSetup.enqueueActions(({ event, enqueue }) => {
      assertEvent(event, ['server.phonePong', 'server.stream']);
      if (event.type === 'server.phonePong') {
        enqueue.assign({ phoneReachable: event.reachable });
        enqueue.emit({ type: 'phone', reachable: event.reachable });
      } else {
        // Only an asleep Stream gets here (streamAsleep).
        enqueue.assign({ phoneReachable: false });
        enqueue.emit({ type: 'phone', reachable: false, asleep: true });
      }
    }),
  },
  guards: {
    streamAsleep: ({ event }) => {
      assertEvent(event, 'server.stream');
      return event.kind === 'asleep';
    },
  },
  delays: {
    keepAliveIdle: ({ context }) => timer(context.timing.keepAliveIdle),
    staleTimeout: ({ context }) => timer(context.timing.staleTimeout),
    phoneCheck: ({ context }) => timer(context.timing.phoneCheck),
    readyStable: ({ context }) => timer(context.timing.readyStable),
    logoutTimeout: ({ context }) => timer(context.timing.logoutTimeout),
  },
});

export const readyState = readySetup.createStateConfig({
  description: 'Logged in: the frame stream is verified, decrypted and decoded.',
  type: 'parallel',
  tags: ['ready'],
  entry: ['markReady', 'sendInitialQueries'],
  // docs/protocol.md §2.6: the backoff is reset by a stable session, not by reaching ready (a server
  // that accepts and drops at once would otherwise get a reconnect every base interval forever).
  after: { readyStable: { actions: 'resetBackoff' } },
  on: {
    'user.sendText': { actions: 'sendText' },
    'user.logout': '#session.online.loggingOut',
  },
  states: {
    stream: {
      initial: 'receiving',
      states: {
        receiving: {
          on: {
            'server.conn': ADOPT_TOKENS,
            'server.messages': { actions: 'deliverMessages' },
            'server.receipts': { actions: 'deliverReceipts' },
            'server.contacts': { actions: 'deliverContacts' },
            'server.chats': { actions: 'deliverChats' },
            'server.messageAck': { actions: 'deliverAck' },
            // Counted here as well as on `online`: the keep-alive's transition keeps it from rising there.
            'server.frameDropped': COUNT_DROPPED_FRAME,
          },
        },
      },
    },
    keepAlive: {
      description:
        'docs/protocol.md §2.6: ping after silence, give the socket up when the ping goes unanswered.',
      initial: 'idle',
      states: {
        idle: {
          after: { keepAliveIdle: 'pinging' },
          on: { 'server.*': { target: 'idle', reenter: true } },
        },
        pinging: {
          entry: 'sendPing',
          after: {
            staleTimeout: {
              target: '#session.reconnecting',
              actions: { type: 'noteReason', params: { reason: 'stale socket: the ping went unanswered' } },
            },
          },
          on: { 'server.*': 'idle' },
        },
      },
    },
    phone: {
      description: 'Is the phone reachable? (admin test, Stream asleep)',
      initial: 'checking',
      states: {
        checking: {
          entry: 'sendPhoneTest',
          on: {
            'server.phonePong': { target: 'known', actions: 'notePhone' },
            'server.stream': { guard: 'streamAsleep', target: 'known', actions: 'notePhone' },
          },
        },
        known: {
          after: { phoneCheck: 'checking' },
          on: { 'server.stream': { guard: 'streamAsleep', actions: 'notePhone' } },
        },
      },
    },
  },
});

export const loggingOutState = readySetup.createStateConfig({
  description: 'goodbye sent (docs/protocol.md §2.7); the session is forgotten either way.',
  entry: 'sendGoodbye',
  on: {
    'logout.result': '#session.loggedOut',
    'socket.closed': '#session.loggedOut',
  },
  after: { logoutTimeout: '#session.loggedOut' },
  exit: LOGGED_OUT_ACTIONS,
});
