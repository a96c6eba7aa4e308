// The MD companion machine as a model of what the MD emulator can make happen. A model state is the
// machine's pure snapshot with its timers (md-session-model.ts's ModelState: XState's `transition`, timers
// read from the actions) plus a few facts about the world (does the server hold this device's pre-keys, a
// pair code of ours, another copy of the device). Its events are *stimuli*: a scan, a typed code, a fault,
// a user call, time passing on the SimulatedClock. Each stimulus says what the world does
// (md-world.ts) and which of md-session-model.ts's steps the machine will see, in order; the steps the
// server and our own procedures take on their own (the socket opening, the handshake, pair-device, the
// code prepared, the login's IQs) are filled in by `runPhase` from `next`. The runner (md-session-emulator.test.ts)
// makes it happen against a real session and compares the state after each stimulus.
import { mdSessionMachine, transitionIdOf } from '../../machines/index.ts';
import {
  applyStimulus,
  firingUntil,
  initialModelState,
  MODEL_TIMING,
  type ModelState,
  stimulusNamed,
} from './md-session-model.ts';
import type { MdWorldAction } from './md-world.ts';

/** A step the machine sees: a stimulus of md-session-model.ts by name, or time passing until a delay fires. */
export type Step = string | { until: string };

export interface Facts {
  /** The server holds one-time pre-keys of the device (it uploaded them at its first login, §9). */
  keysUp: boolean;
  /** A pair code of ours the server holds: live (the phone can type it), stale (our side let it expire). */
  serverCode: 'none' | 'live' | 'stale';
  /** A copy of the device took the session over and stays logged in. */
  otherHolds: boolean;
  /** The socket's pair-device carried no usable ref: it waits for nothing more (pairDeviceTimeout). */
  refsUnusable: boolean;
  /** What happens next is a race the model does not predict: the path ends here. */
  dead: boolean;
}

export interface EmuState {
  m: ModelState;
  facts: Facts;
}

export interface Phase {
  world: MdWorldAction;
  steps: Step[];
  /** Steps to take instead of `next`'s in the state named (once each), e.g. a fault's answer. */
  instead?: Record<string, Step[]>;
  facts?: Partial<Facts>;
}

export interface EmuStimulus {
  name: string;
  applies(state: EmuState): boolean;
  /** What it does from this model state; null when it cannot happen there. */
  phase(state: EmuState): Phase | null;
}

// ------------------------------------------------------------------------------------- stepping

const is = (m: ModelState, ...paths: string[]) => paths.some((path) => m.machine.matches(path as never));

const LIVE = ['online.pairing', 'online.ready'];

export interface Stepped {
  state: EmuState;
  /** The clock increments the stimulus's own time steps need, in order. */
  increments: number[];
  /** The increments of the time steps taken afterwards (`instead`): an `onEntry` deadline's. */
  later: number[];
  /** Machine transitions the steps take first (for choosing paths that add something). */
  taken: string[];
}

/** One step on the model, or null when the machine would not take it there. */
function stepOnce(state: EmuState, step: Step, out: Stepped): EmuState | null {
  const { m } = state;
  if (typeof step === 'string') {
    const stimulus = stimulusNamed(step);
    if (!stimulus.applies(m)) return null;
    const { event } = stimulus.step(m);
    for (const t of mdSessionMachine.getTransitionData(m.machine as never, event as never))
      out.taken.push(transitionIdOf(t as never));
    const next = applyStimulus(m, stimulus).state;
    return { m: next, facts: factsAfter(state.facts, m, next, step) };
  }
  const fired = firingUntil(m, step.until);
  if (!fired) return null;
  let now = m.now;
  for (const [i, { before, event }] of fired.fired.entries()) {
    for (const t of mdSessionMachine.getTransitionData(before.machine as never, event as never))
      out.taken.push(transitionIdOf(t as never));
    const due = fired.fired[i + 1]?.before.now ?? fired.state.now;
    out.increments.push(due - now);
    now = due;
  }
  let next: EmuState = { m: fired.state, facts: factsAfter(state.facts, m, fired.state, step) };
  // A ping went out; the server answers it unless the socket is gone by now (md.alive, §11).
  const pinged = fired.fired.some(({ event }) => event.type.includes('.pingInterval.'));
  if (pinged && is(next.m, ...LIVE)) next = stepOnce(next, 'a pong', out) ?? next;
  return next;
}

