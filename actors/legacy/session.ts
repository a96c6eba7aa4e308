// A Session over the legacy machine (docs/protocol.md part 2): the machine with its effects supplied
// (the socket, the credential store, the media queue) and bridged to the public Session.
import { randomBytes } from 'node:crypto';
import { createActor, type SnapshotFrom } from 'xstate';
import { newMessageId } from '../../codec/index.ts';
import { toBase64, x25519KeyPair } from '../../crypto/index.ts';
import {
  type Credentials,
  DEFAULT_LIMITS,
  type MediaItem,
  sessionMachine,
  withDefaults,
} from '../../machines/index.ts';
import { actorOptions, enqueueMediaItems, errorReporter, tuningInput } from '../actor-options.ts';
import { MemoryCredentialStore } from '../credential-store.ts';
import { bridgeSession, SessionEventStream } from '../session-bridge.ts';
import type { CreateSessionOptions, ProtocolStats, Session } from '../session-types.ts';
import { createSocketActor, type SocketOptions } from './socket.ts';

/** A new clientId: base64 of 16 random bytes (docs/protocol.md §2.1). */
export function newClientId(): string {
  return toBase64(randomBytes(16));
}

/** What one session's machine does to the world; looked up by the session's actor system. */
interface SessionEffects {
  socket: SocketOptions;
  storeCredentials(credentials: Credentials): void;
  clearCredentials(): void;
  enqueueMedia(items: MediaItem[]): void;
}

const effectsBySystem = new WeakMap<object, SessionEffects>();

function effectsOf(system: unknown): SessionEffects {
  const effects = effectsBySystem.get(system as object);
  if (!effects) throw new Error('this actor system has no session effects registered');
  return effects;
}

// One provided machine for every session in the process: a machine definition is ~50 KiB of state nodes
// and transitions, and providing it per session multiplied that by the number of sessions. Each session's
// effects are found through its actor system instead of being closed over.
const providedMachine = sessionMachine.provide({
  actors: { socket: createSocketActor((system) => effectsOf(system).socket) },
  actions: {
    storeCredentials: ({ system }, params: { credentials: Credentials }) =>
      effectsOf(system).storeCredentials(params.credentials),
    clearCredentials: ({ system }) => effectsOf(system).clearCredentials(),
    enqueueMedia: ({ system }, params) => effectsOf(system).enqueueMedia(params.items),
  },
});

type LegacySnapshot = SnapshotFrom<typeof sessionMachine>;

export async function createLegacySession(options: CreateSessionOptions): Promise<Session> {
  const store = options.store ?? new MemoryCredentialStore();
  const credentials = await store.load();
  const stats: ProtocolStats = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  const events = new SessionEventStream();
  let storeWrites: Promise<void> = Promise.resolve();
  const reportError = errorReporter(events);
  // Bound once the bridge exists: an exception in this session's effects ends this session only.
  let crash: (error: unknown, where?: string) => void = () => undefined;
  const limits = withDefaults(DEFAULT_LIMITS, options.limits);

  const effects: SessionEffects = {
    socket: {
      url: options.url,
      ...(options.origin ? { origin: options.origin } : {}),
      stats,
      limits: { maxRefLength: limits.maxRefLength, maxTokenLength: limits.maxTokenLength },
      onFault: (error) => crash(error, 'socket'),
    },
    storeCredentials: (saved) => {
      storeWrites = storeWrites.then(() => store.save(saved)).catch((e) => reportError('store', e));
    },
    clearCredentials: () => {
      storeWrites = storeWrites.then(() => store.clear()).catch((e) => reportError('store', e));
    },
    enqueueMedia: (items) => enqueueMediaItems(options.queue, items, events, reportError),
  };

  const makeActor = (from: Credentials | null) => {
    const actor = createActor(providedMachine, {
      input: {
        clientId: from?.clientId ?? clientId,
        credentials: from,
        newKeyPair: x25519KeyPair,
        ...(options.description ? { description: options.description } : {}),
        ...(options.loginMode ? { loginMode: options.loginMode } : {}),
        ...tuningInput(options),
      },
      ...actorOptions(options, reportError),
    });
    effectsBySystem.set(actor.system, effects);
    return actor;
  };
  const clientId = credentials?.clientId ?? newClientId();

  const bridged = bridgeSession<LegacySnapshot>(
    {
      name: options.name ?? credentials?.wid ?? 'session',
      actor: makeActor(credentials),
      revive: (snapshot) => makeActor(snapshot.context.credentials),
      stats,
      facts: ({ context }) => ({
        reason: context.failure,
        me: context.credentials?.wid ?? null,
        droppedFrames: context.droppedFrames,
      }),
      user: {
        sendText: (jid, text, id) => ({ type: 'user.sendText', jid, text, id }),
        logout: { type: 'user.logout' },
        restart: { type: 'user.restart' },
        takeOver: { type: 'user.takeOver' },
      },
      newMessageId: () => newMessageId(),
      settled: () => storeWrites,
    },
    events,
  );
  crash = bridged.crash;
  return bridged.session;
}
