// Many sessions in one process, each its own actor. Connects go through a bounded queue so a restart
// with thousands of stored sessions does not open thousands of sockets and logins at once.
import PQueue from 'p-queue';
import { type Observable, Subject } from 'rxjs';
import type { CreateMdSessionOptions } from './md/index.ts';
import { createSession } from './session.ts';
import type { CreateSessionOptions, Session, SessionAppEvent, SessionState } from './session-types.ts';

/** What a managed session is made from: either protocol's options, without the name (the manager's key). */
export type ManagedSessionOptions =
  | Omit<CreateSessionOptions & { protocol?: 'legacy' }, 'name'>
  | Omit<CreateMdSessionOptions, 'name'>;

export interface SessionManagerOptions {
  /** Sessions connecting (socket open → ready or a resting state) at the same time (default 50). */
  concurrentConnects?: number;
  /** How long one connect may hold its slot before the next one goes (default 30 s). */
  connectSlotMs?: number;
}

/** A session's event, labelled with the session's name. */
export interface ManagedEvent {
  session: string;
  event: SessionAppEvent;
}

/** A connect no longer needs its slot once the session is ready, waits for a human, or rests. */
const hasSettled = ({ tags }: SessionState) =>
  tags.includes('ready') || tags.includes('needsScan') || tags.includes('resting');

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly connects: PQueue;
  private readonly subject = new Subject<ManagedEvent>();
  readonly events$: Observable<ManagedEvent> = this.subject.asObservable();

  constructor(private readonly options: SessionManagerOptions = {}) {
    this.connects = new PQueue({ concurrency: options.concurrentConnects ?? 50 });
  }

  get size(): number {
    return this.sessions.size;
  }

  get(name: string): Session | undefined {
    return this.sessions.get(name);
  }

  names(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Creates and starts a session under `name` once a connect slot is free; resolves with the session
   * when it has settled (ready, showing a QR code, or in a resting state).
   */
  async add(name: string, options: ManagedSessionOptions): Promise<Session> {
    const { session, settled } = await this.open(name, options);
    await settled;
    return session;
  }

  /**
   * Creates the session at once and starts it when a connect slot is free: `settled` resolves when it
   * has settled (for callers that want the session object before it connects).
   */
  async open(
    name: string,
    options: ManagedSessionOptions,
  ): Promise<{ session: Session; settled: Promise<void> }> {
    if (this.sessions.has(name)) throw new Error(`a session named ${name} exists`);
    const session = await createSession({ ...options, name } as Parameters<typeof createSession>[0]);
    this.sessions.set(name, session);
    session.events$.subscribe({
      next: (event) => this.subject.next({ session: name, event }),
      complete: () => undefined,
    });
    const slotMs = this.options.connectSlotMs ?? 30_000;
    const settled = this.connects.add(async () => {
      if (this.sessions.get(name) !== session) return;
      session.start();
      await session.waitFor(hasSettled, slotMs).catch(() => undefined);
    });
    return { session, settled };
  }

  /** Stops one session (its credentials stay stored). */
  async remove(name: string): Promise<void> {
    const session = this.sessions.get(name);
    if (!session) return;
    this.sessions.delete(name);
    await session.stop();
  }

  async stopAll(): Promise<void> {
    this.connects.clear();
    await Promise.all(this.names().map((name) => this.remove(name)));
  }
}
