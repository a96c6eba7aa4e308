// Runs walink sessions against an emulator on 127.0.0.1 and records what they did, in order.
import pino from 'pino';
import type { Subscription } from 'rxjs';
import {
  type CredentialStore,
  createSession,
  MemoryCredentialStore,
  type Session,
  type SessionAppEvent,
} from '../../actors/index.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../emulator/index.ts';
import type { SessionTiming } from '../../machines/index.ts';
import { http } from './raw-client.ts';

export const PHONE = '491511112222';

/** Short timers so faults resolve quickly; each bounded, none waits forever. */
export const FAST_TIMING: Partial<SessionTiming> = { backoffBase: 20, backoffMax: 200, logoutTimeout: 2_000 };

export async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    // Speed over a real server's latency (the emulator's own tests model it).
    legacy: { latencyMs: 0 },
    ...options,
  });
}

export interface Recorded {
  session: Session;
  store: CredentialStore;
  states: string[];
  events: SessionAppEvent[];
  /** Resolves when the session reaches `state` (a name or a predicate), within `timeoutMs`. */
  reach(state: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the next event of `type` not seen before. */
  nextEvent<T extends SessionAppEvent['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<SessionAppEvent, { type: T }>>;
  stop(): Promise<void>;
}

export async function recordSession(
  emu: Emulator,
  options: {
    store?: CredentialStore;
    timing?: Partial<SessionTiming>;
    scanAs?: string | null;
    loginMode?: 'takeover' | 'reconnect';
  } = {},
): Promise<Recorded> {
  const store = options.store ?? new MemoryCredentialStore();
  const session = await createSession({
    url: emu.wsUrl,
    store,
    timing: { ...FAST_TIMING, ...options.timing },
    ...(options.loginMode ? { loginMode: options.loginMode } : {}),
  });
  const states: string[] = [];
  const events: SessionAppEvent[] = [];
  const subscriptions: Subscription[] = [];
  const seen = new Map<string, number>();
  subscriptions.push(
    session.events$.subscribe((event) => {
      events.push(event);
      if (event.type === 'state') states.push(event.state);
    }),
  );
  if (options.scanAs !== null) {
    const phone = options.scanAs ?? PHONE;
    subscriptions.push(
      session.events$.subscribe((event) => {
        if (event.type === 'qr') void http(emu.url, 'POST', `/phones/${phone}/scan`, { qr: event.text });
      }),
    );
  }
  session.start();
  return {
    session,
    store,
    states,
    events,
    reach: async (state, timeoutMs = 10_000) => {
      await session.waitFor(({ name }) => name === state, timeoutMs);
    },
    nextEvent: (type, timeoutMs = 10_000) => {
      const from = seen.get(type) ?? 0;
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = () => {
          const matches = events.filter((e) => e.type === type);
          if (matches.length > from) {
            seen.set(type, from + 1);
            resolve(matches[from] as never);
          } else if (Date.now() > deadline) reject(new Error(`no ${type} event within ${timeoutMs} ms`));
          else setTimeout(poll, 5);
        };
        poll();
      });
    },
    stop: async () => {
      for (const s of subscriptions) s.unsubscribe();
      await session.stop();
    },
  };
}

export async function fault(emu: Emulator, rule: Record<string, unknown>): Promise<void> {
  const answer = await http(emu.url, 'POST', '/faults', rule);
  if (answer.status !== 200) throw new Error(`fault refused: ${JSON.stringify(answer.body)}`);
}

/** Waits a little to show that nothing more happens (bounded). */
export function settle(ms = 200): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Pairs a fresh session and returns its store (holding credentials) after stopping it. */
export async function pairedStore(emu: Emulator): Promise<MemoryCredentialStore> {
  const store = new MemoryCredentialStore();
  const first = await recordSession(emu, { store });
  await first.reach('online.ready');
  await first.stop();
  return store;
}

/** Polls `condition` every 5 ms until it holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
