// The session service behind `walink serve`: many named sessions of either protocol (legacy, or the
// multi-device companion of docs/protocol-md.md), each with its own credential file, what the page shows
// of each (state, QR code, pair code, recent events), media jobs, and one stream of updates fed by XState's
// inspection API. Secrets never enter that stream.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Observable, Subject } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import {
  FileCredentialStore,
  type ManagedSessionOptions,
  md,
  type Session,
  type SessionAppEvent,
  SessionManager,
  type SessionPairCode,
  type SessionQr,
} from '../actors/index.ts';
import { jsonSafe } from '../codec/index.ts';
import { activePaths, type SessionTag, transitionIdOf } from '../machines/index.ts';
import type { MediaJobEvent, MediaQueue } from '../workers/index.ts';

/** The code a session shows (the ref names it: a new ref is a new image). */
export type QrView = SessionQr;

export type SessionProtocol = 'legacy' | 'md';

/** The multi-device pair code up for the phone to type (docs/protocol-md.md §7), and the number it is for. */
export interface PairCodeView extends SessionPairCode {
  phone: string;
}

/** The machine each protocol's sessions run (its name in the machine registry: the inspector draws it). */
export const MACHINE_OF: Readonly<Record<SessionProtocol, string>> = { legacy: 'session', md: 'md-session' };

export interface SessionView {
  name: string;
  protocol: SessionProtocol;
  /** The registry name of the machine it runs (`session`, `md-session`). */
  machine: string;
  state: string;
  value: unknown;
  active: string[];
  /** The session's state tags (online, needsScan, ready, offline, resting): the page reads these. */
  tags: SessionTag[];
  qr: QrView | null;
  /** Multi-device: the pair code while one is up (tagged needsCode), else null. */
  pairCode: PairCodeView | null;
  /** Multi-device: why the last pair-code request ended without a code or a pairing, until the next one. */
  pairCodeFailure: string | null;
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
  /** The legacy server's WebSocket address. */
  wsUrl: string;
  /**
   * The multi-device server (its `/ws/chat` address, and its certificate root when it is not WhatsApp's):
   * without it the service makes legacy sessions only.
   */
  md?: { wsUrl: string; rootPublicKey?: Uint8Array };
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
    readonly status: 400 | 404 | 409 | 429 | 502 | 504,
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
  protocol: SessionProtocol;
  session: Session;
  events: LoggedEvent[];
  nextSeq: number;
  /** The phone the last pair code was asked for, and the code once it came. */
  codePhone: string | null;
  pairCode: PairCodeView | null;
  pairCodeFailure: string | null;
}

/** A credential file's session: `<name>.json` legacy, `<name>.md.json` multi-device. */
function fileOf(name: string, protocol: SessionProtocol): string {
  return protocol === 'md' ? `${name}.md.json` : `${name}.json`;
}

function sessionOfFile(file: string): { name: string; protocol: SessionProtocol } | null {
  if (!file.endsWith('.json')) return null;
  const base = file.slice(0, -'.json'.length);
  const protocol: SessionProtocol = base.endsWith('.md') ? 'md' : 'legacy';
  const name = protocol === 'md' ? base.slice(0, -'.md'.length) : base;
  return NAME.test(name) ? { name, protocol } : null;
}

/** How a failed pair-code request is answered over HTTP (the machine's reasons, machines/md). */
function pairCodeStatus(reason: string): 400 | 409 | 429 | 502 {
  if (reason === 'invalidPhone') return 400;
  if (reason === 'notPairing' || reason === 'useQr') return 409;
  if (reason === 'rateLimited') return 429;
  return 502;
}

export interface CreateSessionRequest {
  name?: string;
  /** Default legacy. */
  protocol?: SessionProtocol;
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
    const found = files
      .map(sessionOfFile)
      .filter((f): f is { name: string; protocol: SessionProtocol } => f !== null)
      // Multi-device files only when there is an MD server to log in to.
      .filter((f) => f.protocol === 'legacy' || this.options.md)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
    const restored: string[] = [];
    const skipped: string[] = [];
    for (const file of found) {
      if (this.entries.has(file.name) || this.entries.size + this.opening.size >= this.maxSessions) {
        skipped.push(file.name);
        continue;
      }
      await this.create({ name: file.name, protocol: file.protocol });
      restored.push(file.name);
    }
    return { restored, skipped };
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
      protocol: entry.protocol,
      machine: MACHINE_OF[entry.protocol],
      state: state.name,
      value: state.value,
      active: activePaths(state.value),
      tags: state.tags,
      qr: state.qr,
      pairCode: state.tags.includes('needsCode') ? entry.pairCode : null,
      pairCodeFailure: entry.pairCodeFailure,
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

