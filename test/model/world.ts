// Runs model paths against the real thing: a walink session (createSession, the real socket actor)
// talking to the emulator, with SimulatedClock for the machine's delays and the emulator's fault
// injection for the server's misbehaviour. Records which states and transitions really happened.
import { isDeepStrictEqual } from 'node:util';
import { SimulatedClock } from 'xstate';
import { createSession, MemoryCredentialStore, type Session } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { activePaths, transitionIdOf } from '../../machines/index.ts';
import { http } from '../support/raw-client.ts';
import type { Coverage } from './coverage.ts';
import { MODEL_LIMITS, MODEL_TIMING, type WorldAction } from './session-model.ts';

const SETTLE_POLLS = 4;
const POLL_MS = 10;

let phoneCounter = 0;

export class ModelWorld {
  private readonly clock = new SimulatedClock();
  private readonly store = new MemoryCredentialStore();
  private readonly phone =
    `4916${String(Date.now() % 1e6).padStart(6, '0')}${String(++phoneCounter).padStart(3, '0')}`;
  private readonly others: Session[] = [];
  private session!: Session;
  private qr: { text: string; ttl: number } | null = null;

  constructor(
    private readonly emulator: Emulator,
    private readonly coverage: Coverage,
  ) {}

  get value(): unknown {
    return this.session.state.value;
  }

  async start(): Promise<void> {
    await http(this.emulator.url, 'DELETE', '/faults');
    this.session = await createSession({
      url: this.emulator.wsUrl,
      store: this.store,
      clock: this.clock as never,
      timing: MODEL_TIMING,
      limits: MODEL_LIMITS,
      random: () => 0.5,
      inspect: (event) => {
        if (event.actorRef.sessionId !== event.rootId) return;
        if (event.type === '@xstate.microstep') {
          for (const taken of event._transitions) this.coverage.transitions.add(transitionIdOf(taken));
        } else if (event.type === '@xstate.snapshot') {
          for (const path of activePaths((event.snapshot as unknown as { value: unknown }).value))
            this.coverage.states.add(path);
        }
      },
    });
    this.session.events$.subscribe((event) => {
      if (event.type === 'qr') this.qr = { text: event.text, ttl: event.ttl };
    });
    this.session.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.session?.stop(), ...this.others.map((other) => other.stop())]);
    await http(this.emulator.url, 'DELETE', '/faults');
  }

  /** Waits until the real session's state equals `expected` and stays so for a few polls. */
  async settle(expected: unknown, timeoutMs = 5_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    let stable = 0;
    while (Date.now() < deadline) {
      stable = isDeepStrictEqual(this.value, expected) ? stable + 1 : 0;
      if (stable >= SETTLE_POLLS) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return this.value;
  }

  async perform(action: WorldAction): Promise<void> {
    await this.act(action);
  }

  private async faults(rules: unknown[] | undefined): Promise<void> {
    if (!rules?.length) return;
    const answer = await http(this.emulator.url, 'POST', '/faults', { rules });
    if (answer.status !== 200) throw new Error(`fault rejected: ${JSON.stringify(answer.body)}`);
  }

  private async waitForState(prefix: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!this.session.state.name.startsWith(prefix)) {
      if (Date.now() > deadline) throw new Error(`never reached ${prefix} (in ${this.session.state.name})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private phoneApi(path: string, method = 'POST', body?: unknown) {
    return http(this.emulator.url, method, `/phones/${this.phone}${path}`, body);
  }

  private async act(action: WorldAction): Promise<void> {
    switch (action.kind) {
      case 'scan': {
        if (!this.qr) throw new Error('no QR code to scan');
        await this.faults(action.faults);
        if (action.forged) await this.faults([{ kind: 'badSecret' }]);
        const phone = action.multiDevice ? `${this.phone}9` : this.phone;
        if (action.multiDevice)
          await http(this.emulator.url, 'PUT', `/phones/${phone}`, { multiDevice: true });
        const answer = await http(this.emulator.url, 'POST', `/phones/${phone}/scan`, { qr: this.qr.text });
        if (answer.status !== 200) throw new Error(`scan failed: ${JSON.stringify(answer.body)}`);
        return;
      }
      case 'advance': {
        await this.faults(action.faults);
        const ttl = this.qr?.ttl ?? 20_000;
        const ms =
          action.delay === 'ttl'
            ? ttl
            : action.delay === 'qrRefresh'
              ? ttl - MODEL_TIMING.qrRefreshMargin
              : MODEL_TIMING[action.delay];
        this.clock.increment(ms);
        for (const next of action.afterwards ?? []) this.clock.increment(MODEL_TIMING[next]);
        return;
      }
      case 'garbage':
        await this.faults([{ kind: 'sendGarbage' }]);
        return;
      case 'drop':
        await this.faults([{ kind: 'closeSocket', at: 'now' }]);
        return;
      case 'reconnect': {
        await this.faults(action.faults);
        if (action.tosBlocked) await this.phoneApi('', 'PUT', { tosBlocked: true });
        this.clock.increment(MODEL_TIMING.backoffMax);
        if (action.resend) {
          await this.waitForState('online.loggingIn');
          this.clock.increment(MODEL_TIMING.loginResend);
        }
        if (action.afterwards) {
          await this.waitForState(action.afterwards.waitFor);
          for (const ms of action.afterwards.advance) this.clock.increment(ms);
        }
        if (action.tosBlocked) {
          await this.waitForState('loggedOut');
          // The phone is unblocked again, so that what follows sees an ordinary phone.
          await this.phoneApi('', 'PUT', { tosBlocked: false });
        }
        return;
      }
      case 'user': {
        await this.faults(action.faults);
        const hasDelay = action.faults?.some((f) => (f as { kind: string }).kind === 'delay');
        if (action.command === 'restart') this.session.restart();
        else if (action.command === 'takeOver') this.session.takeOver();
        else if (action.command === 'send') this.session.send('491700000000@c.us', 'hi from the model');
        else this.session.logout();
        if (action.command === 'logout' && hasDelay) {
          // The server sits on the goodbye: time runs out for it.
          await this.waitForState('online.loggingOut');
          this.clock.increment(MODEL_TIMING.logoutTimeout);
        }
        return;
      }
      case 'phone':
        if (action.action === 'unlink') await this.phoneApi('/unlink');
        else if (action.action === 'asleep') await this.phoneApi('', 'PUT', { asleep: true });
        else if (action.action === 'receipt') {
          const answer = await this.phoneApi('/receipts', 'POST', { id: 'MODEL-MESSAGE', type: 'read' });
          if (answer.body?.notified !== 1)
            throw new Error(`receipt not sent: ${JSON.stringify(answer.body)}`);
        } else {
          if (action.action === 'corruptMessage') await this.faults([{ kind: 'corruptHmac' }]);
          await this.phoneApi('/messages', 'POST', { from: '491700000000@c.us', text: 'hello model' });
        }
        return;
      case 'otherTakesOver': {
        const credentials = await this.store.load();
        const other = await createSession({
          url: this.emulator.wsUrl,
          store: new MemoryCredentialStore(credentials),
          name: 'other browser',
        });
        this.others.push(other);
        other.start();
        await other.waitFor((state) => state.name.startsWith('online.ready'), 5_000);
        return;
      }
    }
  }
}
