// The session machine alone: a fake socket actor records commands and the test plays the server.
// Time is SimulatedClock's, so every delay (QR refresh, login re-send, keep-alive, backoff) is exact.
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, SimulatedClock } from 'xstate';
import { buildPairingSecret, toBase64, x25519KeyPair } from '../../crypto/index.ts';
import {
  backoffDelay,
  type Credentials,
  type SessionEvent,
  type SessionTiming,
  type SocketActorInput,
  type SocketCommand,
  sessionMachine,
  stateName,
} from '../../machines/index.ts';

const CLIENT_ID = toBase64(new Uint8Array(16).fill(7));

function credentials(): Credentials {
  return {
    clientId: CLIENT_ID,
    clientToken: 'ct',
    serverToken: '1@st',
    browserToken: '1@bt',
    encKey: new Uint8Array(32).fill(1),
    macKey: new Uint8Array(32).fill(2),
    wid: '491511112222@c.us',
  };
}

function harness(
  options: {
    credentials?: Credentials | null;
    random?: () => number;
    timing?: Partial<SessionTiming>;
    clock?: SimulatedClock | null;
  } = {},
) {
  const clock = options.clock === null ? null : (options.clock ?? new SimulatedClock());
  const commands: SocketCommand[] = [];
  const sockets: SocketActorInput[] = [];
  const stored: Credentials[] = [];
  let cleared = 0;
  const keyPair = x25519KeyPair();
  const machine = sessionMachine.provide({
    actors: {
      socket: fromCallback<SocketCommand, SocketActorInput>(({ input, receive }) => {
        sockets.push(input);
        receive((command) => commands.push(command));
      }),
    },
    actions: {
      storeCredentials: (_, params) => {
        stored.push(params.credentials);
      },
      clearCredentials: () => {
        cleared += 1;
      },
    },
  });
  const actor = createActor(machine, {
    ...(clock ? { clock } : {}),
    input: {
      clientId: CLIENT_ID,
      credentials: options.credentials ?? null,
      keyPair,
      random: options.random ?? (() => 0.5),
      ...(options.timing ? { timing: options.timing } : {}),
    },
  });
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const name = stateName(snapshot.value);
    if (states.at(-1) !== name) states.push(name);
  });
  const emitted: { type: string }[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  return {
    actor: actor as typeof actor & AnyActorRef,
    clock: clock!,
    commands,
    sockets,
    stored,
    states,
    emitted,
    keyPair,
    get cleared() {
      return cleared;
    },
    send: (event: SessionEvent) => actor.send(event),
    state: () => stateName(actor.getSnapshot().value),
    commandTypes: () => commands.map((c) => c.type),
  };
}

