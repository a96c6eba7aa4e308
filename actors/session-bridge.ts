// The bridge from a running session machine to the Session an application holds (as LedgerHQ's
// device-sdk-ts bridges XState actors to RxJS): snapshots become the public SessionState, replayed to a
// late subscriber by a BehaviorSubject; emitted events become events$, where a late subscriber first
// gets the QR code that is up. Protocol-neutral: the protocol supplies its machine and a reader of its
// snapshots' facts.
import { BehaviorSubject, Observable, Subject } from 'rxjs';
import type { AnyActor, EventObject, StateValue } from 'xstate';
import { SESSION_TAGS, stateName } from '../machines/index.ts';
import type { ProtocolStats, Session, SessionAppEvent, SessionQr, SessionState } from './session-types.ts';

/** The parts of a machine snapshot the bridge reads. */
export interface BridgedSnapshot {
  value: StateValue;
  tags: ReadonlySet<string>;
}

export interface SessionRuntime<TSnapshot extends BridgedSnapshot> {
  name: string;
  /** The session machine's actor, not started yet. */
  actor: AnyActor;
  /** A new actor (not started) to replace one that crashed, from its last good snapshot's credentials. */
  revive(from: TSnapshot): AnyActor;
  stats: ProtocolStats;
  /** The protocol's facts in a snapshot: why it ended, who it is, frames dropped. */
  facts(snapshot: TSnapshot): Pick<SessionState, 'reason' | 'me' | 'droppedFrames'>;
  /** The machine events for what a user asks. */
  user: {
    sendText(jid: string, text: string, id: string): EventObject;
    logout: EventObject;
    restart: EventObject;
    takeOver: EventObject;
    /** The machine event for a pair-code request; absent when the protocol has none (legacy). */
    requestPairingCode?: (phone: string) => EventObject;
  };
  /**
   * The public event for one the machine emitted, or null to drop it; default: as emitted (a `qr` gets its
   * expiresAt from its ttl).
   */
  translate?: (emitted: EventObject, now: number) => SessionAppEvent | null;
  /** A new message id for send(). */
  newMessageId(): string;
  /** Resolves when the session's effects have finished their writes (stop() waits for it). */
  settled(): Promise<void>;
  /** The wall clock QR expiries are told in (ms). */
  now?: () => number;
}

/** events$, with the QR code that is up replayed to a new subscriber. */
export class SessionEventStream {
  private readonly live = new Subject<SessionAppEvent>();
  private currentQr: Extract<SessionAppEvent, { type: 'qr' }> | null = null;
  /** The multi-device pair code that is up (replayed like the QR code: it is something to act on). */
  private currentPairCode: Extract<SessionAppEvent, { type: 'pairCode' }> | null = null;

