// The emulator's connection machine on its own: no socket, no hub, no timer. Its steps report scripted
// facts at once and its effects are recorded, so each decision docs/protocol.md part 2 asks of the server
// is checked as the answer the machine chooses.
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import { challengeAnswer, randomBytes, toBase64 } from '../../crypto/index.ts';
import type {
  ConnectionContext,
  ConnectionEvent,
  KnownBrowser,
  StepEvent,
  StepInput,
} from '../../emulator/index.ts';
import { connectionMachine, MAX_REREFS } from '../../emulator/index.ts';

const EFFECTS = [
  'answerRequest',
  'answerFrame',
  'answerInit',
  'answerRef',
  'registerRef',
  'retireRef',
  'pushUpgrade',
  'linkBrowser',
  'resumeSession',
  'pushConn',
  'pushStreamAndProps',
  'pushPreempt',
  'answerChallengedLogin',
  'pushChallenge',
  'consumeChallengeFault',
  'deliverPending',
  'forgetBrowser',
  'answerBinary',
  'pushDisconnect',
  'closeSocket',
] as const;

type Effect = { name: string; params?: unknown; context: ConnectionContext };

const TTL = 20_000;
const CLIENT_ID = toBase64(randomBytes(16));
const keys = { encKey: randomBytes(32), macKey: randomBytes(32) };
const browser = (tokens: KnownBrowser['tokens'], tosBlocked = false): KnownBrowser => ({
  phoneNumber: '4915112345678',
  keys,
  tosBlocked,
  tokens,
});

interface Facts {
  now: number;
  init: { forced: 400 | 500 | 'update' | null };
  reref: { forced: 200 | 304 | 429 | null };
  login: Omit<Extract<StepEvent, { type: 'LOGIN_CHECKED' }>, 'type'>;
  challenge: Omit<Extract<StepEvent, { type: 'CHALLENGE_CHECKED' }>, 'type'>;
}

/** A machine whose EFFECTS (and `alsoRecord`) are recorded, with steps that report `facts` at once. */
function start(overrides: Partial<Facts> = {}, alsoRecord: readonly string[] = []) {
  const facts: Facts = {
    now: 0,
    init: { forced: null },
    reref: { forced: null },
    login: {
      forced: null,
      browser: browser('current'),
      heldElsewhere: false,
      challengeForced: false,
      challenge: randomBytes(32),
    },
    challenge: { forced: null, browser: { phoneNumber: '4915112345678', keys }, heldElsewhere: false },
    ...overrides,
  };
  const effects: Effect[] = [];
  let refs = 0;
  const ref = () => ({ value: `1@ref${++refs}`, expiresAt: facts.now + TTL });
  const report = <I extends StepInput>(event: (input: I) => StepEvent) =>
    fromCallback<ConnectionEvent, I>(({ input, sendBack }) => sendBack(event(input)));
  const actions = Object.fromEntries(
    [...EFFECTS, ...alsoRecord].map((name) => [
      name,
      ({ context }: { context: ConnectionContext }, params: unknown) =>
        effects.push({ name, params, context }),
    ]),
  ) as unknown as NonNullable<Parameters<typeof connectionMachine.provide>[0]['actions']>;
  const machine = connectionMachine.provide({
    actions,
    actors: {
      checkInit: report(() => ({ type: 'INIT_CHECKED', ...facts.init, ref: ref() })),
      checkReref: report(() => ({ type: 'REREF_CHECKED', ...facts.reref, ref: ref(), now: facts.now })),
      checkLogin: report(() => ({ type: 'LOGIN_CHECKED', ...facts.login })),
      checkChallenge: report(() => ({ type: 'CHALLENGE_CHECKED', ...facts.challenge })),
      pause: report(({ step }) => ({ type: `${step.toUpperCase()}_DONE` }) as StepEvent),
    },
  });
  const actor = createActor(machine, { input: { refTtlMs: TTL } }).start();
  const send = (event: ConnectionEvent) => {
    effects.length = 0;
    actor.send(event);
    return effects.map((e) => (e.params === undefined ? e.name : { [e.name]: e.params }));
  };
  return { actor, facts, effects, send, state: () => actor.getSnapshot().value };
}