function factsAfter(facts: Facts, before: ModelState, after: ModelState, step: Step): Facts {
  const next = { ...facts };
  if (step === 'the device is stored') next.keysUp = false;
  if (step === 'the upload is answered') next.keysUp = true;
  if (step === 'companion_hello is accepted') next.serverCode = 'live';
  if (step === 'pair-device without a ref') next.refsUnusable = true;
  if (!is(after, 'online.registering')) next.refsUnusable = false;
  const codeWasLive = is(before, 'online.pairing.code.pending.live');
  if (codeWasLive && !is(after, 'online.pairing.code.pending.live') && is(after, 'online.pairing'))
    next.serverCode = next.serverCode === 'live' ? 'stale' : next.serverCode;
  // The server forgets the codes of a socket that closed.
  if (!is(after, 'online.pairing')) next.serverCode = 'none';
  return next;
}

/** What the server and our own procedures do next on their own, or null when nothing (at rest). */
function next(state: EmuState): Step | null {
  const { m, facts } = state;
  if (is(m, 'online.connecting')) return 'the socket opens';
  if (is(m, 'online.handshaking')) return 'the handshake completes';
  if (is(m, 'online.registering')) return facts.refsUnusable ? null : 'pair-device arrives';
  if (is(m, 'online.pairing.code.pending.preparing')) return 'the code is prepared';
  if (is(m, 'online.pairing.code.pending.awaitingAnswer')) return 'companion_hello is accepted';
  if (is(m, 'online.verifying')) return 'pair-success verifies';
  if (is(m, 'online.storing')) return 'the device is stored';
  if (is(m, 'online.awaitingRestart')) return 'stream error 515';
  if (is(m, 'online.loggingIn')) return 'success';
  if (is(m, 'online.countingPreKeys'))
    return facts.keysUp ? 'the server holds 20 pre-keys' : 'the server holds 3 pre-keys';
  if (is(m, 'online.uploadingPreKeys')) return 'the upload is answered';
  if (is(m, 'online.activating')) return 'passive active is answered';
  return null;
}

/** Where `instead` looks first: the most specific state the machine is in. */
const INSTEAD_ORDER = [
  'online.pairing.code.pending.preparing',
  'online.pairing.code.pending.awaitingAnswer',
  'online.pairing.code.pending.live.finishing',
  'online.pairing.code.pending.live.awaitingPairSuccess',
  'online.connecting',
  'online.handshaking',
  'online.registering',
  'online.verifying',
  'online.storing',
  'online.awaitingRestart',
  'online.loggingIn',
  'online.countingPreKeys',
  'online.uploadingPreKeys',
  'online.activating',
  'online.loggingOut',
];

/** A phase on the model: its steps, then what follows on its own (with `instead` where it says). */
export function runPhase(state: EmuState, phase: Phase): Stepped | null {
  const out: Stepped = { state, increments: [], later: [], taken: [] };
  let current: EmuState | null = state;
  for (const step of phase.steps) {
    current = stepOnce(current, step, out);
    if (!current) return null;
  }
  const instead = { ...phase.instead };
  const own = out.increments;
  out.increments = out.later;
  for (let i = 0; i < 40; i++) {
    const where = INSTEAD_ORDER.find((path) => instead[path] && is(current!.m, path));
    if (where) {
      const steps = instead[where]!;
      delete instead[where];
      for (const step of steps) {
        current = stepOnce(current!, step, out);
        if (!current) return null;
      }
      continue;
    }
    const step = next(current!);
    if (!step) break;
    current = stepOnce(current!, step, out);
    if (!current) return null;
  }
  // An `instead` that never came into play means the model is not where the stimulus thinks.
  if (Object.keys(instead).length > 0) return null;
  out.later = out.increments;
  out.increments = own;
  out.state = { m: current!.m, facts: { ...current!.facts, ...phase.facts } };
  return out;
}

// ------------------------------------------------------------------------------------- stimuli