  readonly events$ = new Observable<SessionAppEvent>((subscriber) => {
    // Events told while the replay is delivered wait behind it, so the order holds.
    const waiting: SessionAppEvent[] = [];
    let replaying = true;
    const subscription = this.live.subscribe({
      next: (event) => (replaying ? waiting.push(event) : subscriber.next(event)),
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    if (this.currentQr) subscriber.next(this.currentQr);
    if (this.currentPairCode) subscriber.next(this.currentPairCode);
    while (waiting.length > 0) subscriber.next(waiting.shift()!);
    replaying = false;
    return subscription;
  });

  /** The QR code that is up, if any. */
  get qr(): SessionQr | null {
    if (!this.currentQr) return null;
    const { type: _type, ...qr } = this.currentQr;
    return qr;
  }

  tell(event: SessionAppEvent): void {
    if (event.type === 'qr') this.currentQr = event;
    if (event.type === 'pairCode') this.currentPairCode = event;
    this.live.next(event);
  }

  /** The code is gone (scanned, expired or its socket closed). */
  qrGone(): void {
    this.currentQr = null;
  }

  /** The pair code is gone (typed, expired, replaced or refused). */
  pairCodeGone(): void {
    this.currentPairCode = null;
  }

  error(error: unknown): void {
    this.live.error(error);
  }

  complete(): void {
    this.live.complete();
  }
}

const STARTING = 'starting';

/** The public name of the state a session rests in once its own code failed (like the machine's `failed`). */
const CRASHED = 'failed';

/** What the protocol's session keeps beside its Session: a way to end it when one of its effects throws. */
export interface BridgedSession {
  session: Session;
  /**
   * Ends the session in `failed` (reason `internalError`) because its own code threw: the actor is stopped
   * (its socket closes), the error is told as an `error` event, and the process carries on. `restart()`
   * starts a new actor from the last credentials the session held.
   */
  crash(error: unknown, where?: string): void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function bridgeSession<TSnapshot extends BridgedSnapshot>(
  runtime: SessionRuntime<TSnapshot>,
  events: SessionEventStream,
): BridgedSession {
  let actor = runtime.actor;
  const now = runtime.now ?? Date.now;
  let started = false;
  let stopped = false;
  /** Set once an exception ended the running actor; cleared by restart(). */
  let crashed: { snapshot: TSnapshot } | null = null;
  let detach: () => void = () => undefined;

  const stateOf = (snapshot: TSnapshot): SessionState => {
    const tags = started ? SESSION_TAGS.filter((tag) => snapshot.tags.has(tag)) : [];
    return {
      name: started ? stateName(snapshot.value) : STARTING,
      value: started ? snapshot.value : null,
      tags,
      resting: tags.includes('resting'),
      ...runtime.facts(snapshot),
      qr: tags.includes('needsScan') ? events.qr : null,
    };
  };
  const crashedState = (snapshot: TSnapshot): SessionState => ({
    name: CRASHED,
    value: CRASHED,
    tags: ['offline', 'resting'],
    resting: true,
    ...runtime.facts(snapshot),
    reason: 'internalError',
    qr: null,
  });
  const current = () =>
    crashed ? crashedState(crashed.snapshot) : stateOf(actor.getSnapshot() as TSnapshot);

  const state$ = new BehaviorSubject<SessionState>(current());
  const publish = (state: SessionState) => {
    if (!state.tags.includes('needsScan')) events.qrGone();
    if (!state.tags.includes('needsCode')) events.pairCodeGone();
    const previous = state$.value.name;
    if (state.name === previous) return;
    events.tell({ type: 'state', state: state.name, previous: previous === STARTING ? null : previous });
    state$.next(state);
  };
  /** The last snapshot of a running actor: what a crash keeps (an errored snapshot may lack its context). */
  let lastGood = actor.getSnapshot() as TSnapshot;

  const crash = (error: unknown, where = 'session') => {
    if (crashed || stopped) return;
    crashed = { snapshot: lastGood };
    detach();
    try {
      actor.stop();
    } catch {
      // An actor that failed may refuse to stop again; its socket child is stopped either way.
    }
    events.tell({ type: 'error', where: 'session', message: `${where}: ${messageOf(error)}` });
    publish(current());
    events.tell({ type: 'failed', reason: 'internalError' });
  };

  const attach = (next: AnyActor) => {
    actor = next;
    lastGood = actor.getSnapshot() as TSnapshot;
    const subscription = actor.subscribe({
      next: (snapshot) => {
        if ((snapshot as { status?: string }).status === 'error') return;
        lastGood = snapshot as TSnapshot;
        publish(stateOf(snapshot as TSnapshot));
      },
      // XState caught an exception in one of the machine's actions: this session ends, no other.
      error: (error) => crash(error, 'machine'),
    });
    const listener = actor.on('*', (emitted: EventObject) => {
      if (runtime.translate) {
        const translated = runtime.translate(emitted, now());
        if (translated) events.tell(translated);
      } else if (emitted.type === 'qr') {
        const qr = emitted as Extract<SessionAppEvent, { type: 'qr' }>;
        events.tell({ ...qr, expiresAt: now() + qr.ttl });
      } else events.tell(emitted as SessionAppEvent);
    });
    detach = () => {
      subscription.unsubscribe();
      listener.unsubscribe();
    };
  };
  attach(actor);

  const send = (event: EventObject) => {
    if (!crashed) actor.send(event);
  };

  // `state` is defined after the literal: V8 builds an object literal holding an accessor as a hash table
  // (~0.8 KiB per session instead of ~0.15).
  const session = {
    name: runtime.name,
    state$: state$.asObservable(),
    events$: events.events$,
    stats: runtime.stats,
    start() {
      started = true;
      actor.start();
      return session;
    },
    send(jid: string, text: string): string {
      const id = runtime.newMessageId();
      send(runtime.user.sendText(jid, text, id));
      return id;
    },
    logout: () => send(runtime.user.logout),
    restart: () => {
      if (!crashed) {
        actor.send(runtime.user.restart);
        return;
      }
      const from = crashed.snapshot;
      crashed = null;
      attach(runtime.revive(from));
      actor.start();
    },
    takeOver: () => send(runtime.user.takeOver),
    requestPairingCode(phone: string) {
      const request = runtime.user.requestPairingCode;
      if (!request) throw new TypeError(`${runtime.name}: pairing codes exist only in multi-device sessions`);
      send(request(phone));
    },
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise<SessionState>((resolve, reject) => {
        const state = current();
        if (predicate(state)) {
          resolve(state);
          return;
        }
        const timer = setTimeout(() => {
          subscription.unsubscribe();
          reject(new Error(`session stayed in ${current().name} for ${timeoutMs} ms`));
        }, timeoutMs);
        const subscription = state$.subscribe((state) => {
          if (!predicate(state)) return;
          clearTimeout(timer);
          queueMicrotask(() => subscription.unsubscribe());
          resolve(state);
        });
      });
    },
    async stop() {
      stopped = true;
      actor.stop();
      detach();
      await runtime.settled();
      events.complete();
      state$.complete();
    },
  } as Omit<Session, 'state'> as Session;
  Object.defineProperty(session, 'state', { get: current, enumerable: true });
  return { session, crash };
}