  /** Whether multi-device sessions can be made (an MD server is configured). */
  get mdAvailable(): boolean {
    return this.options.md !== undefined;
  }

  /**
   * Creates and starts a session (legacy unless `protocol: 'md'`); without a name it gets the next free
   * `session-N`. A string is the name of a legacy session.
   */
  async create(request: CreateSessionRequest | string = {}): Promise<SessionView> {
    const { name: requested, protocol = 'legacy' } =
      typeof request === 'string' ? { name: request } : request;
    if (protocol !== 'legacy' && protocol !== 'md') {
      throw new SessionServiceError(400, 'protocol is "legacy" or "md"');
    }
    const mdServer = this.options.md;
    if (protocol === 'md' && !mdServer) {
      throw new SessionServiceError(409, 'this service has no multi-device server (walink serve --md-url)');
    }
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
      const file = join(this.options.sessionsDir, fileOf(name, protocol));
      const options: ManagedSessionOptions =
        protocol === 'md' && mdServer
          ? {
              protocol: 'md',
              url: mdServer.wsUrl,
              ...(mdServer.rootPublicKey ? { rootPublicKey: mdServer.rootPublicKey } : {}),
              store: new FileCredentialStore(file, md.MD_CREDENTIAL_CODEC),
              queue: this.options.queue,
              inspect,
            }
          : {
              url: this.options.wsUrl,
              store: new FileCredentialStore(file),
              queue: this.options.queue,
              inspect,
            };
      const { session } = await this.manager.open(name, options);
      const opened: Entry = {
        protocol,
        session,
        events: [],
        nextSeq: 1,
        codePhone: null,
        pairCode: null,
        pairCodeFailure: null,
      };
      entry = opened;
      this.entries.set(name, opened);
      session.events$.subscribe((event) => this.onSessionEvent(name, event));
    } finally {
      this.opening.delete(name);
    }
    this.publish(name);
    return this.view(name)!;
  }

  /**
   * Multi-device: asks for a pair code for `phone` (docs/protocol-md.md §7) and resolves with it once the
   * server accepted the request; a refusal or a request that ends without a code rejects with its reason.
   */
  requestPairingCode(name: string, phone: unknown, timeoutMs = 20_000): Promise<PairCodeView> {
    const entry = this.entry(name);
    if (entry.protocol !== 'md') {
      throw new SessionServiceError(409, `${name} is a legacy session: pair codes are multi-device only`);
    }
    let digits: string;
    try {
      digits = md.normalizePhone(phone as string);
    } catch (error) {
      throw new SessionServiceError(400, `phone: ${(error as Error).message}`);
    }
    return new Promise<PairCodeView>((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        // Unsubscribed after the synchronous replay of subscribe() has returned.
        queueMicrotask(() => subscription.unsubscribe());
        outcome();
      };
      const timer = setTimeout(
        () => finish(() => reject(new SessionServiceError(504, `no pair code within ${timeoutMs} ms`))),
        timeoutMs,
      );
      let asked = false;
      const subscription = entry.session.events$.subscribe((event) => {
        if (!asked) return; // the replayed QR code, or what came before the request
        if (event.type === 'pairCode') {
          const { type: _type, ...code } = event;
          finish(() => resolve({ ...code, phone: digits }));
        }
        // The request this one replaced ends as cancelled: not this one's answer.
        else if (event.type === 'md.pairCode.failed' && event.reason !== 'cancelled') {
          const reason = event.reason;
          finish(() => reject(new SessionServiceError(pairCodeStatus(reason), `no pair code: ${reason}`)));
        }
      });
      asked = true;
      entry.codePhone = digits;
      entry.pairCodeFailure = null;
      entry.session.requestPairingCode(digits);
    });
  }

  /** The phone number the session's current pair code was asked for (the phone that must type it). */
  pairCodeOf(name: string): PairCodeView | null {
    return this.view(name)?.pairCode ?? null;
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
    const entry = this.entries.get(name);
    if (entry && event.type === 'pairCode') {
      const { type: _type, ...code } = event;
      entry.pairCode = { ...code, phone: entry.codePhone ?? '' };
      this.publish(name);
    } else if (entry && event.type === 'md.pairCode.failed' && event.reason !== 'cancelled') {
      entry.pairCode = null;
      entry.pairCodeFailure = event.reason;
      this.publish(name);
    } else if (entry && event.type === 'md.paired') {
      entry.pairCode = null;
      entry.pairCodeFailure = null;
    }
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