const has = (m: ModelState, delay: string) => m.timers.some((t) => t.event.type.split('.')[2] === delay);
const paired = (m: ModelState) => m.machine.context.credentials.me !== null;
const RESTING = ['refsExhausted', 'conflict', 'loggedOut', 'failed', 'pairFailed'];
const NO_FINISH = (m: ModelState) =>
  !is(
    m,
    'online.pairing.code.pending.live.finishing',
    'online.pairing.code.pending.live.awaitingPairSuccess',
  );

/** The clock moves until `delay` fires (every earlier timer firing on the way). */
function timePasses(delay: string, where: (s: EmuState) => boolean = () => true): EmuStimulus {
  return {
    name: `time passes until ${delay}`,
    applies: (s) => has(s.m, delay) && where(s),
    phase: () => ({ world: { kind: 'none' }, steps: [{ until: delay }] }),
  };
}

/**
 * Our side's deadline in `state` passes before the server (or our procedure) answers: the world moves
 * the clock the moment the session enters it. `then` is what brings the session there.
 */
function tooSlow(
  name: string,
  state: string,
  delay: string,
  where: (s: EmuState) => boolean,
  then: MdWorldAction,
  steps: Step[] = [],
  more: Partial<Phase> = {},
): EmuStimulus {
  return {
    name,
    applies: where,
    phase: () => ({
      world: { kind: 'all', actions: [{ kind: 'onEntry', state, ms: [] }, then] },
      steps,
      instead: { [state]: [{ until: delay }], ...more.instead },
      ...(more.facts ? { facts: more.facts } : {}),
    }),
  };
}

const backoff: MdWorldAction = { kind: 'advance', ms: [MODEL_TIMING.backoffMax] };
const reconnecting = (s: EmuState) => is(s.m, 'reconnecting');
const reconnectingPaired = (s: EmuState) => reconnecting(s) && paired(s.m);
const reconnectingFresh = (s: EmuState) => reconnecting(s) && !paired(s.m);
const pairingQr = (s: EmuState) => is(s.m, 'online.pairing.qr.showing') && NO_FINISH(s.m);
const codeIdle = (s: EmuState) => is(s.m, 'online.pairing.code.idle');
const waitingForPhone = (s: EmuState) =>
  is(s.m, 'online.pairing.code.pending.live.waitingForPhone') && s.facts.serverCode === 'live';
const ready = (s: EmuState) => is(s.m, 'online.ready');

/** The backoff elapses and the next socket meets `instead` in `state` (a fault's answer). */
function nextSocket(
  name: string,
  where: (s: EmuState) => boolean,
  rules: unknown[],
  instead: Record<string, Step[]>,
): EmuStimulus {
  return {
    name: `the backoff elapses: ${name}`,
    applies: where,
    phase: () => ({
      world: { kind: 'all', actions: [{ kind: 'faults', rules }, backoff] },
      steps: [{ until: 'reconnectBackoff' }],
      instead,
    }),
  };
}

const PAIRED_BY_CODE: Step[] = [
  'the phone sends primary_hello',
  'companion_finish is made',
  'pair-success arrives',
];