describe('session machine: pairing', () => {
  it('connects, shows the QR, pairs from a real secret and stores the keys', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    expect(h.commandTypes()).toEqual(['send.init']);
    h.send({ type: 'init.ok', ref: '1@ref', ttl: 20_000 });
    const qr = h.emitted.find((e) => e.type === 'qr') as { text: string } | undefined;
    expect(qr?.text).toBe(`1@ref,${toBase64(h.keyPair.publicKey)},${CLIENT_ID}`);

    const keys = { encKey: new Uint8Array(32).fill(9), macKey: new Uint8Array(32).fill(8) };
    const secret = toBase64(buildPairingSecret(h.keyPair.publicKey, keys));
    h.send({
      type: 'server.conn',
      conn: { wid: '4915@c.us', clientToken: 'c1', serverToken: '1@s1', browserToken: '1@b1', secret },
    });
    expect(h.state()).toBe('online.ready');
    expect(h.stored).toHaveLength(1);
    expect(h.stored[0]).toMatchObject({ clientToken: 'c1', serverToken: '1@s1', wid: '4915@c.us' });
    expect(h.stored[0]!.encKey).toEqual(keys.encKey);
    expect(h.stored[0]!.macKey).toEqual(keys.macKey);
    expect(h.commands).toContainEqual({ type: 'use.keys', keys });
    expect(h.states).toEqual([
      'online.connecting',
      'online.initializing',
      'online.qr.showing',
      'online.ready',
    ]);
  });

  it('a forged secret fails with badSecret and stores nothing', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@ref', ttl: 20_000 });
    const secret = buildPairingSecret(h.keyPair.publicKey, {
      encKey: new Uint8Array(32),
      macKey: new Uint8Array(32),
    });
    secret[40]! ^= 1;
    h.send({
      type: 'server.conn',
      conn: {
        wid: 'w@c.us',
        clientToken: 'c',
        serverToken: 's',
        browserToken: 'b',
        secret: toBase64(secret),
      },
    });
    expect(h.state()).toBe('failed');
    expect(h.actor.getSnapshot().context.failure).toBe('badSecret');
    expect(h.stored).toHaveLength(0);
  });

  it('asks for a new ref 0.5 s before the ttl and stops at 429', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r0', ttl: 20_000 });
    h.clock.increment(19_499);
    expect(h.state()).toBe('online.qr.showing');
    h.clock.increment(1);
    expect(h.state()).toBe('online.qr.rerefing');
    expect(h.commandTypes().at(-1)).toBe('send.reref');
    h.send({ type: 'reref.result', status: 200, ref: '1@r1', ttl: 20_000 });
    expect(h.state()).toBe('online.qr.showing');
    expect(h.actor.getSnapshot().context.qrIndex).toBe(1);
    h.clock.increment(19_500);
    h.send({ type: 'reref.result', status: 429 });
    expect(h.state()).toBe('refsExhausted');
    expect(h.emitted.map((e) => e.type)).toContain('qr.exhausted');
    h.send({ type: 'user.restart' });
    expect(h.state()).toBe('online.connecting');
    expect(h.sockets).toHaveLength(2);
  });

  it('a 304 keeps the ref until its own expiry (0.5 s after the reref was asked), then the QR ends', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r0', ttl: 4_000 });
    h.clock.increment(3_500);
    h.send({ type: 'reref.result', status: 304 });
    expect(h.state()).toBe('online.qr.kept');
    h.clock.increment(499);
    expect(h.state()).toBe('online.qr.kept');
    h.clock.increment(1);
    expect(h.state()).toBe('refsExhausted');
  });

  it('upgrade_md_prod ends in failed with needsMultiDevice', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r0', ttl: 20_000 });
    h.send({ type: 'cmd.upgradeMd', version: '2.2126.11' });
    expect(h.state()).toBe('failed');
    expect(h.emitted).toContainEqual({ type: 'failed', reason: 'needsMultiDevice' });
  });
});

