// Fakes for the MD companion machine alone: a socket actor that records the commands it is given, promise
// actors the test settles by hand (or that answer at once), recording stores, and a harness that starts
// the machine on SimulatedClock and records states, emitted events and taken transitions.
import { type AnyActorRef, createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import {
  activePaths,
  type FinishedPairCode,
  type FinishPairCodeInput,
  type MdCredentials,
  type MdFailureReason,
  type MdLimits,
  type MdMediaItem,
  type MdSessionEmitted,
  type MdSessionEvent,
  type MdSocketCommand,
  type MdSocketInput,
  type MdTiming,
  mdSessionMachine,
  type PreparedPairCode,
  type PreparePairCodeInput,
  type StoreDeviceInput,
  stateName,
  transitionIdOf,
  type VerifyPairSuccessInput,
  type VerifyPairSuccessResult,
} from '../../machines/index.ts';

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);
const keyPair = (seed: number) => ({ privateKey: bytes(32, seed), publicKey: bytes(32, seed + 100) });

export const PHONE = '15550001111';
export const DEVICE_JID = '15550001111:7@s.whatsapp.net';
export const DEVICE_LID = '100000000000001:7@lid';

/** Unpaired credentials with recognisable bytes (each key its own fill). */
export function mdCredentials(overrides: Partial<MdCredentials> = {}): MdCredentials {
  return {
    noiseKey: keyPair(1),
    identityKey: keyPair(2),
    signedPreKey: { keyId: 1, keyPair: keyPair(3), signature: bytes(64, 4) },
    registrationId: 4242,
    advSecret: bytes(32, 5),
    me: null,
    account: null,
    nextPreKeyId: 1,
    firstUnuploadedPreKeyId: 1,
    ...overrides,
  };
}

export function pairedMdCredentials(overrides: Partial<MdCredentials> = {}): MdCredentials {
  return mdCredentials({
    me: { jid: DEVICE_JID, lid: null },
    account: bytes(80, 6),
    nextPreKeyId: 31,
    firstUnuploadedPreKeyId: 31,
    ...overrides,
  });
}

type Answer<O> = { kind: 'wait' } | { kind: 'resolve'; value: O } | { kind: 'reject'; error: Error };

/** A promise actor whose calls the test settles: `resolve()`/`reject()` the latest, or answer at once. */
export class PromiseFake<I, O> {
  readonly calls: { input: I; resolve: (value: O) => void; reject: (error: Error) => void }[] = [];
  answer: Answer<O> = { kind: 'wait' };

  /** Every later call answers with `value` at once. */
  always(value: O): this {
    this.answer = { kind: 'resolve', value };
    return this;
  }

  /** Every later call fails with `error` at once. */
  alwaysFail(error: Error): this {
    this.answer = { kind: 'reject', error };
    return this;
  }

  get answersAtOnce(): boolean {
    return this.answer.kind !== 'wait';
  }

  readonly logic = fromPromise<O, I>(({ input }) => {
    const answer = this.answer;
    return new Promise<O>((resolve, reject) => {
      this.calls.push({ input, resolve, reject });
      if (answer.kind === 'resolve') resolve(answer.value);
      else if (answer.kind === 'reject') reject(answer.error);
    });
  });

  get last() {
    const call = this.calls.at(-1);
    if (!call) throw new Error('the actor was never invoked');
    return call;
  }
}

export const PREPARED: PreparedPairCode = {
  code: 'ABCD1234',
  wrappedEphemeral: bytes(80, 7),
  ephemeral: keyPair(8),
};

export const FINISHED: FinishedPairCode = {
  wrappedKeyBundle: bytes(156, 9),
  advSecret: bytes(32, 10),
  identityPublic: bytes(32, 102),
  ref: '3@code-ref',
};

export const VERIFIED: VerifyPairSuccessResult = {
  ok: true,
  deviceIdentity: bytes(100, 11),
  account: bytes(168, 12),
  keyIndex: 1,
  me: { jid: DEVICE_JID, lid: DEVICE_LID },
};

export interface HarnessOptions {
  credentials?: MdCredentials;
  timing?: Partial<MdTiming>;
  limits?: Partial<MdLimits>;
  random?: () => number;
  freshCredentials?: () => MdCredentials;
  /** Promise actors that answer at once; by default each waits for the test. */
  prepare?: PreparedPairCode | Error;
  finish?: FinishedPairCode | Error;
  verify?: VerifyPairSuccessResult | Error;
  store?: Error | 'ok';
  /** Where taken transitions and visited states are recorded (the model suite's coverage). */
  coverage?: { states: Set<string>; transitions: Set<string> };
}

export type MdHarness = ReturnType<typeof mdHarness>;

function settle<I, O>(fake: PromiseFake<I, O>, answer: O | Error | undefined): PromiseFake<I, O> {
  if (answer instanceof Error) return fake.alwaysFail(answer);
  if (answer !== undefined) return fake.always(answer);
  return fake;
}