const init = (version = [0, 4, 2296]): ConnectionEvent => ({
  type: 'INIT',
  tag: 'i1',
  version,
  description: ['walink', 'test'],
  clientId: CLIENT_ID,
});
const login = (mode: 'takeover' | 'reconnect' = 'takeover'): ConnectionEvent => ({
  type: 'LOGIN',
  tag: 'l1',
  clientToken: 'ct',
  serverToken: 'st',
  clientId: CLIENT_ID,
  mode,
});
const status = (code: number, extra: object = {}) => ({
  answerRequest: { body: { status: code, ...extra } },
});

describe('init', () => {
  it('answers with a ref and shows it; an outdated client or a forced update gets Cmd update', () => {
    const m = start();
    expect(m.send(init())).toEqual(['registerRef', 'answerInit']);
    expect(m.state()).toBe('refIssued');
    expect(m.actor.getSnapshot().hasTag('scannable')).toBe(true);
    expect(m.actor.getSnapshot().context.ref?.value).toBe('1@ref1');

    const old = start();
    expect(old.send(init([0, 2, 9]))).toEqual([{ answerRequest: { body: ['Cmd', { type: 'update' }] } }]);
    expect(old.state()).toBe('awaitingInit');
    const forced = start({ init: { forced: 'update' } });
    expect(forced.send(init())).toEqual([{ answerRequest: { body: ['Cmd', { type: 'update' }] } }]);
    const refused = start({ init: { forced: 500 } });
    expect(refused.send(init())).toEqual([status(500)]);
    expect(refused.state()).toBe('awaitingInit');
  });

  it('answers a second init, a reref before init and a challenge out of turn with 400', () => {
    const m = start();
    expect(m.send({ type: 'REREF', tag: 'r1' })).toEqual([{ answerFrame: { body: { status: 400 } } }]);
    m.send(init());
    expect(m.send(init())).toEqual([{ answerFrame: { body: { status: 400 } } }]);
    expect(m.send({ type: 'CHALLENGE_ANSWER', tag: 'c', answer: 'AAAA', clientId: CLIENT_ID })).toEqual([
      { answerFrame: { body: { status: 400 } } },
    ]);
  });
});

describe('reref', () => {
  it(`keeps a young ref (304), issues ${MAX_REREFS} new ones, then answers 429`, () => {
    const m = start();
    m.send(init());
    expect(m.send({ type: 'REREF', tag: 'r' })).toEqual([status(304)]);
    for (let i = 0; i < MAX_REREFS; i++) {
      m.facts.now += TTL;
      expect(m.send({ type: 'REREF', tag: 'r' })).toEqual(['retireRef', 'registerRef', 'answerRef']);
    }
    expect(m.actor.getSnapshot().context.rerefs).toBe(MAX_REREFS);
    m.facts.now += TTL;
    expect(m.send({ type: 'REREF', tag: 'r' })).toEqual([status(429)]);
    expect(m.state()).toBe('refIssued');
  });

  it('issues a new young ref when a fault forces 200, and answers a forced 304 or 429 as it is', () => {
    const m = start({ reref: { forced: 200 } });
    m.send(init());
    expect(m.send({ type: 'REREF', tag: 'r' })).toEqual(['retireRef', 'registerRef', 'answerRef']);
    m.facts.reref = { forced: 429 };
    expect(m.send({ type: 'REREF', tag: 'r' })).toEqual([status(429)]);
  });
});

describe('scan', () => {
  it('pairs: links the browser, pushes Conn with the secret, then Stream and Props, the contact and chat lists, then what waited', () => {
    const m = start();
    m.send(init());
    const scanned = m.send({
      type: 'SCANNED',
      phoneNumber: '4915112345678',
      multiDevice: false,
      clientPublicKey: randomBytes(32),
      keys,
    });
    expect(scanned).toEqual([
      'linkBrowser',
      { pushConn: { pairing: true } },
      'pushStreamAndProps',
      'pushPreempt',
      'deliverPending',
    ]);
    expect(m.state()).toEqual({ authenticated: 'online' });
    expect(m.actor.getSnapshot().context.session?.clientId).toBe(CLIENT_ID);
  });

  it('tells a multi-device phone to upgrade and keeps showing the ref', () => {
    const m = start();
    m.send(init());
    expect(
      m.send({
        type: 'SCANNED',
        phoneNumber: '4915112345678',
        multiDevice: true,
        clientPublicKey: randomBytes(32),
        keys,
      }),
    ).toEqual(['pushUpgrade']);
    expect(m.state()).toBe('refIssued');
  });
});

