// What the MD session suites set up alike: an emulator on 127.0.0.1 with quick MD timers, an empty MD
// credential store, and a recorder of a session's events with a wait for the first one of a type that
// matches.
import { MemoryCredentialStore, type Session, type SessionAppEvent } from '../../actors/index.ts';
import { MD_CREDENTIAL_CODEC, type MdCredentialRecord } from '../../actors/md/index.ts';
import { type Emulator, startEmulator } from '../../emulator/index.ts';

/** The emulator with quick first frames and stream-error closes (the companion's timers are its own). */
export function startMdEmulator(): Promise<Emulator> {
  return startEmulator({
    port: 0,
    host: '127.0.0.1',
    md: { firstFrameDelayMs: 1, streamErrorCloseMs: 5 },
  });
}

export function newMdStore(): MemoryCredentialStore<MdCredentialRecord> {
  return new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
}

export type EventOf<T extends SessionAppEvent['type']> = Extract<SessionAppEvent, { type: T }>;

export interface RecordedEvents {
  /** Every event the session emitted since it was recorded, in order. */
  events: SessionAppEvent[];
  /** The first event of `type` that `matches` (seen already or still to come), within `timeoutMs`. */
  next<T extends SessionAppEvent['type']>(
    type: T,
    matches?: (event: EventOf<T>) => boolean,
    timeoutMs?: number,
  ): Promise<EventOf<T>>;
}

export function recordEvents(session: Session): RecordedEvents {
  const events: SessionAppEvent[] = [];
  const waiters = new Set<() => void>();
  session.events$.subscribe((event) => {
    events.push(event);
    for (const wake of [...waiters]) wake();
  });
  const next = <T extends SessionAppEvent['type']>(
    type: T,
    matches: (event: EventOf<T>) => boolean = () => true,
    timeoutMs = 8000,
  ) =>
    new Promise<EventOf<T>>((resolve, reject) => {
      const check = () => {
        const found = events.find((event) => event.type === type && matches(event as EventOf<T>));
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found as EventOf<T>);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${type}; saw ${events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { events, next };
}