export function mdHarness(options: HarnessOptions = {}) {
  const clock = new SimulatedClock();
  const commands: MdSocketCommand[] = [];
  const sockets: MdSocketInput[] = [];
  const stopped: number[] = [];
  const stored: MdCredentials[] = [];
  const cleared: MdFailureReason[] = [];
  const media: MdMediaItem[] = [];
  const appStateKeys: unknown[] = [];
  const prepare = settle(new PromiseFake<PreparePairCodeInput, PreparedPairCode>(), options.prepare);
  const finish = settle(new PromiseFake<FinishPairCodeInput, FinishedPairCode>(), options.finish);
  const verify = settle(new PromiseFake<VerifyPairSuccessInput, VerifyPairSuccessResult>(), options.verify);
  const storeDevice = settle(
    new PromiseFake<StoreDeviceInput, void>(),
    options.store === 'ok' ? undefined : options.store,
  );
  if (options.store === 'ok') storeDevice.always(undefined);
  const machine = mdSessionMachine.provide({
    actors: {
      socket: fromCallback<MdSocketCommand, MdSocketInput>(({ input, receive }) => {
        const index = sockets.push(input) - 1;
        receive((command) => commands.push(command));
        return () => stopped.push(index);
      }),
      preparePairCode: prepare.logic,
      finishPairCode: finish.logic,
      verifyPairSuccess: verify.logic,
      storeDevice: storeDevice.logic,
    },
    actions: {
      storeCredentials: (_, params) => {
        stored.push(params.credentials);
      },
      clearDevice: (_, params) => {
        cleared.push(params.reason);
      },
      enqueueMedia: (_, params) => {
        media.push(...params.items);
      },
      storeAppStateKeys: (_, params) => {
        appStateKeys.push(...params.keys);
      },
    },
  });
  const coverage = options.coverage;
  const actor = createActor(machine, {
    clock,
    input: {
      credentials: options.credentials ?? mdCredentials(),
      random: options.random ?? (() => 0.5),
      ...(options.timing ? { timing: options.timing } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.freshCredentials ? { freshCredentials: options.freshCredentials } : {}),
    },
    ...(coverage
      ? {
          inspect: (event) => {
            if (event.actorRef.sessionId !== event.rootId) return;
            if (event.type === '@xstate.microstep') {
              for (const taken of (
                event as unknown as { _transitions: Parameters<typeof transitionIdOf>[0][] }
              )._transitions)
                coverage.transitions.add(transitionIdOf(taken));
            } else if (event.type === '@xstate.snapshot') {
              for (const path of activePaths((event.snapshot as unknown as { value: unknown }).value))
                coverage.states.add(path);
            }
          },
        }
      : {}),
  });
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const name = stateName(snapshot.value);
    if (states.at(-1) !== name) states.push(name);
  });
  const emitted: MdSessionEmitted[] = [];
  actor.on('*', (event) => emitted.push(event as MdSessionEmitted));
  actor.start();
  const h = {
    actor: actor as typeof actor & AnyActorRef,
    clock,
    commands,
    sockets,
    stopped,
    stored,
    cleared,
    media,
    appStateKeys,
    emitted,
    states,
    prepare,
    finish,
    verify,
    storeDevice,
    send: (event: MdSessionEvent) => actor.send(event),
    state: () => stateName(actor.getSnapshot().value),
    value: () => actor.getSnapshot().value,
    tags: () => [...actor.getSnapshot().tags].sort(),
    context: () => actor.getSnapshot().context,
    commandTypes: () => commands.map((c) => c.type),
    commandsOf: <T extends MdSocketCommand['type']>(type: T) =>
      commands.filter((c): c is Extract<MdSocketCommand, { type: T }> => c.type === type),
    emittedOf: <T extends MdSessionEmitted['type']>(type: T) =>
      emitted.filter((e): e is Extract<MdSessionEmitted, { type: T }> => e.type === type),
    /** Lets settled promises reach the machine. */
    flush: async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return h;
}

// ------------------------------------------------------------------ the server's side, by example

export const REFS = ['2@ref0', '2@ref1', '2@ref2', '2@ref3', '2@ref4', '2@ref5'];

export const serverEvents = {
  pairDevice: (refs = REFS): MdSessionEvent => ({ type: 'server.pairDevice', iqId: 'pd-1', refs }),
  pairSuccess: (): MdSessionEvent => ({
    type: 'server.pairSuccess',
    iqId: 'ps-1',
    deviceIdentity: bytes(120, 13),
    platform: 'android',
    jid: DEVICE_JID,
    lid: DEVICE_LID,
    businessName: null,
  }),
  primaryHello: (ref = '3@code-ref', id = 'n-1'): MdSessionEvent => ({
    type: 'server.primaryHello',
    id,
    from: 's.whatsapp.net',
    ref,
    wrappedPrimaryEphemeral: bytes(80, 14),
    primaryIdentityPublic: bytes(32, 15),
  }),
  streamError: (
    code: number | null,
    extra: { conflict?: string; deviceRemoved?: boolean } = {},
  ): MdSessionEvent => ({
    type: 'server.streamError',
    code,
    conflict: extra.conflict ?? null,
    deviceRemoved: extra.deviceRemoved ?? false,
  }),
  closed: (): MdSessionEvent => ({ type: 'socket.closed', code: 1006, reason: 'dropped' }),
};

/** Socket opened and secured, pair-device with six refs: both pairing regions run. */
export function toPairing(h: MdHarness, refs = REFS): void {
  h.send({ type: 'socket.opened' });
  h.send({ type: 'socket.secured' });
  h.send(serverEvents.pairDevice(refs));
}

/** A code requested and prepared, companion_hello accepted: the code is up. */
export async function toCodeShown(h: MdHarness, phone = PHONE): Promise<void> {
  h.send({ type: 'user.requestPairingCode', phone });
  if (!h.prepare.answersAtOnce) h.prepare.last.resolve(PREPARED);
  await h.flush();
  h.send({ type: 'server.codeAccepted', ref: '3@code-ref' });
}

/** A paired device's socket up to `<success>`. */
export function toLoggedIn(h: MdHarness, lid: string | null = DEVICE_LID): void {
  h.send({ type: 'socket.opened' });
  h.send({ type: 'socket.secured' });
  h.send({ type: 'server.success', lid, t: 1_700_000_000 });
}

/** A paired device all the way to ready (count above the threshold: no upload). */
export function toReady(h: MdHarness): void {
  toLoggedIn(h);
  h.send({ type: 'server.preKeyCount', count: 20 });
  h.send({ type: 'server.passiveActive' });
}