describe('login', () => {
  it.each([
    ['a forced 403 (tos 0)', { forced: 403 as const }, status(403, { tos: 0 })],
    ['a forced 419', { forced: 419 as const }, status(419)],
    ['an unknown browser', { browser: null }, status(401)],
    ['a blocked account', { browser: browser('current', true) }, status(403, { tos: 2 })],
    ['unknown tokens', { browser: browser('unknown') }, status(401)],
  ])('refuses %s and goes back to the ref (or to awaiting init without one)', (_name, change, answer) => {
    const m = start();
    m.facts.login = { ...m.facts.login, ...change };
    m.send(init());
    expect(m.send(login())).toEqual([answer]);
    expect(m.state()).toBe('refIssued');
    const bare = start();
    bare.facts.login = { ...bare.facts.login, ...change };
    expect(bare.send(login())).toEqual([answer]);
    expect(bare.state()).toBe('awaitingInit');
  });

  it('answers 409 to reconnect while another socket holds the browser; takeover proceeds', () => {
    const m = start();
    m.facts.login = { ...m.facts.login, heldElsewhere: true };
    expect(m.send(login('reconnect'))).toEqual([status(409)]);
    expect(m.send(login('takeover'))).toEqual([
      'resumeSession',
      'retireRef',
      { pushConn: { pairing: false } },
      status(200),
      'pushPreempt',
      'deliverPending',
    ]);
    expect(m.state()).toEqual({ authenticated: 'online' });
  });

  it('ignores the same login re-sent while the first was worked on, answers one sent after its answer again, and another one 405', () => {
    const m = start();
    m.send(login());
    expect(m.send(login())).toEqual([]);
    expect(m.send({ ...login(), afterAnswer: true } as ConnectionEvent)).toEqual([
      { pushConn: { pairing: false } },
      { answerFrame: { body: { status: 200 } } },
    ]);
    expect(m.actor.getSnapshot().context.loginTokens).not.toBeNull();
    expect(m.send({ ...login(), clientToken: 'other' } as ConnectionEvent)).toEqual([
      { answerFrame: { body: { status: 405 } } },
    ]);
  });

  it('notes that a login was answered when its own answer goes out, refused or passed, not while challenged', () => {
    const refused = start({}, ['noteLoginAnswered']);
    refused.facts.login = { ...refused.facts.login, browser: null };
    expect(refused.send(login())).toEqual([status(401), 'noteLoginAnswered']);
    const forced = start({}, ['noteLoginAnswered']);
    forced.facts.login = { ...forced.facts.login, forced: 500 };
    expect(forced.send(login())).toEqual([status(500), 'noteLoginAnswered']);
    const passed = start({}, ['noteLoginAnswered']);
    expect(passed.send(login())).toEqual([
      'resumeSession',
      'retireRef',
      { pushConn: { pairing: false } },
      status(200),
      'noteLoginAnswered',
      'pushPreempt',
      'deliverPending',
    ]);
    const challenged = start({}, ['noteLoginAnswered']);
    challenged.facts.login = { ...challenged.facts.login, browser: browser('stale') };
    expect(challenged.send(login())).toEqual(['pushChallenge']);
  });

  it('challenges stale tokens and a forced challenge (consuming that fault only when it decides)', () => {
    const stale = start();
    stale.facts.login = { ...stale.facts.login, browser: browser('stale'), challengeForced: true };
    expect(stale.send(login())).toEqual(['pushChallenge']);
    expect(stale.state()).toBe('challenged');
    expect(stale.send(login())).toEqual([]);

    const forced = start();
    forced.facts.login = { ...forced.facts.login, challengeForced: true };
    expect(forced.send(login())).toEqual(['consumeChallengeFault', 'pushChallenge']);
  });

  it('takes the right challenge answer and refuses a wrong, a forced or a held one', () => {
    const challenge = randomBytes(32);
    const right = toBase64(challengeAnswer(keys.macKey, challenge));
    const answer = (text: string): ConnectionEvent => ({
      type: 'CHALLENGE_ANSWER',
      tag: 'c1',
      answer: text,
      clientId: CLIENT_ID,
    });
    const challenged = (
      changes: Partial<Facts['challenge']> = {},
      mode: 'takeover' | 'reconnect' = 'takeover',
    ) => {
      const m = start();
      m.facts.login = { ...m.facts.login, browser: browser('stale'), challenge };
      m.facts.challenge = { ...m.facts.challenge, ...changes };
      m.send(init());
      m.send(login(mode));
      return m;
    };
    const ok = challenged();
    expect(ok.send(answer(right))).toEqual([
      status(200),
      'resumeSession',
      'retireRef',
      { pushConn: { pairing: false } },
      { answerChallengedLogin: { body: { status: 200 } } },
      'pushPreempt',
      'deliverPending',
    ]);
    expect(ok.actor.getSnapshot().context.challenge).toBeNull();

    expect(challenged().send(answer(toBase64(randomBytes(32))))).toEqual([status(401)]);
    expect(challenged().send(answer('not base64!'))).toEqual([status(401)]);
    expect(challenged({ forced: 409 }).send(answer(right))).toEqual([status(409)]);
    expect(challenged({ browser: null }).send(answer(right))).toEqual([status(401)]);
    expect(challenged({ heldElsewhere: true }, 'reconnect').send(answer(right))).toEqual([status(409)]);
    const back = challenged();
    back.send(answer('AAAA'));
    expect(back.state()).toBe('refIssued');
    const other = challenged();
    expect(other.send({ ...answer(right), clientId: toBase64(randomBytes(16)) } as ConnectionEvent)).toEqual([
      { answerFrame: { body: { status: 400 } } },
    ]);
  });
});

