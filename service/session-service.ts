// The session service behind `walink serve`: many named sessions (each with its own credential file),
// what the page shows of each (state, QR code, recent events), media jobs, and one stream of updates
// fed by XState's inspection API. Secrets never enter that stream.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Observable, Subject } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import {
  FileCredentialStore,
  type Session,
  type SessionAppEvent,
  SessionManager,
  type SessionQr,
} from '../actors/index.ts';
import { jsonSafe } from '../codec/index.ts';
import { activePaths, type SessionTag, transitionIdOf } from '../machines/index.ts';
import type { MediaJobEvent, MediaQueue } from '../workers/index.ts';

/** The code a session shows (the ref names it: a new ref is a new image). */
export type QrView = SessionQr;

export interface SessionView {
  name: string;
  state: string;
  value: unknown;
  active: string[];
  /** The session's state tags (online, needsScan, ready, offline, resting): the page reads these. */
  tags: SessionTag[];
  qr: QrView | null;
  wid: string | null;
  failure: string | null;
  droppedFrames: number;
}

export interface LoggedEvent {
  /** Counts up per session from 1: the page merges history and live events by it. */
  seq: number;
  at: number;
  type: string;
  /** The event as sent to the machine, JSON-safe and with secrets redacted. */
  payload: unknown;
}

export interface JobView {
  id: string;
  session: string | null;
  messageId: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  bytesDone: number;
  bytesTotal: number | null;
  outPath?: string;
  reason?: string;
}

/** What the page's live stream carries. */
export type ServiceUpdate =
  | { type: 'session'; session: SessionView }
  | { type: 'session.removed'; name: string }
  | { type: 'event'; session: string; event: LoggedEvent }
  | { type: 'transition'; session: string; transitions: string[] }
  | { type: 'job'; job: JobView };

export interface SessionServiceOptions {
  /** The server's WebSocket address. */
  wsUrl: string;
  /** Credential files live here, one per session (`<name>.json`, mode 0600). */
  sessionsDir: string;
  queue: MediaQueue;
  /** An extra inspection observer (e.g. @statelyai/inspect for the hosted inspector). */
  inspect?: (event: InspectionEvent) => void;
  /** Events kept per session for a page that connects late. */
  eventHistory?: number;
  /** Sessions open at once (default 100): one more is refused with 409. */
  maxSessions?: number;
}

export const DEFAULT_MAX_SESSIONS = 100;

const NAME = /^[A-Za-z0-9_-]{1,40}$/;
const MAX_PAYLOAD_CHARS = 4_000;

export class SessionServiceError extends Error {
  override name = 'SessionServiceError';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** A payload small enough for a log line: the redacted JSON, cut when it is long. */
function loggable(event: { type: string }): unknown {
  const safe = jsonSafe(event);
  const text = JSON.stringify(safe);
  return text.length <= MAX_PAYLOAD_CHARS ? safe : { truncated: `${text.slice(0, MAX_PAYLOAD_CHARS)}…` };
}

interface Entry {
  session: Session;
  events: LoggedEvent[];
  nextSeq: number;
}

export class SessionService {
  private readonly manager = new SessionManager({ concurrentConnects: 8 });
  private readonly entries = new Map<string, Entry>();
  private readonly opening = new Set<string>();
  private readonly jobs = new Map<string, JobView>();
  private readonly updates = new Subject<ServiceUpdate>();
  readonly updates$: Observable<ServiceUpdate> = this.updates.asObservable();
  private nextNumber = 1;

  constructor(private readonly options: SessionServiceOptions) {
    options.queue.events$.subscribe((event) => this.onJobEvent(event));
  }

  /**
   * Starts a session for every credential file found (a restarted service restores them by login), up
   * to the session limit; the names beyond it are returned as skipped.
   */
  async restoreAll(): Promise<{ restored: string[]; skipped: string[] }> {
    let files: string[] = [];
    try {
      files = await readdir(this.options.sessionsDir);
    } catch {
      return { restored: [], skipped: [] };
    }
    const names = files
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((n) => NAME.test(n))
      .sort();
    const room = Math.max(0, this.maxSessions - this.entries.size - this.opening.size);
    const restored = names.slice(0, room);
    for (const name of restored) await this.create(name);
    return { restored, skipped: names.slice(room) };
  }

  private get maxSessions(): number {
    return this.options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  list(): SessionView[] {
    return [...this.entries.keys()].map((name) => this.view(name)!);
  }

  view(name: string): SessionView | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    const state = entry.session.state;
    return {
      name,
      state: state.name,
      value: state.value,
      active: activePaths(state.value),
      tags: state.tags,
      qr: state.qr,
      wid: state.me,
      failure: state.reason,
      droppedFrames: state.droppedFrames,
    };
  }

  events(name: string): LoggedEvent[] {
    return this.entries.get(name)?.events ?? [];
  }

  jobList(): JobView[] {
    return [...this.jobs.values()];
  }