describe('session machine: restore', () => {
  function restoring() {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    expect(h.commands.map((c) => c.type)).toEqual(['send.init', 'send.login']);
    expect(h.sockets[0]!.keys).toEqual({ encKey: credentials().encKey, macKey: credentials().macKey });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    expect(h.state()).toBe('online.loggingIn');
    return h;
  }

  it('stores the rotated tokens from Conn before the 200 and reaches ready', () => {
    const h = restoring();
    h.send({
      type: 'server.conn',
      conn: { wid: 'w@c.us', clientToken: 'c2', serverToken: '1@s2', browserToken: '1@b2' },
    });
    expect(h.stored.at(-1)).toMatchObject({ clientToken: 'c2', serverToken: '1@s2', browserToken: '1@b2' });
    h.send({ type: 'login.result', status: 200 });
    expect(h.state()).toBe('online.ready');
    expect(h.commandTypes()).toContain('send.initialQueries');
    expect(h.states).toEqual([
      'online.connecting',
      'online.initializing',
      'online.loggingIn',
      'online.ready',
    ]);
  });

  it('keeps at most 19 context fields, so the copy each assign makes stays a fast object', () => {
    // XState's assign copies the context with Object.assign({}, …); V8 turns a copy of 20 or more
    // properties into a hash table, which each of thousands of idle sessions would keep.
    const h = restoring();
    h.send({ type: 'login.result', status: 200 });
    expect(h.state()).toBe('online.ready');
    expect(Object.keys(h.actor.getSnapshot().context).length).toBeLessThanOrEqual(19);
  });

  it('re-sends the login every 10 s while unanswered', () => {
    const h = restoring();
    h.clock.increment(9_999);
    expect(h.commandTypes().filter((t) => t === 'send.loginAgain')).toHaveLength(0);
    h.clock.increment(1);
    h.clock.increment(10_000);
    expect(h.commandTypes().filter((t) => t === 'send.loginAgain')).toHaveLength(2);
  });

  it('answers a challenge with HMAC(macKey, challenge)', async () => {
    const { challengeAnswer } = await import('../../crypto/index.ts');
    const h = restoring();
    const challenge = new Uint8Array(32).fill(5);
    h.send({ type: 'cmd.challenge', challenge });
    expect(h.state()).toBe('online.challenged');
    const answer = h.commands.at(-1) as Extract<SocketCommand, { type: 'send.challenge' }>;
    expect(answer.answer).toEqual(challengeAnswer(credentials().macKey, challenge));
    h.send({ type: 'challenge.result', status: 200 });
    expect(h.state()).toBe('online.ready');
  });

  const cases: { status: number; tos?: number; state: string; reason: string; cleared: boolean }[] = [
    { status: 400, state: 'failed', reason: 'badRequest', cleared: false },
    { status: 401, state: 'loggedOut', reason: 'removed', cleared: true },
    { status: 403, state: 'loggedOut', reason: 'denied', cleared: false },
    { status: 403, tos: 2, state: 'loggedOut', reason: 'tosBlocked', cleared: false },
    { status: 409, state: 'conflict', reason: 'replaced', cleared: false },
    { status: 419, state: 'loggedOut', reason: 'tooOld', cleared: true },
  ];
  for (const c of cases) {
    it(`login ${c.status}${c.tos ? ` tos ${c.tos}` : ''} → ${c.state} (${c.reason})`, () => {
      const h = restoring();
      h.send({ type: 'login.result', status: c.status, ...(c.tos ? { tos: c.tos } : {}) });
      expect(h.state()).toBe(c.state);
      expect(h.actor.getSnapshot().context.failure).toBe(c.reason);
      expect(h.cleared).toBe(c.cleared ? 1 : 0);
      expect(h.actor.getSnapshot().context.credentials === null).toBe(c.cleared);
    });
  }

  it('login 405 reconnects once, then gives up', () => {
    const h = restoring();
    h.send({ type: 'login.result', status: 405 });
    expect(h.state()).toBe('online.connecting');
    expect(h.sockets).toHaveLength(2);
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'login.result', status: 405 });
    expect(h.state()).toBe('failed');
    expect(h.actor.getSnapshot().context.failure).toBe('alreadyLoggedIn');
  });

  it('login 500 backs off with the injected jitter, then logs in again', () => {
    const h = restoring();
    h.send({ type: 'login.result', status: 500 });
    expect(h.state()).toBe('reconnecting');
    expect(h.emitted).toContainEqual({
      type: 'reconnecting',
      attempt: 1,
      delay: 750,
      reason: 'login answered 500',
    });
    h.clock.increment(749);
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(1);
    expect(h.state()).toBe('online.connecting');
  });
});

