// Runs MD model paths against the real thing: createSession({ protocol: 'md' }) with its real socket actor,
// pairing procedures and device store, talking to the embedded MD emulator (/ws/chat). Time is a
// SimulatedClock (every timer of the machine is an XState delay); the server's misbehaviour comes from
// /md/faults, the phone's actions from /md/phones/…. Records which states and transitions really happened
// (XState inspection), as test/model/world.ts does for legacy.
import { isDeepStrictEqual } from 'node:util';
import { type InspectionEvent, SimulatedClock } from 'xstate';
import { createSession, MemoryCredentialStore, type Session } from '../../actors/index.ts';
import { MD_CREDENTIAL_CODEC, type MdCredentialRecord } from '../../actors/md/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { activePaths, transitionIdOf } from '../../machines/index.ts';
import { http } from '../support/md-raw-client.ts';
import type { Coverage } from './coverage.ts';
import { MODEL_LIMITS, MODEL_TIMING } from './md-session-model.ts';

/** What a step of a path does to the world; md-emulator-model.ts says which, MdModelWorld does it. */
export type MdWorldAction =
  /** Nothing to do: what the model expects follows from the previous action (the session's own I/O). */
  | { kind: 'none' }
  /** Several actions, one after the other, without letting the network run in between. */
  | { kind: 'all'; actions: MdWorldAction[] }
  /** SimulatedClock steps, one increment each (each fires the one timer the model says is due). */
  | { kind: 'advance'; ms: number[] }
  /**
   * The next time the session enters `state`, the clock moves `ms` at once, before any answer can come
   * over the network: the server (or our own procedure) is slower than the deadline. With `command`, the
   * user asks for a code at that moment instead (while the socket is in that state).
   */
  | { kind: 'onEntry'; state: string; ms: number[]; command?: 'code' | 'badCode' }
  | { kind: 'faults'; rules: unknown[] }
  /** The phone scans the QR on screen; `tamper` flips a bit of its adv secret (the HMAC will not match). */
  | { kind: 'scan'; tamper?: boolean }
  /** The phone's user types the code on screen (or a wrong one). */
  | { kind: 'typeCode'; wrong?: boolean }
  | { kind: 'message' }
  | { kind: 'unlink' }
  | { kind: 'user'; command: 'restart' | 'logout' | 'send' | 'sendNowhere' | 'code' | 'badCode' }
  /** The device's next save to the credential store fails (the disk is full). */
  | { kind: 'failNextSave' }
  /** A copy of this device (its stored credentials) logs in elsewhere and stays. */
  | { kind: 'otherCopy' };

/** A MemoryCredentialStore whose next save can be made to fail. */
class FlakyStore extends MemoryCredentialStore<MdCredentialRecord> {
  failNext = false;

  constructor() {
    super(null, MD_CREDENTIAL_CODEC);
  }

  override async save(record: MdCredentialRecord): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the model says the disk is full');
    }
    return super.save(record);
  }
}

const SETTLE_POLLS = 4;
const POLL_MS = 10;
const CONTACT = '4917000000002@s.whatsapp.net';
/** A user the emulator has no devices for: usync lists none, so nothing can be sent to it. */
const NOBODY = '4917000000999@s.whatsapp.net';

let phoneCounter = 0;

export class MdModelWorld {
  private readonly clock = new SimulatedClock();
  private readonly store = new FlakyStore();
  /** A number of its own per world: the emulator keys accounts and pair codes by number. */
  readonly phone =
    `1555${String(process.pid % 1000).padStart(3, '0')}${String(++phoneCounter).padStart(4, '0')}`;
  private readonly others: Session[] = [];
  /** Phone API calls under way (a scan answers only when pairing ends); awaited by stop(). */
  private readonly pending: Promise<unknown>[] = [];
  private session!: Session;
  private qr: string | null = null;
  private code: string | null = null;
  private hook: { state: string; ms: number[]; command?: 'code' | 'badCode' } | null = null;
  /** The transitions this world's session took, in order (settle looks for the predicted ones). */
  private readonly log: string[] = [];
  private mark = 0;

  constructor(
    private readonly emulator: Emulator,
    private readonly coverage: Coverage,
  ) {}

  get value(): unknown {
    return this.session.state.value;
  }

  get reason(): unknown {
    return this.session.state.reason;
  }

  async start(): Promise<void> {
    await http(this.emulator.url, 'DELETE', '/md/faults');
    // The contact the user sends to: the emulator lists devices only for contacts it knows.
    await http(this.emulator.url, 'POST', '/md/contacts', { jid: CONTACT, name: 'Model' });
    this.session = await createSession({
      protocol: 'md',
      url: this.emulator.mdWsUrl,
      rootPublicKey: this.emulator.md.rootPublicKey,
      store: this.store,
      clock: this.clock as never,
      timing: MODEL_TIMING,
      limits: MODEL_LIMITS,
      random: () => 0.5,
      inspect: (event) => this.inspect(event),
    });
    this.session.events$.subscribe((event) => {
      if (event.type === 'qr') this.qr = event.text;
      if (event.type === 'pairCode') this.code = event.code;
    });
    this.session.start();
  }