export const EMU_STIMULI: EmuStimulus[] = [
  // ---- time (docs/protocol-md.md §6.3, §7.4, §7.6, §11; backoff and readyStable, §18)
  timePasses('qrRef'),
  timePasses('pairCodeValid'),
  timePasses('codeBackoff'),
  timePasses('pingInterval'),
  timePasses('livenessTimeout'),
  timePasses('readyStable'),
  timePasses('reconnectBackoff'),
  timePasses('pairDeviceTimeout', (s) => s.facts.refsUnusable),

  // ---- the phone (docs/protocol-md.md §6-7, §10, §12)
  {
    name: 'the phone scans the QR code',
    applies: pairingQr,
    phase: () => ({ world: { kind: 'scan' }, steps: ['pair-success arrives'] }),
  },
  {
    name: 'the phone scans a QR code whose adv secret was altered',
    applies: pairingQr,
    phase: () => ({
      world: { kind: 'scan', tamper: true },
      steps: ['pair-success arrives'],
      instead: { 'online.verifying': ['pair-success fails its HMAC'] },
    }),
  },
  {
    name: 'the phone scans, the disk fails as the device is stored',
    applies: pairingQr,
    phase: () => ({
      world: { kind: 'all', actions: [{ kind: 'failNextSave' }, { kind: 'scan' }] },
      steps: ['pair-success arrives'],
      instead: { 'online.storing': ['storing the device fails'] },
    }),
  },
  {
    name: 'the phone scans, the socket drops before pair-success',
    applies: pairingQr,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [{ kind: 'faults', rules: [{ kind: 'closeSocket', at: 'pair-success' }] }, { kind: 'scan' }],
      },
      steps: ['the socket drops'],
    }),
  },
  {
    name: 'the phone types the code',
    applies: waitingForPhone,
    phase: () => ({ world: { kind: 'typeCode' }, steps: PAIRED_BY_CODE }),
  },
  {
    name: 'the phone types a wrong code',
    applies: waitingForPhone,
    phase: () => ({
      world: { kind: 'typeCode', wrong: true },
      steps: [
        'the phone sends primary_hello',
        'companion_finish is made',
        'companion_finish is refused (wrong code)',
      ],
      // The emulator forgets a code after a wrong try (emulator/md/pairing.ts).
      facts: { serverCode: 'none' },
    }),
  },
  {
    name: 'the phone types a code our side let expire',
    applies: (s) => codeIdle(s) && s.facts.serverCode === 'stale',
    phase: () => ({
      world: { kind: 'typeCode' },
      steps: ['a primary_hello for another code'],
      facts: { serverCode: 'none' },
    }),
  },
  {
    name: 'a contact sends a text',
    applies: ready,
    phase: () => ({ world: { kind: 'message' }, steps: ['a message'] }),
  },
  {
    name: 'the phone removes the device',
    applies: ready,
    phase: () => ({ world: { kind: 'unlink' }, steps: ['stream error device_removed'] }),
  },
  {
    name: 'a copy of the device logs in',
    applies: (s) => ready(s) && !s.facts.otherHolds,
    phase: () => ({
      world: { kind: 'otherCopy' },
      steps: ['stream error conflict replaced'],
      facts: { otherHolds: true },
    }),
  },

  // ---- the network and the server (docs/emulator.md, /md/faults)
  {
    name: 'the network drops the socket',
    applies: (s) => is(s.m, ...LIVE),
    phase: () => ({
      world: { kind: 'faults', rules: [{ kind: 'closeSocket', at: 'now' }] },
      steps: ['the socket drops'],
    }),
  },
  {
    name: 'the server ends the stream with 503',
    applies: (s) => is(s.m, ...LIVE),
    phase: () => ({
      world: { kind: 'faults', rules: [{ kind: 'streamError', code: 503 }] },
      steps: ['stream error 503'],
    }),
  },
  {
    name: 'the server corrupts a frame',
    applies: ready,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [{ kind: 'faults', rules: [{ kind: 'corruptFrame' }] }, { kind: 'message' }],
      },
      steps: ['a frame is dropped'],
      // The transport's counters are out of step after a frame that did not open: what follows is not modelled.
      facts: { dead: true },
    }),
  },
  ...([401, 403, 405, 406, 429, 500] as const).flatMap((reason) => [
    nextSocket(
      `the registration is answered <failure ${reason}>`,
      reconnectingFresh,
      [{ kind: 'failure', reason }],
      { 'online.registering': [`failure ${reason}`] },
    ),
    nextSocket(
      `the login is answered <failure ${reason}>`,
      reconnectingPaired,
      [{ kind: 'failure', reason }],
      {
        'online.loggingIn': [`failure ${reason}`],
      },
    ),
  ]),
  nextSocket(
    'the pre-key count is answered with an error',
    reconnectingPaired,
    [{ kind: 'iqError', xmlns: 'encrypt', type: 'get', code: 500 }],
    { 'online.countingPreKeys': ['an IQ is answered with an error'] },
  ),
  nextSocket(
    'passive active is answered with an error',
    reconnectingPaired,
    [{ kind: 'iqError', xmlns: 'passive', code: 500 }],
    { 'online.activating': ['an IQ is answered with an error'] },
  ),
  {
    name: 'the phone scans, the first pre-key upload is answered with an error',
    applies: pairingQr,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'faults', rules: [{ kind: 'iqError', xmlns: 'encrypt', type: 'set', code: 500 }] },
          { kind: 'scan' },
        ],
      },
      steps: ['pair-success arrives'],
      instead: { 'online.uploadingPreKeys': ['an IQ is answered with an error'] },
    }),
  },
  nextSocket('pair-device carries no usable ref', reconnectingFresh, [{ kind: 'badRefs' }], {
    'online.registering': ['pair-device without a ref'],
  }),
  nextSocket('the certificate chain does not verify', reconnecting, [{ kind: 'badCertificate' }], {
    'online.handshaking': ['the handshake fails'],
  }),
  nextSocket('the socket drops in the handshake', reconnecting, [{ kind: 'closeSocket', at: 'handshake' }], {
    'online.handshaking': ['the socket drops'],
  }),
  nextSocket(
    'the socket drops before pair-device',
    reconnectingFresh,
    [{ kind: 'closeSocket', at: 'pair-device' }],
    { 'online.registering': ['the socket drops'] },
  ),
  nextSocket(
    'the socket drops before <success>',
    reconnectingPaired,
    [{ kind: 'closeSocket', at: 'login' }],
    {
      'online.loggingIn': ['the socket drops'],
    },
  ),
  nextSocket(
    'the socket drops after <success>',
    reconnectingPaired,
    [{ kind: 'closeSocket', at: 'success' }],
    {
      'online.countingPreKeys': ['the socket drops'],
    },
  ),
  {
    name: 'companion_hello is refused 429',
    applies: codeIdle,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'faults', rules: [{ kind: 'companionHello', status: 429 }] },
          { kind: 'user', command: 'code' },
        ],
      },
      steps: ['the user asks for a code'],
      instead: { 'online.pairing.code.pending.awaitingAnswer': ['companion_hello is refused 429'] },
    }),
  },
  {
    name: 'companion_hello is refused 452 (use the QR code)',
    applies: codeIdle,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'faults', rules: [{ kind: 'companionHello', status: 452 }] },
          { kind: 'user', command: 'code' },
        ],
      },
      steps: ['the user asks for a code'],
      instead: { 'online.pairing.code.pending.awaitingAnswer': ['companion_hello is refused 400'] },
    }),
  },

  // ---- deadlines: the answer is slower than our side waits (docs/protocol-md.md §18)
  tooSlow(
    'the WebSocket does not open in time',
    'online.connecting',
    'connectTimeout',
    reconnecting,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    'the handshake does not finish in time',
    'online.handshaking',
    'handshakeTimeout',
    reconnecting,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    'pair-device does not come in time',
    'online.registering',
    'pairDeviceTimeout',
    reconnectingFresh,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    '<success> does not come in time',
    'online.loggingIn',
    'loginTimeout',
    reconnectingPaired,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    'the pre-key count does not come in time',
    'online.countingPreKeys',
    'preKeyTimeout',
    reconnectingPaired,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    'the phone scans, the first pre-key upload is not answered in time',
    'online.uploadingPreKeys',
    'preKeyTimeout',
    pairingQr,
    { kind: 'scan' },
    ['pair-success arrives'],
    // Whether the server read the upload before the socket closed decides the next login's count.
    { facts: { dead: true } },
  ),
  tooSlow(
    'passive active is not answered in time',
    'online.activating',
    'passiveTimeout',
    reconnectingPaired,
    backoff,
    [{ until: 'reconnectBackoff' }],
  ),
  tooSlow(
    'the code takes longer to prepare than its deadline',
    'online.pairing.code.pending.preparing',
    'pairCodePrepareTimeout',
    codeIdle,
    { kind: 'user', command: 'code' },
    ['the user asks for a code'],
  ),
  tooSlow(
    'companion_hello is not answered in time',
    'online.pairing.code.pending.awaitingAnswer',
    'companionHelloTimeout',
    codeIdle,
    { kind: 'user', command: 'code' },
    ['the user asks for a code'],
  ),
  tooSlow(
    'companion_finish takes longer to make than its deadline',
    'online.pairing.code.pending.live.finishing',
    'pairCodeFinishTimeout',
    waitingForPhone,
    { kind: 'typeCode' },
    ['the phone sends primary_hello'],
    { facts: { serverCode: 'none' } },
  ),
  tooSlow(
    'pair-success comes after its deadline',
    'online.pairing.code.pending.live.awaitingPairSuccess',
    'pairSuccessAfterHello',
    waitingForPhone,
    { kind: 'typeCode' },
    ['the phone sends primary_hello', 'companion_finish is made'],
    // Late, it still pairs: pairing listens for pair-success whatever the code region does (§7.7).
    {
      instead: {
        'online.pairing.code.pending.live.awaitingPairSuccess': [
          { until: 'pairSuccessAfterHello' },
          'pair-success arrives',
        ],
      },
    },
  ),
  tooSlow(
    'verifying pair-success takes longer than its deadline',
    'online.verifying',
    'verifyTimeout',
    pairingQr,
    { kind: 'scan' },
    ['pair-success arrives'],
  ),
  tooSlow(
    'storing the device takes longer than its deadline',
    'online.storing',
    'storeTimeout',
    pairingQr,
    { kind: 'scan' },
    ['pair-success arrives'],
  ),
  tooSlow(
    'the 515 does not come in time',
    'online.awaitingRestart',
    'restartTimeout',
    pairingQr,
    { kind: 'scan' },
    ['pair-success arrives'],
    // Whether the server read pair-device-sign before the socket closed decides the next login.
    { facts: { dead: true } },
  ),
  tooSlow(
    'the logout is not answered in time',
    'online.loggingOut',
    'logoutTimeout',
    ready,
    { kind: 'user', command: 'logout' },
    ['the user logs out'],
  ),

  // ---- the user (Session: requestPairingCode, logout, restart, send)
  // A code asked for while the next socket is still on its way to pairing: kept for it (§7.3).
  ...(
    [
      ['online.handshaking', 'in the handshake'],
      ['online.registering', 'before pair-device'],
    ] as const
  ).flatMap(([state, when]) =>
    (['code', 'badCode'] as const).map(
      (command): EmuStimulus => ({
        name: `the backoff elapses, the user asks for a code${command === 'badCode' ? ' with a bad number' : ''} ${when}`,
        applies: reconnectingFresh,
        phase: () => ({
          world: { kind: 'all', actions: [{ kind: 'onEntry', state, ms: [], command }, backoff] },
          steps: [{ until: 'reconnectBackoff' }],
          instead: {
            [state]: [command === 'code' ? 'the user asks for a code' : 'the user asks with a bad number'],
          },
        }),
      }),
    ),
  ),
  {
    name: 'the user asks for a code',
    applies: (s) => is(s.m, 'online.pairing', 'reconnecting', 'online.ready') && NO_FINISH(s.m),
    phase: (s) => ({
      world: { kind: 'user', command: 'code' },
      steps: [
        is(s.m, 'online.ready') ? 'the user asks for a code when logged in' : 'the user asks for a code',
      ],
    }),
  },
  {
    name: 'the user asks for a code with a bad number',
    applies: (s) => is(s.m, 'online.pairing', 'reconnecting'),
    phase: () => ({
      world: { kind: 'user', command: 'badCode' },
      steps: ['the user asks with a bad number'],
    }),
  },
  {
    name: 'the user logs out',
    applies: (s) => is(s.m, 'online.ready', 'online.pairing', 'reconnecting', 'conflict'),
    phase: (s) => ({
      world: { kind: 'user', command: 'logout' },
      steps: is(s.m, 'online.ready') ? ['the user logs out', 'logout is accepted'] : ['the user logs out'],
    }),
  },
  {
    name: 'the user logs out, the socket drops before the answer',
    applies: ready,
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'faults', rules: [{ kind: 'closeSocket', at: 'logout' }] },
          { kind: 'user', command: 'logout' },
        ],
      },
      steps: ['the user logs out', 'the socket drops'],
    }),
  },
  {
    name: 'the user sends a text',
    applies: ready,
    // Devices, bundles, one <enc> per device (docs/protocol-md.md §12.7): the server acks the message, and
    // the contact's receipt follows once it decrypted it.
    phase: () => ({
      world: { kind: 'user', command: 'send' },
      steps: ['the user sends a text', 'the server acks a sent text', 'a receipt'],
    }),
  },
  {
    name: 'the user sends a text while the session rests',
    applies: (s) => is(s.m, ...RESTING),
    // Refused at once, typed (send.failed notReady); nothing reaches a socket.
    phase: () => ({ world: { kind: 'user', command: 'send' }, steps: ['the user sends a text'] }),
  },
  {
    name: 'the user sends a text to a user with no devices',
    applies: ready,
    phase: () => ({
      world: { kind: 'user', command: 'sendNowhere' },
      steps: ['the user sends a text', 'a text could not be sent'],
    }),
  },
  {
    name: 'the user restarts',
    applies: (s) => is(s.m, 'reconnecting', ...RESTING),
    phase: () => ({
      world: { kind: 'user', command: 'restart' },
      steps: ['the user restarts'],
      facts: { otherHolds: false },
    }),
  },
  {
    name: 'the user restarts and at once asks for a code',
    applies: (s) => is(s.m, ...RESTING) && !paired(s.m),
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'user', command: 'restart' },
          { kind: 'user', command: 'code' },
        ],
      },
      steps: ['the user restarts', 'the user asks for a code'],
    }),
  },
  {
    name: 'the user restarts and at once asks with a bad number',
    applies: (s) => is(s.m, ...RESTING) && !paired(s.m),
    phase: () => ({
      world: {
        kind: 'all',
        actions: [
          { kind: 'user', command: 'restart' },
          { kind: 'user', command: 'badCode' },
        ],
      },
      steps: ['the user restarts', 'the user asks with a bad number'],
    }),
  },
];