describe('session machine: ready', () => {
  function ready() {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'login.result', status: 200 });
    expect(h.state()).toBe('online.ready');
    return h;
  }

  it('pings after 20 s of silence; activity keeps it idle; an unanswered ping reconnects', () => {
    const h = ready();
    h.clock.increment(15_000);
    h.send({ type: 'server.activity' });
    h.clock.increment(15_000);
    expect(h.commandTypes()).not.toContain('send.ping');
    h.clock.increment(5_000);
    expect(h.commandTypes().filter((t) => t === 'send.ping')).toHaveLength(1);
    h.send({ type: 'server.activity' });
    h.clock.increment(19_999);
    expect(h.state()).toBe('online.ready');
    h.clock.increment(1); // ping again
    h.clock.increment(20_000); // nothing answers
    expect(h.state()).toBe('reconnecting');
    expect(h.actor.getSnapshot().context.lastDisconnect).toMatch(/stale/);
  });

  it('counts dropped frames and stays ready', () => {
    const h = ready();
    h.send({ type: 'server.frameDropped', code: 'FRAME_BAD_MAC', reason: 'bad hmac' });
    h.send({ type: 'server.frameDropped', code: 'FRAME_BAD_MAC', reason: 'bad hmac' });
    expect(h.state()).toBe('online.ready');
    expect(h.actor.getSnapshot().context.droppedFrames).toBe(2);
    expect(h.emitted.filter((e) => e.type === 'frame.dropped')).toHaveLength(2);
  });

  it('a takeover elsewhere puts it in conflict and it does not reconnect by itself', () => {
    const h = ready();
    h.send({ type: 'cmd.disconnect', kind: 'replaced' });
    h.send({ type: 'socket.closed', code: 1000, reason: 'replaced' });
    h.clock.increment(600_000);
    expect(h.state()).toBe('conflict');
    expect(h.sockets).toHaveLength(1);
    h.send({ type: 'user.takeOver' });
    expect(h.state()).toBe('online.connecting');
  });

  it('an unlink clears the credentials', () => {
    const h = ready();
    h.send({ type: 'cmd.disconnect' });
    expect(h.state()).toBe('loggedOut');
    expect(h.cleared).toBe(1);
  });

  it('logout sends goodbye and forgets the session when the server confirms', () => {
    const h = ready();
    h.send({ type: 'user.logout' });
    expect(h.state()).toBe('online.loggingOut');
    expect(h.commandTypes().at(-1)).toBe('send.goodbye');
    h.send({ type: 'logout.result', status: 200 });
    expect(h.state()).toBe('loggedOut');
    expect(h.cleared).toBe(1);
  });

  it('a dropped socket reconnects with backoff and restores by login', () => {
    const h = ready();
    h.send({ type: 'socket.closed', code: 1006, reason: '' });
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(1_000);
    expect(h.state()).toBe('online.connecting');
    h.send({ type: 'socket.open' });
    expect(h.commandTypes().slice(-2)).toEqual(['send.init', 'send.login']);
  });
});

describe('backoff', () => {
  it('doubles, caps at the maximum and jitters between half and all', () => {
    const timing = { backoffBase: 1000, backoffMax: 30_000 } as never;
    expect(backoffDelay({ timing, random: () => 0 }, 0)).toBe(500);
    expect(backoffDelay({ timing, random: () => 0.999999 }, 0)).toBe(1000);
    expect(backoffDelay({ timing, random: () => 0 }, 3)).toBe(4000);
    expect(backoffDelay({ timing, random: () => 0.5 }, 10)).toBe(22_500);
    expect(backoffDelay({ timing, random: () => 0 }, 1000)).toBe(15_000);
  });
});

describe('session machine: no wait without a deadline (docs/protocol.md §2.1-2.5)', () => {
  it('init left unanswered: a new socket after initTimeout (20 s), with the reason', () => {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.clock.increment(19_999);
    expect(h.state()).toBe('online.initializing');
    h.clock.increment(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.emitted).toContainEqual(
      expect.objectContaining({ type: 'reconnecting', reason: 'the server left init unanswered for 20 s' }),
    );
  });

  it('a reref left unanswered: a new socket after rerefTimeout (10 s)', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r0', ttl: 20_000 });
    h.clock.increment(19_500);
    expect(h.state()).toBe('online.qr.rerefing');
    h.clock.increment(9_999);
    expect(h.state()).toBe('online.qr.rerefing');
    h.clock.increment(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.actor.getSnapshot().context.lastDisconnect).toBe('the server left a reref unanswered for 10 s');
  });

  it('a login left unanswered is re-sent every 10 s and given up after loginTimeout (45 s)', () => {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    for (let i = 0; i < 4; i++) h.clock.increment(10_000);
    expect(h.commandTypes().filter((t) => t === 'send.loginAgain')).toHaveLength(4);
    h.clock.increment(4_999);
    expect(h.state()).toBe('online.loggingIn');
    h.clock.increment(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.commandTypes().filter((t) => t === 'send.loginAgain')).toHaveLength(4);
    expect(h.actor.getSnapshot().context.lastDisconnect).toBe(
      'the server left the login unanswered for 45 s',
    );
  });

  it('the login deadline counts from the first send on every new socket', () => {
    const h = harness({ credentials: credentials(), timing: { loginTimeout: 15_000 } });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.clock.increment(10_000);
    h.clock.increment(5_000);
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(1_000);
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.clock.increment(14_999);
    expect(h.state()).toBe('online.loggingIn');
  });

  it('a challenge answer left unanswered: a new socket after challengeTimeout (20 s)', () => {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'cmd.challenge', challenge: new Uint8Array(32) });
    h.clock.increment(19_999);
    expect(h.state()).toBe('online.challenged');
    h.clock.increment(1);
    expect(h.state()).toBe('reconnecting');
  });

  it('a timing option that is no duration keeps its default', () => {
    const h = harness({ credentials: credentials(), timing: { initTimeout: Number.NaN, loginResend: -1 } });
    expect(h.actor.getSnapshot().context.timing.initTimeout).toBe(20_000);
    expect(h.actor.getSnapshot().context.timing.loginResend).toBe(10_000);
  });
});