  /** Creates and starts a session; without a name it gets the next free `session-N`. */
  async create(requested?: string): Promise<SessionView> {
    const name = requested ?? this.freeName();
    if (!NAME.test(name)) {
      throw new SessionServiceError(400, 'a session name is 1 to 40 letters, digits, "-" or "_"');
    }
    if (this.entries.has(name) || this.opening.has(name)) {
      throw new SessionServiceError(409, `a session named ${name} exists`);
    }
    if (this.entries.size + this.opening.size >= this.maxSessions) {
      throw new SessionServiceError(
        409,
        `${this.maxSessions} sessions are open, the most this service takes (--max-sessions)`,
      );
    }
    // Listed only once its session exists; the name is held while it is being opened.
    let entry: Entry | undefined;
    const history = this.options.eventHistory ?? 200;
    const inspect = (inspection: InspectionEvent) => {
      this.options.inspect?.(inspection);
      // Only the session machine itself; its socket child speaks in commands, not states.
      if (inspection.actorRef.sessionId !== inspection.rootId || !entry) return;
      if (inspection.type === '@xstate.event') {
        const logged: LoggedEvent = {
          seq: entry.nextSeq++,
          at: Date.now(),
          type: inspection.event.type,
          payload: loggable(inspection.event),
        };
        entry.events.push(logged);
        if (entry.events.length > history) entry.events.shift();
        this.updates.next({ type: 'event', session: name, event: logged });
      } else if (inspection.type === '@xstate.microstep') {
        const transitions = inspection._transitions.map((t) => transitionIdOf(t));
        if (transitions.length > 0) this.updates.next({ type: 'transition', session: name, transitions });
      } else if (inspection.type === '@xstate.snapshot') {
        this.publish(name);
      }
    };
    this.opening.add(name);
    try {
      await mkdir(this.options.sessionsDir, { recursive: true, mode: 0o700 });
      const store = new FileCredentialStore(join(this.options.sessionsDir, `${name}.json`));
      const { session } = await this.manager.open(name, {
        url: this.options.wsUrl,
        store,
        queue: this.options.queue,
        inspect,
      });
      const opened: Entry = { session, events: [], nextSeq: 1 };
      entry = opened;
      this.entries.set(name, opened);
      session.events$.subscribe((event) => this.onSessionEvent(name, event));
    } finally {
      this.opening.delete(name);
    }
    this.publish(name);
    return this.view(name)!;
  }

  logout(name: string): SessionView {
    this.entry(name).session.logout();
    return this.view(name)!;
  }

  restart(name: string): SessionView {
    const { session } = this.entry(name);
    if (session.state.name === 'conflict') session.takeOver();
    else session.restart();
    return this.view(name)!;
  }

  /** Stops a session (its credential file stays; a restarted service restores it). */
  async remove(name: string): Promise<void> {
    this.entry(name);
    this.entries.delete(name);
    await this.manager.remove(name);
    this.updates.next({ type: 'session.removed', name });
  }

  async close(): Promise<void> {
    this.entries.clear();
    await this.manager.stopAll();
    this.updates.complete();
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new SessionServiceError(404, `no session named ${name}`);
    return entry;
  }

  private freeName(): string {
    while (this.entries.has(`session-${this.nextNumber}`) || this.opening.has(`session-${this.nextNumber}`))
      this.nextNumber += 1;
    return `session-${this.nextNumber++}`;
  }

  private publish(name: string): void {
    const session = this.view(name);
    if (session) this.updates.next({ type: 'session', session });
  }

  private onSessionEvent(name: string, event: SessionAppEvent): void {
    // A new QR code comes with a new state name, whose snapshot publishes the session (inspect above).
    // A session whose own code failed rests without a machine snapshot: publish its state now.
    if (event.type === 'error' && event.where === 'session') this.publish(name);
    if (event.type === 'media.queued') {
      const job = this.jobs.get(event.id);
      this.setJob({
        id: event.id,
        session: name,
        messageId: event.messageId,
        state: job?.state ?? 'queued',
        bytesDone: job?.bytesDone ?? 0,
        bytesTotal: job?.bytesTotal ?? null,
      });
    }
  }

  private onJobEvent(event: MediaJobEvent): void {
    const job: JobView = this.jobs.get(event.id) ?? {
      id: event.id,
      session: null,
      messageId: null,
      state: 'queued',
      bytesDone: 0,
      bytesTotal: null,
    };
    if (event.type === 'progress') {
      this.setJob({ ...job, state: 'running', bytesDone: event.bytesDone, bytesTotal: event.bytesTotal });
    } else if (event.type === 'done') {
      this.setJob({
        ...job,
        state: 'done',
        bytesDone: event.bytes,
        bytesTotal: event.bytes,
        outPath: event.outPath,
      });
    } else if (event.type === 'failed') {
      this.setJob({ ...job, state: 'failed', reason: event.reason });
    } else {
      this.setJob(job);
    }
  }

  private setJob(job: JobView): void {
    this.jobs.set(job.id, job);
    this.updates.next({ type: 'job', job });
  }
}
