// createSession: the session machine with its effects supplied (socket, credential store, media
// queue), its states and events as RxJS observables, and the few things an application asks of it.
import { randomBytes } from 'node:crypto';
import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import { type Actor, createActor, type InspectionEvent } from 'xstate';
import { newMessageId } from '../codec/index.ts';
import { toBase64, x25519KeyPair } from '../crypto/index.ts';
import { type MediaItem, sessionMachine } from '../machines/legacy/session.ts';
import type {
  Credentials,
  LoginMode,
  SessionEmitted,
  SessionTiming,
} from '../machines/legacy/session-types.ts';
import { stateName } from '../machines/state-name.ts';
import type { MediaQueue } from '../workers/media-job.ts';
import { type CredentialStore, MemoryCredentialStore } from './credential-store.ts';
import type { ProtocolStats } from './legacy/client-protocol.ts';
import { createSocketActor, type SocketOptions } from './legacy/socket.ts';

export interface CreateSessionOptions {
  /** The server's WebSocket address, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Where credentials persist; default: memory only. */
  store?: CredentialStore;
  /** Where incoming media goes; default: nowhere (the `media` events still arrive). */
  queue?: MediaQueue;
  /** A name for logs and the session manager. */
  name?: string;
  origin?: string;
  /** What the phone lists for this browser: [os or app, browser, version]. */
  description?: string[];
  loginMode?: LoginMode;
  timing?: Partial<SessionTiming>;
  /** XState's inspection hook (the inspector page uses it). */
  inspect?: (event: InspectionEvent) => void;
  /** An XState clock (SimulatedClock in tests). */
  clock?: {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => unknown;
    clearTimeout: (id: unknown) => void;
  };
  random?: () => number;
}

export interface SessionState {
  /** `online.qr.showing`, `online.ready`, `conflict`, … (see machines/state-name.ts). */
  name: string;
  /** The full XState value, parallel regions included. */
  value: unknown;
}

/** Everything the session tells an application, in order. */
export type SessionAppEvent =
  | Exclude<SessionEmitted, { type: 'qr' }>
  | { type: 'qr'; text: string; ref: string; ttl: number; index: number; expiresAt: number }
  | { type: 'state'; state: string; previous: string | null }
  | { type: 'media.queued'; id: string; messageId: string }
  | { type: 'error'; where: 'store' | 'queue'; message: string };

export interface Session {
  readonly name: string;
  readonly actor: Actor<typeof sessionMachine>;
  readonly state$: Observable<SessionState>;
  readonly events$: Observable<SessionAppEvent>;
  readonly stats: ProtocolStats;
  /** The current state name. */
  readonly state: string;
  /** Sends a text message (only in `ready`); resolves with its message id. */
  send(jid: string, text: string): string;
  logout(): void;
  restart(): void;
  takeOver(): void;
  /** Resolves when the state name satisfies `predicate` (or rejects after `timeoutMs`). */
  waitFor(predicate: (state: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Starts the machine (subscribe to events$ first to see every event). Returns the session. */
  start(): Session;
  /** Stops the machine (closing its socket) and waits for pending credential writes. */
  stop(): Promise<void>;
}

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

export async function createSession(options: CreateSessionOptions): Promise<Session> {
  const store = options.store ?? new MemoryCredentialStore();
  const credentials = await store.load();
  const stats: ProtocolStats = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  const events$ = new Subject<SessionAppEvent>();
  let storeWrites: Promise<void> = Promise.resolve();
  const reportError = (where: 'store' | 'queue', error: unknown) =>
    events$.next({ type: 'error', where, message: (error as Error).message });

  const effects: SessionEffects = {
    socket: { url: options.url, ...(options.origin ? { origin: options.origin } : {}), stats },
    storeCredentials: (saved) => {
      storeWrites = storeWrites.then(() => store.save(saved)).catch((e) => reportError('store', e));
    },
    clearCredentials: () => {
      storeWrites = storeWrites.then(() => store.clear()).catch((e) => reportError('store', e));
    },
    enqueueMedia: (items) => {
      const queue = options.queue;
      if (!queue) return;
      for (const item of items) {
        const { media } = item;
        queue
          .enqueue({
            type: media.type,
            mediaKey: media.mediaKey,
            ...(media.url ? { url: media.url } : {}),
            ...(media.directPath ? { directPath: media.directPath } : {}),
            ...(media.fileSha256 ? { fileSha256: media.fileSha256 } : {}),
            ...(media.fileEncSha256 ? { fileEncSha256: media.fileEncSha256 } : {}),
            ...(media.fileLength !== undefined ? { fileLength: media.fileLength } : {}),
            ...(media.mimetype ? { mimetype: media.mimetype } : {}),
            messageId: item.messageId,
            chatJid: item.chat,
          })
          .then(({ id }) => events$.next({ type: 'media.queued', id, messageId: item.messageId }))
          .catch((error) => reportError('queue', error));
      }
    },
  };

  const actor = createActor(providedMachine, {
    input: {
      clientId: credentials?.clientId ?? newClientId(),
      credentials,
      keyPair: x25519KeyPair(),
      ...(options.description ? { description: options.description } : {}),
      ...(options.loginMode ? { loginMode: options.loginMode } : {}),
      ...(options.timing ? { timing: options.timing } : {}),
      ...(options.random ? { random: options.random } : {}),
    },
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  effectsBySystem.set(actor.system, effects);
  const state$ = new BehaviorSubject<SessionState>({ name: 'starting', value: null });
  let previous: string | null = null;
  actor.subscribe({
    next: (snapshot) => {
      const name = stateName(snapshot.value);
      if (name === previous) return;
      events$.next({ type: 'state', state: name, previous });
      previous = name;
      state$.next({ name, value: snapshot.value });
    },
    error: (error) => events$.error(error),
  });
  actor.on('*', (emitted) => {
    if (emitted.type === 'qr') events$.next({ ...emitted, expiresAt: Date.now() + emitted.ttl });
    else events$.next(emitted as SessionAppEvent);
  });
  const name = options.name ?? credentials?.wid ?? 'session';
  const session: Session = {
    name,
    actor,
    state$: state$.asObservable(),
    events$: events$.asObservable(),
    stats,
    get state() {
      return state$.value.name;
    },
    start() {
      actor.start();
      return session;
    },
    send(jid: string, text: string): string {
      const id = newMessageId();
      actor.send({ type: 'SEND_TEXT', jid, text, id });
      return id;
    },
    logout: () => actor.send({ type: 'LOGOUT' }),
    restart: () => actor.send({ type: 'RESTART' }),
    takeOver: () => actor.send({ type: 'TAKE_OVER' }),
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        if (predicate(state$.value.name)) {
          resolve(state$.value.name);
          return;
        }
        const timer = setTimeout(() => {
          subscription.unsubscribe();
          reject(new Error(`session stayed in ${state$.value.name} for ${timeoutMs} ms`));
        }, timeoutMs);
        const subscription = state$.subscribe((state) => {
          if (!predicate(state.name)) return;
          clearTimeout(timer);
          queueMicrotask(() => subscription.unsubscribe());
          resolve(state.name);
        });
      });
    },
    async stop() {
      actor.stop();
      await storeWrites;
      events$.complete();
      state$.complete();
    },
  };
  return session;
}