describe('session machine: QR codes the client keeps itself (docs/protocol.md §2.2)', () => {
  it('shows at most 6 codes on a socket even when the server grants every reref', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: 'r0', ttl: 1_000 });
    for (let i = 1; i < 10; i++) {
      h.clock.increment(500);
      if (h.state() !== 'online.qr.rerefing') break;
      h.send({ type: 'reref.result', status: 200, ref: `r${i}`, ttl: 1_000 });
    }
    expect(h.emitted.filter((e) => e.type === 'qr')).toHaveLength(6);
    expect(h.commandTypes().filter((t) => t === 'send.reref')).toHaveLength(5);
    expect(h.state()).toBe('online.qr.kept');
    h.clock.increment(500);
    expect(h.state()).toBe('refsExhausted');
  });

  it('a huge ttl is believed up to qrTtlMax and never overflows a timer (real clock)', async () => {
    const h = harness({ clock: null });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: 'r0', ttl: 2 ** 40 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.state()).toBe('online.qr.showing');
    expect(h.emitted.find((e) => e.type === 'qr')).toMatchObject({ ttl: 120_000 });
    h.actor.stop();
  });

  it('a new pairing attempt uses a fresh key pair; the refs of one socket share theirs', () => {
    const h = harness();
    const publicKeys = () =>
      h.emitted
        .filter((e) => e.type === 'qr')
        .map((e) => (e as unknown as { text: string }).text.split(',')[1]);
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: 'r0', ttl: 1_000 });
    h.clock.increment(500);
    h.send({ type: 'reref.result', status: 200, ref: 'r1', ttl: 1_000 });
    h.clock.increment(500);
    h.send({ type: 'reref.result', status: 429 });
    expect(h.state()).toBe('refsExhausted');
    h.send({ type: 'user.restart' });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: 'r2', ttl: 1_000 });
    const [first, second, third] = publicKeys();
    expect(first).toBe(toBase64(h.keyPair.publicKey));
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });
});

describe('session machine: answers it refuses', () => {
  it('init answered with fields walink refuses: failed, badServerAnswer', () => {
    const h = harness();
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.failed', status: 'invalid', reason: 'a ref with a comma' });
    expect(h.state()).toBe('failed');
    expect(h.emitted).toContainEqual({ type: 'failed', reason: 'badServerAnswer' });
  });

  it('a Conn for another binary dictionary: failed, unsupportedBinVersion, credentials kept', () => {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'conn.unsupported', binVersion: 12 });
    expect(h.state()).toBe('failed');
    expect(h.actor.getSnapshot().context.failure).toBe('unsupportedBinVersion');
    expect(h.cleared).toBe(0);
  });
});