// ------------------------------------------------------------------------------------- the logic

const byName = new Map(EMU_STIMULI.map((s) => [s.name, s]));

export function emuStimulusNamed(name: string): EmuStimulus {
  const stimulus = byName.get(name);
  if (!stimulus) throw new Error(`no stimulus ${name}`);
  return stimulus;
}

/** The first state of every path: a fresh device's socket up and registered, the first QR on screen. */
export function initialEmuState(): EmuState {
  const start: EmuState = {
    m: initialModelState(false),
    facts: { keysUp: false, serverCode: 'none', otherHolds: false, refsUnusable: false, dead: false },
  };
  return runPhase(start, { world: { kind: 'none' }, steps: [] })!.state;
}

/** The stimulus on the model: its world action with the clock steps filled in, and where it leads. */
export function applyEmu(
  state: EmuState,
  stimulus: EmuStimulus,
): { stepped: Stepped; world: MdWorldAction } | null {
  if (state.facts.dead || !stimulus.applies(state)) return null;
  const phase = stimulus.phase(state);
  if (!phase) return null;
  const stepped = runPhase(state, phase);
  if (!stepped) return null;
  return { stepped, world: withClock(phase.world, stepped.increments, stepped.later) };
}

/**
 * The world action with the clock's increments where the model needs them: a time stimulus advances
 * them all; an `onEntry` deadline takes the deadline's own (and any earlier timers' on the way); a
 * backoff advance takes the backoff's.
 */
function withClock(world: MdWorldAction, increments: number[], later: number[]): MdWorldAction {
  if (world.kind === 'none') return increments.length ? { kind: 'advance', ms: increments } : world;
  if (world.kind !== 'all') return world;
  const queue = [...increments];
  const actions = world.actions.map((action): MdWorldAction => {
    if (action.kind === 'advance') return { kind: 'advance', ms: queue.splice(0) };
    if (action.kind === 'onEntry') return { ...action, ms: later };
    return action;
  });
  return { kind: 'all', actions };
}

export function applicableEmuStimuli(state: EmuState): { type: string }[] {
  return EMU_STIMULI.filter((s) => applyEmu(state, s) !== null).map((s) => ({ type: s.name }));
}

/**
 * What makes two model states the same for the graph: where the machine is, whether it is paired, which
 * ref is on screen, and the world's facts. Coarser than md-session-model.ts's key (no timer order): each
 * path is still predicted step by step from its start, and the edge tour stays small enough to run
 * against sockets.
 */
export function serializeEmuState(state: EmuState): string {
  const c = state.m.machine.context;
  return JSON.stringify([state.m.machine.value, c.credentials.me !== null, c.refIndex, state.facts]);
}
