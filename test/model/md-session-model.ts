// The MD companion machine as a model for xstate/graph. A model state is the machine's pure snapshot
// (XState's `transition`) plus the timers it has scheduled, read from the actions each step returns
// (a delayed raise schedules, a cancel cancels) with the simulated time they fall due. Its events are
// *stimuli*: what the server, the user, the promise actors (pair code, pair-success, store) or time can
// make happen. "Time passes" fires the earliest timer, as a clock would. The runner (md-session-model.test.ts)
// plays each path against the machine running in an actor with the fakes of test/support and
// SimulatedClock, where time really passes, and compares the state after every step.
//
// The MD actors (socket, pair-code procedures, stores) are another engineer's; when they land, the same
// stimuli can drive a real session against the MD emulator, as test/model/session-model.ts does for legacy.
import { fromTransition, initialTransition, type SnapshotFrom, transition } from 'xstate';
import {
  type MdLimits,
  type MdSessionEvent,
  type MdSessionInput,
  type MdTiming,
  mdSessionMachine,
} from '../../machines/index.ts';
import {
  DEVICE_JID,
  FINISHED,
  mdCredentials,
  PHONE,
  PREPARED,
  pairedMdCredentials,
  serverEvents,
  VERIFIED,
} from '../support/md-machine-fakes.ts';

/**
 * Timings for the model: distinct, so that two timers rarely fall due together (when they do, "time
 * passes" does not apply: which fires first would be up to the clock's sort). Liveness outlasts the QR
 * refs (6 + 2 s) and a code (7 s from its acceptance, which is life), so only a code request still
 * waiting for companion_hello's answer keeps a silent pairing socket.
 */
export const MODEL_TIMING: MdTiming = {
  connectTimeout: 5_003,
  handshakeTimeout: 5_011,
  pairDeviceTimeout: 5_021,
  loginTimeout: 5_039,
  qrFirstRef: 6_007,
  qrNextRef: 2_003,
  pairCodePrepareTimeout: 4_001,
  companionHelloTimeout: 4_013,
  pairCodeValid: 7_001,
  pairCodeFinishTimeout: 4_027,
  pairSuccessAfterHello: 4_049,
  pairCodeRateBackoff: 3_001,
  verifyTimeout: 1_009,
  storeTimeout: 1_013,
  restartTimeout: 1_019,
  preKeyTimeout: 1_021,
  passiveTimeout: 1_031,
  pingInterval: 2_999,
  livenessTimeout: 8_501,
  backoffBase: 101,
  backoffMax: 401,
  throttledBackoff: 503,
  readyStable: 1_999,
  logoutTimeout: 1_049,
};

/** Two refs per socket and two hellos per code: the budgets are reached in a few steps. */
export const MODEL_LIMITS: Partial<MdLimits> = { maxRefs: 2, maxPrimaryHellos: 2 };

export function modelInput(paired: boolean): MdSessionInput {
  return {
    credentials: paired ? pairedMdCredentials() : mdCredentials(),
    timing: MODEL_TIMING,
    limits: MODEL_LIMITS,
    random: () => 0.5,
  };
}

type MachineSnapshot = SnapshotFrom<typeof mdSessionMachine>;

interface Timer {
  id: string;
  event: MdSessionEvent;
  due: number;
  seq: number;
}

export interface ModelState {
  machine: MachineSnapshot;
  now: number;
  timers: Timer[];
  seq: number;
}

/** What the runner does for a step. */
export type WorldAction =
  | { kind: 'send'; event: MdSessionEvent }
  | { kind: 'advance'; ms: number }
  | { kind: 'settle'; actor: PromiseActorId; outcome: 'resolve' | 'reject'; output?: unknown };

export type PromiseActorId = 'preparePairCode' | 'finishPairCode' | 'verifyPairSuccess' | 'storeDevice';

export interface Stimulus {
  name: string;
  applies(state: ModelState): boolean;
  /** The machine event it causes and what the runner does to cause it. */
  step(state: ModelState): { event: MdSessionEvent; world: WorldAction; delay?: string };
}