describe('session machine: the previous tokens (docs/protocol.md §2.5)', () => {
  const rotated = {
    wid: '491511112222@c.us',
    clientToken: 'ct2',
    serverToken: '1@st2',
    browserToken: '1@bt2',
  };

  function loggedInOnce() {
    const h = harness({ credentials: credentials() });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'server.conn', conn: rotated });
    h.send({ type: 'login.result', status: 200 });
    h.send({ type: 'socket.closed', code: 1006, reason: '' });
    h.clock.increment(1_000);
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    return h;
  }

  it('a rotation keeps the tokens it replaced, and stores both', () => {
    const h = loggedInOnce();
    expect(h.stored.at(-1)).toMatchObject({
      clientToken: 'ct2',
      serverToken: '1@st2',
      previous: { clientToken: 'ct', serverToken: '1@st', browserToken: '1@bt' },
    });
  });

  it('401 to the current tokens: one login with the previous ones on a fresh socket, nothing cleared', () => {
    const h = loggedInOnce();
    const socketsBefore = h.sockets.length;
    h.send({ type: 'login.result', status: 401 });
    expect(h.state()).toBe('online.connecting');
    expect(h.sockets).toHaveLength(socketsBefore + 1);
    expect(h.cleared).toBe(0);
    h.send({ type: 'socket.open' });
    const login = h.commands.at(-1) as Extract<SocketCommand, { type: 'send.login' }>;
    expect(login.type).toBe('send.login');
    expect(login.credentials).toMatchObject({ clientToken: 'ct', serverToken: '1@st' });
    // The server takes them (challenged as stale) and rotates: the pair it took is the previous one now.
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    h.send({ type: 'cmd.challenge', challenge: new Uint8Array(32) });
    h.send({ type: 'challenge.result', status: 200 });
    h.send({ type: 'server.conn', conn: { ...rotated, clientToken: 'ct3', serverToken: '1@st3' } });
    expect(h.state()).toBe('online.ready');
    expect(h.stored.at(-1)).toMatchObject({
      clientToken: 'ct3',
      previous: { clientToken: 'ct', serverToken: '1@st' },
    });
  });

  it('401 to both: loggedOut (removed), and only then are the credentials cleared', () => {
    const h = loggedInOnce();
    h.send({ type: 'login.result', status: 401 });
    h.send({ type: 'socket.open' });
    h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
    expect(h.cleared).toBe(0);
    h.send({ type: 'login.result', status: 401 });
    expect(h.state()).toBe('loggedOut');
    expect(h.actor.getSnapshot().context.failure).toBe('removed');
    expect(h.cleared).toBe(1);
  });
});

describe('session machine: backoff after a stable session only (docs/protocol.md §2.6)', () => {
  it('a server that accepts and drops at once is met with a growing backoff', () => {
    const h = harness({ credentials: credentials(), random: () => 0.999_999 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.send({ type: 'socket.open' });
      h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
      h.send({ type: 'login.result', status: 200 });
      expect(h.state()).toBe('online.ready');
      h.send({ type: 'socket.closed', code: 1006, reason: '' });
      delays.push(h.actor.getSnapshot().context.backoff);
      h.clock.increment(delays.at(-1)!);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('after readyStable (60 s) in ready the backoff starts from its base again', () => {
    const h = harness({ credentials: credentials(), random: () => 0.999_999 });
    for (const stay of [0, 60_000]) {
      h.send({ type: 'socket.open' });
      h.send({ type: 'init.ok', ref: '1@r', ttl: 20_000 });
      h.send({ type: 'login.result', status: 200 });
      h.send({ type: 'server.phonePong', reachable: true });
      // Answer the keep-alive's pings while the clock runs.
      for (let t = 0; t < stay; t += 10_000) {
        h.clock.increment(10_000);
        h.send({ type: 'server.activity' });
      }
      h.send({ type: 'socket.closed', code: 1006, reason: '' });
      h.clock.increment(h.actor.getSnapshot().context.backoff);
    }
    const attempts = h.emitted
      .filter((e) => e.type === 'reconnecting')
      .map((e) => (e as unknown as { attempt: number }).attempt);
    expect(attempts).toEqual([1, 1]);
  });
});