  private inspect(event: InspectionEvent): void {
    if (event.actorRef.sessionId !== event.rootId) return;
    if (event.type === '@xstate.microstep') {
      for (const taken of event._transitions) {
        const id = transitionIdOf(taken);
        this.coverage.transitions.add(id);
        this.log.push(id);
      }
    } else if (event.type === '@xstate.snapshot') {
      const paths = activePaths((event.snapshot as unknown as { value: unknown }).value);
      for (const path of paths) this.coverage.states.add(path);
      const hook = this.hook;
      if (hook && paths.includes(hook.state)) {
        this.hook = null;
        // Within the macrostep's notification: the timers' events are queued behind it, no I/O between.
        // Entered from a timer (the clock is flushing), a nested increment would not fire: a microtask
        // later, still before any I/O.
        const run = () => {
          if (hook.command) this.user(hook.command);
          for (const ms of hook.ms) this.clock.increment(ms);
        };
        if ((this.clock as unknown as { _flushing: boolean })._flushing) queueMicrotask(run);
        else run();
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.session?.stop(), ...this.others.map((other) => other.stop())]);
    await Promise.allSettled(this.pending);
    await http(this.emulator.url, 'DELETE', '/md/faults');
  }

  /**
   * Waits until the real session's state equals `expected`, it took every transition the model says the
   * step takes (a step may end where it began: a wrong code), and it stays so for a few polls. Returns the
   * state and the predicted transitions that did not happen.
   */
  async settle(
    expected: unknown,
    taken: string[] = [],
    // A send is four round trips (usync, bundles, the message, its receipt): seconds on a loaded machine.
    timeoutMs = 15_000,
  ): Promise<{ value: unknown; missing: string[] }> {
    const deadline = Date.now() + timeoutMs;
    let stable = 0;
    let missing = taken;
    while (Date.now() < deadline) {
      const seen = new Set(this.log.slice(this.mark));
      missing = taken.filter((id) => !seen.has(id));
      const done = isDeepStrictEqual(this.value, expected) && this.hook === null && missing.length === 0;
      stable = done ? stable + 1 : 0;
      if (stable >= SETTLE_POLLS) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return { value: this.value, missing };
  }

  /** Does what a step says; settle() then looks at what happened from here on. */
  async step(action: MdWorldAction): Promise<void> {
    this.mark = this.log.length;
    await this.perform(action);
  }

  private async perform(action: MdWorldAction): Promise<void> {
    switch (action.kind) {
      case 'none':
        return;
      case 'all':
        for (const each of action.actions) await this.perform(each);
        return;
      case 'advance':
        for (const ms of action.ms) this.clock.increment(ms);
        return;
      case 'onEntry':
        this.hook = {
          state: action.state,
          ms: action.ms,
          ...(action.command ? { command: action.command } : {}),
        };
        return;
      case 'faults': {
        const answer = await http(this.emulator.url, 'POST', '/md/faults', { rules: action.rules });
        if (answer.status !== 200) throw new Error(`fault refused: ${JSON.stringify(answer.json)}`);
        return;
      }
      case 'scan': {
        if (!this.qr) throw new Error('no QR code to scan');
        const qr = action.tamper ? tamperedAdvSecret(this.qr) : this.qr;
        this.background('POST', `/md/phones/${this.phone}/scan`, { qr });
        return;
      }
      case 'typeCode': {
        if (!this.code) throw new Error('no pair code to type');
        const code = action.wrong ? wrongCode(this.code) : this.code;
        this.background('POST', `/md/phones/${this.phone}/link-code`, { code });
        return;
      }
      case 'message': {
        const answer = await http(this.emulator.url, 'POST', `/md/phones/${this.phone}/messages`, {
          from: CONTACT,
          text: 'hello model',
        });
        if (answer.status !== 200) throw new Error(`message refused: ${JSON.stringify(answer.json)}`);
        return;
      }
      case 'unlink': {
        const device = /:(\d+)@/.exec(this.session.state.me ?? '')?.[1];
        const answer = await http(this.emulator.url, 'DELETE', `/md/phones/${this.phone}/devices/${device}`);
        if (answer.status !== 200) throw new Error(`unlink refused: ${JSON.stringify(answer.json)}`);
        return;
      }
      case 'user':
        this.user(action.command);
        return;
      case 'failNextSave':
        this.store.failNext = true;
        return;
      case 'otherCopy': {
        const copy = new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
        const record = await this.store.load();
        if (!record) throw new Error('nothing stored to copy');
        await copy.save(record);
        const other = await createSession({
          protocol: 'md',
          url: this.emulator.mdWsUrl,
          rootPublicKey: this.emulator.md.rootPublicKey,
          store: copy,
          name: 'a copy of the device',
        });
        this.others.push(other);
        other.start();
        await other.waitFor((state) => state.tags.includes('ready'), 5_000);
        return;
      }
    }
  }

  private user(command: Extract<MdWorldAction, { kind: 'user' }>['command']): void {
    if (command === 'restart') this.session.restart();
    else if (command === 'logout') this.session.logout();
    else if (command === 'send') this.session.send(CONTACT, 'hi from the model');
    else if (command === 'sendNowhere') this.session.send(NOBODY, 'is anyone there?');
    else if (command === 'code') this.session.requestPairingCode(this.phone);
    else this.session.requestPairingCode('0123');
  }

  /** A phone API call whose answer comes when pairing ends (or fails): not waited for here. */
  private background(method: string, path: string, body: unknown): void {
    this.pending.push(http(this.emulator.url, method, path, body).catch(() => undefined));
  }
}

/** The QR's fields are ref,noise,identity,advSecret[,platform] (docs/protocol-md.md §6.2). */
function tamperedAdvSecret(qr: string): string {
  const fields = qr.split(',');
  const secret = Buffer.from(fields[3]!, 'base64');
  secret[0]! ^= 1;
  fields[3] = secret.toString('base64');
  return fields.join(',');
}

/** Another code of the same alphabet: its first character changed. */
function wrongCode(code: string): string {
  return code.startsWith('Z') ? `Y${code.slice(1)}` : `Z${code.slice(1)}`;
}