// ---------------------------------------------------------------------------------- the scheduler

/** A model state after `event`: the machine's next snapshot, and its timers scheduled or cancelled. */
function advance(state: ModelState, event: MdSessionEvent, now: number): ModelState {
  const [machine, actions] = transition(mdSessionMachine, state.machine, event as never);
  return scheduled({ ...state, machine, now }, actions);
}

function scheduled(state: ModelState, actions: readonly { type: string; params?: unknown }[]): ModelState {
  let timers = state.timers;
  let seq = state.seq;
  for (const action of actions) {
    const params = action.params as { delay?: number; id?: string; event?: MdSessionEvent; sendId?: string };
    if (action.type === 'xstate.cancel') timers = timers.filter((t) => t.id !== params.sendId);
    if (action.type === 'xstate.raise' && typeof params.delay === 'number') {
      const id = params.id ?? `raise-${seq}`;
      timers = [
        ...timers.filter((t) => t.id !== id),
        { id, event: params.event!, due: state.now + params.delay, seq: seq++ },
      ];
    }
  }
  return { ...state, timers, seq };
}

export function initialModelState(paired = false): ModelState {
  const [machine, actions] = initialTransition(mdSessionMachine, modelInput(paired));
  return scheduled({ machine, now: 0, timers: [], seq: 0 }, actions);
}

function earliest(state: ModelState): Timer | null {
  const sorted = [...state.timers].sort((a, b) => a.due - b.due);
  const first = sorted[0];
  if (!first) return null;
  // Two timers due at once: which fires first is the clock's choice, so the model does not go there.
  if (sorted[1] && sorted[1].due === first.due) return null;
  return first;
}

/** The delay's name of a timer (`xstate.after.qrRef.mdSession…` → `qrRef`). */
function timerName(timer: Timer): string {
  return timer.event.type.split('.')[2] ?? timer.event.type;
}

// ---------------------------------------------------------------------------------- the stimuli

const can = (state: ModelState, event: MdSessionEvent) => state.machine.can(event as never);

/** A stimulus that sends one event wherever the machine would take it. */
function send(name: string, event: MdSessionEvent, where?: (state: ModelState) => boolean): Stimulus {
  return {
    name,
    applies: (state) => (where ? where(state) : true) && can(state, event),
    step: () => ({ event, world: { kind: 'send', event } }),
  };
}

function settle(
  name: string,
  actor: PromiseActorId,
  outcome: 'resolve' | 'reject',
  output?: unknown,
): Stimulus {
  const event = (outcome === 'resolve'
    ? { type: `xstate.done.actor.${actor}`, output, actorId: actor }
    : {
        type: `xstate.error.actor.${actor}`,
        error: new Error(name),
        actorId: actor,
      }) as unknown as MdSessionEvent;
  return {
    name,
    applies: (state) => actor in state.machine.children,
    step: () => ({
      event,
      world: { kind: 'settle', actor, outcome, ...(output !== undefined ? { output } : {}) },
    }),
  };
}

const inState =
  (...paths: string[]) =>
  (state: ModelState) =>
    paths.some((path) => state.machine.matches(path as never));

/** Where a pair code can be asked for and is more than a typed "not pairing". */
const CODE_STATES = [
  'online.connecting',
  'online.handshaking',
  'online.registering',
  'online.pairing',
  'reconnecting',
];
/** Where a socket is up and liveness runs. */
const LIVE = inState('online.pairing', 'online.ready');

/**
 * Time passes until the timer named `name` fires, firing every earlier one on the way (a ping, a ref):
 * the steps the model takes, or null when that timer would be cancelled first or two fall due together.
 */
export function firingUntil(
  state: ModelState,
  name: string,
): { state: ModelState; ms: number; fired: { before: ModelState; event: MdSessionEvent }[] } | null {
  let current = state;
  const fired: { before: ModelState; event: MdSessionEvent }[] = [];
  for (let i = 0; i < 20; i++) {
    const timer = earliest(current);
    if (!timer) return null;
    fired.push({ before: current, event: timer.event });
    current = advance(
      { ...current, timers: current.timers.filter((t) => t !== timer) },
      timer.event,
      timer.due,
    );
    if (timerName(timer) === name) return { state: current, ms: timer.due - state.now, fired };
  }
  return null;
}