describe('the rest of a socket', () => {
  it('closes on a binary frame before keys, and answers binary frames once authenticated', () => {
    const early = start();
    expect(early.send({ type: 'BINARY', tag: 'b', payload: randomBytes(64) })).toEqual([
      { closeSocket: { reason: 'binary frame before keys exist', code: 1008 } },
    ]);
    expect(early.actor.getSnapshot().status).toBe('done');
    const m = start();
    m.send(login());
    expect(m.send({ type: 'BINARY', tag: 'b', payload: randomBytes(64) })).toEqual(['answerBinary']);
    expect(m.send({ type: 'TEST', tag: 't' })).toEqual([{ answerFrame: { body: ['Pong', true] } }]);
  });

  it('answers a command that is none 400 and closes on a frame that is no frame (1002), before and after login', () => {
    const early = start();
    expect(early.send({ type: 'BAD_COMMAND', tag: 'x' })).toEqual([
      { answerFrame: { body: { status: 400 } } },
    ]);
    expect(early.state()).toBe('awaitingInit');
    const m = start();
    m.send(login());
    expect(m.send({ type: 'BAD_COMMAND', tag: 'x' })).toEqual([{ answerFrame: { body: { status: 400 } } }]);
    expect(m.state()).toEqual({ authenticated: 'online' });
    expect(m.send({ type: 'MALFORMED', reason: 'malformed frame: no comma' })).toEqual([
      { closeSocket: { reason: 'malformed frame: no comma', code: 1002 } },
    ]);
    expect(m.actor.getSnapshot().status).toBe('done');
  });

  it('logs out: forgets the browser only when it holds one, answers 200 and closes', () => {
    const m = start();
    m.send(login());
    expect(m.send({ type: 'LOGOUT', tag: 'goodbye' })).toEqual([
      'forgetBrowser',
      status(200),
      { closeSocket: { reason: 'logged out', code: 1000 } },
    ]);
    expect(m.actor.getSnapshot().status).toBe('done');
    const bare = start();
    expect(bare.send({ type: 'LOGOUT', tag: 'goodbye' })).toEqual([
      status(200),
      { closeSocket: { reason: 'logged out', code: 1000 } },
    ]);
  });

  it('says why it closes when replaced or unlinked', () => {
    const m = start();
    m.send(login());
    expect(m.send({ type: 'REPLACED' })).toEqual([
      { pushDisconnect: { kind: 'replaced' } },
      { closeSocket: { reason: 'replaced by another browser', code: 1000 } },
    ]);
    const u = start();
    expect(u.send({ type: 'UNLINKED' })).toEqual([
      { pushDisconnect: { kind: null } },
      { closeSocket: { reason: 'unlinked by the phone', code: 1000 } },
    ]);
  });
});