/** The delays whose "time passes until" stimuli exist: every delay the machine names. */
const DELAYS = Object.keys(mdSessionMachine.implementations.delays);

export const STIMULI: Stimulus[] = [
  {
    name: 'time passes',
    applies: (state) => earliest(state) !== null,
    step: (state) => {
      const timer = earliest(state)!;
      return { event: timer.event, world: { kind: 'advance', ms: timer.due - state.now } };
    },
  },
  ...DELAYS.map(
    (delay): Stimulus => ({
      name: `time passes until ${delay}`,
      applies: (state) => {
        const first = earliest(state);
        if (!first || timerName(first) === delay) return false;
        return state.timers.some((t) => timerName(t) === delay) && firingUntil(state, delay) !== null;
      },
      step: (state) => {
        const { ms } = firingUntil(state, delay)!;
        return { event: { type: 'xstate.model.timePasses' } as never, world: { kind: 'advance', ms }, delay };
      },
    }),
  ),
  send('the socket opens', { type: 'socket.opened' }),
  send('the handshake completes', { type: 'socket.secured' }),
  send('the handshake fails', { type: 'socket.handshakeFailed', reason: 'CERT_BAD_SIGNATURE' }),
  send('the socket drops', serverEvents.closed()),
  send('pair-device arrives', serverEvents.pairDevice(['2@ref0', '2@ref1'])),
  send('pair-device without a ref', serverEvents.pairDevice([''])),
  send(
    'the user asks for a code',
    { type: 'user.requestPairingCode', phone: PHONE },
    inState(...CODE_STATES),
  ),
  send(
    'the user asks with a bad number',
    { type: 'user.requestPairingCode', phone: '012' },
    inState(...CODE_STATES),
  ),
  send(
    'the user asks for a code when logged in',
    { type: 'user.requestPairingCode', phone: PHONE },
    inState('online.ready'),
  ),
  send('companion_hello is accepted', { type: 'server.codeAccepted', ref: '3@code-ref' }),
  send('companion_hello is refused 400', { type: 'server.codeRejected', status: 400, text: 'bad-request' }),
  send('companion_hello is refused 429', {
    type: 'server.codeRejected',
    status: 429,
    text: 'rate-overlimit',
  }),
  send('the phone sends primary_hello', serverEvents.primaryHello()),
  send('a primary_hello for another code', serverEvents.primaryHello('3@other')),
  send('companion_finish is refused (wrong code)', {
    type: 'server.finishRejected',
    status: 400,
    text: 'bad-request',
  }),
  send('pair-success arrives', serverEvents.pairSuccess()),
  send('stream error 515', serverEvents.streamError(515)),
  send('stream error conflict replaced', serverEvents.streamError(null, { conflict: 'replaced' })),
  send(
    'stream error device_removed',
    serverEvents.streamError(401, { conflict: 'device_removed', deviceRemoved: true }),
  ),
  send('stream error 503', serverEvents.streamError(503)),
  ...[401, 403, 406, 405, 429, 500].map((reason) =>
    send(`failure ${reason}`, { type: 'server.failure', reason }),
  ),
  send('success', { type: 'server.success', lid: '1:7@lid', t: 1 }),
  send('the server holds 3 pre-keys', { type: 'server.preKeyCount', count: 3 }),
  send('the server holds 20 pre-keys', { type: 'server.preKeyCount', count: 20 }),
  send('the upload is answered', { type: 'server.preKeysUploaded' }),
  send('passive active is answered', { type: 'server.passiveActive' }),
  send('an IQ is answered with an error', { type: 'server.iqError', iqId: 'q', code: 500, text: 'internal' }),
  send('a pong', { type: 'server.pong' }, LIVE),
  send(
    'a message',
    {
      type: 'server.message',
      id: 'm',
      from: 'a@s.whatsapp.net',
      t: 1,
      content: { kind: 'text', text: 'hi' },
    },
    inState('online.ready'),
  ),
  send(
    'a notification',
    { type: 'server.notification', id: 'n', from: 's.whatsapp.net', notificationType: 'devices' },
    inState('online.ready'),
  ),
  send(
    'a receipt',
    { type: 'server.receipt', id: 'r', from: 'a@s.whatsapp.net', receiptType: 'read' },
    inState('online.ready'),
  ),
  send('the offline marker', { type: 'server.offline', count: 0 }, inState('online.ready')),
  send(
    'the server acks a sent text',
    { type: 'server.messageAck', id: 'X', from: 'a@s.whatsapp.net' },
    inState('online.ready'),
  ),
  send(
    'a text could not be sent',
    { type: 'socket.sendFailed', id: 'X', to: 'a@s.whatsapp.net', reason: 'noDevices' },
    inState('online.ready'),
  ),
  send(
    'a frame is dropped',
    { type: 'server.frameDropped', code: 'FRAME_UNDECODABLE', reason: 'x' },
    inState('online.ready'),
  ),
  send('logout is accepted', { type: 'server.logoutAccepted' }),
  send('the user logs out', { type: 'user.logout' }),
  send('the user restarts', { type: 'user.restart' }),
  send('the user sends a text', { type: 'user.sendText', jid: DEVICE_JID, text: 'hi', id: 'X' }),
  settle('the code is prepared', 'preparePairCode', 'resolve', PREPARED),
  settle('preparing the code fails', 'preparePairCode', 'reject'),
  settle('companion_finish is made', 'finishPairCode', 'resolve', FINISHED),
  settle('making companion_finish fails', 'finishPairCode', 'reject'),
  settle('pair-success verifies', 'verifyPairSuccess', 'resolve', VERIFIED),
  settle('pair-success fails its HMAC', 'verifyPairSuccess', 'resolve', {
    ok: false,
    code: 401,
    text: 'hmac-mismatch',
  }),
  settle('the verifier throws', 'verifyPairSuccess', 'reject'),
  settle('the device is stored', 'storeDevice', 'resolve'),
  settle('storing the device fails', 'storeDevice', 'reject'),
];

export function stimulusNamed(name: string): Stimulus {
  const stimulus = STIMULI.find((s) => s.name === name);
  if (!stimulus) throw new Error(`no stimulus named ${name}`);
  return stimulus;
}

export function applicableStimuli(state: ModelState): { type: string }[] {
  return STIMULI.filter((s) => s.applies(state)).map((s) => ({ type: s.name }));
}

export function applyStimulus(
  state: ModelState,
  stimulus: Stimulus,
): { state: ModelState; world: WorldAction } {
  const { event, world, delay } = stimulus.step(state);
  if (delay) return { state: firingUntil(state, delay)!.state, world };
  const now = world.kind === 'advance' ? state.now + world.ms : state.now;
  const timers = world.kind === 'advance' ? state.timers.filter((t) => t !== earliest(state)) : state.timers;
  return { state: advance({ ...state, timers }, event, now), world };
}

/**
 * What makes two model states the same for the graph: the machine's state, the facts its guards read,
 * and the order its timers will fire in (not their absolute times).
 */
export function serializeModelState(state: ModelState): string {
  const c = state.machine.context;
  const timers = [...state.timers].sort((a, b) => a.due - b.due).map(timerName);
  return JSON.stringify([
    state.machine.value,
    c.credentials.me !== null,
    c.refIndex,
    c.primaryHellos,
    c.codePending,
    c.finishSent,
    Math.min(c.reconnectAttempts, 2),
    c.throttled,
    c.failure,
    c.requestedPhone !== null,
    timers,
  ]);
}

export const modelLogic = (paired: boolean) =>
  fromTransition(
    (state: ModelState, event: { type: string }) => applyStimulus(state, stimulusNamed(event.type)).state,
    initialModelState(paired),
  );
