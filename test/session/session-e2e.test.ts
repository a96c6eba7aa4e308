// walink sessions against the emulator, faults included. Each test asserts the ordered list of
// states the session went through, and where credentials ended up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCredentialStore } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { http } from '../support/raw-client.ts';
import {
  emulator,
  fault,
  PHONE,
  pairedStore,
  type Recorded,
  recordSession,
  settle,
  until,
} from '../support/session-harness.ts';

const PAIR = ['online.connecting', 'online.initializing', 'online.qr.showing', 'online.ready'];
const RESTORE = ['online.connecting', 'online.initializing', 'online.loggingIn', 'online.ready'];

let emu: Emulator;
const running: Recorded[] = [];

async function session(options: Parameters<typeof recordSession>[1] = {}): Promise<Recorded> {
  const recorded = await recordSession(emu, options);
  running.push(recorded);
  return recorded;
}

beforeEach(async () => {
  emu = await emulator();
});

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  await emu.close();
});

describe('pairing', () => {
  it('pairs by QR, stores the keys, and a second session restores by login without a QR', async () => {
    const store = new MemoryCredentialStore();
    const first = await session({ store });
    await first.reach('online.ready');
    expect(first.states).toEqual(PAIR);
    const saved = await store.load();
    expect(saved?.wid).toBe(`${PHONE}@c.us`);
    expect(saved?.encKey).toHaveLength(32);
    await first.stop();

    const second = await session({ store, scanAs: null });
    await second.reach('online.ready');
    expect(second.states).toEqual(RESTORE);
    expect(second.events.some((e) => e.type === 'qr')).toBe(false);
    // Tokens rotate on every login and the store follows.
    expect((await store.load())?.clientToken).not.toBe(saved?.clientToken);
  });

  it('rotates the QR twice, then pairs on the third code', async () => {
    await emu.close();
    emu = await emulator({ refTtlMs: 1_200 });
    const s = await session({ scanAs: null });
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push((await s.nextEvent('qr', 5_000)).text);
    expect(new Set(codes.map((c) => c.split(',')[0])).size).toBe(3);
    // The public key and clientId stay; only the ref changes.
    expect(new Set(codes.map((c) => c.split(',').slice(1).join(','))).size).toBe(1);
    const scan = await http(emu.url, 'POST', `/phones/${PHONE}/scan`, { qr: codes[2] });
    expect(scan.status).toBe(200);
    await s.reach('online.ready');
    expect(s.states).toEqual([
      'online.connecting',
      'online.initializing',
      'online.qr.showing',
      'online.qr.rerefing',
      'online.qr.showing',
      'online.qr.rerefing',
      'online.qr.showing',
      'online.ready',
    ]);
  });

  it('stops after the budget: six codes, the last kept to its expiry, then refsExhausted; RESTART shows a new code with a new key', async () => {
    await emu.close();
    emu = await emulator({ refTtlMs: 1_000 });
    const s = await session({ scanAs: null });
    await s.reach('refsExhausted', 15_000);
    const codes = s.events.filter((e) => e.type === 'qr');
    expect(codes).toHaveLength(6);
    // The client keeps the budget itself: it asks five times, not a sixth time to hear 429.
    expect(s.states.filter((x) => x === 'online.qr.rerefing')).toHaveLength(5);
    expect(s.states.slice(-2)).toEqual(['online.qr.kept', 'refsExhausted']);
    s.session.restart();
    await s.reach('online.qr.showing');
    // docs/protocol.md §2.2: a new pairing attempt, a fresh X25519 key pair.
    await until(() => s.events.filter((e) => e.type === 'qr').length === 7);
    const fresh = s.events.filter((e) => e.type === 'qr').at(-1)!;
    expect(fresh.text.split(',')[1]).not.toBe(codes[0]!.text.split(',')[1]);
    expect(fresh.text.split(',')[2]).toBe(codes[0]!.text.split(',')[2]);
  });

  it('a 429 on reref ends the QR at once', async () => {
    await emu.close();
    emu = await emulator({ refTtlMs: 1_000 });
    await fault(emu, { kind: 'rerefStatus', status: 429 });
    const s = await session({ scanAs: null });
    await s.reach('refsExhausted');
    expect(s.states).toEqual([
      'online.connecting',
      'online.initializing',
      'online.qr.showing',
      'online.qr.rerefing',
      'refsExhausted',
    ]);
  });

  it('an expired code cannot be scanned; the session keeps showing the current one', async () => {
    await emu.close();
    emu = await emulator({ refTtlMs: 1_000 });
    const s = await session({ scanAs: null });
    const old = await s.nextEvent('qr');
    await s.nextEvent('qr', 5_000);
    const scan = await http(emu.url, 'POST', `/phones/${PHONE}/scan`, { qr: old.text });
    expect(scan.status).toBe(410);
    expect(s.session.state.name).toMatch(/^online\.qr\./);
  });

  it('a forged secret fails with badSecret and stores no keys', async () => {
    await fault(emu, { kind: 'badSecret' });
    const s = await session();
    await s.reach('failed');
    expect(s.states).toEqual(['online.connecting', 'online.initializing', 'online.qr.showing', 'failed']);
    expect(s.events).toContainEqual({ type: 'failed', reason: 'badSecret' });
    expect(await s.store.load()).toBeNull();
  });

  it('a multi-device phone answers upgrade_md_prod: failed, needsMultiDevice', async () => {
    await http(emu.url, 'PUT', `/phones/${PHONE}`, { multiDevice: true });
    const s = await session();
    await s.reach('failed');
    expect(s.events).toContainEqual({ type: 'failed', reason: 'needsMultiDevice' });
    expect(await s.store.load()).toBeNull();
  });
});

describe('login statuses', () => {
  const ends: { status: number; state: string; reason: string; kept: boolean }[] = [
    { status: 400, state: 'failed', reason: 'badRequest', kept: true },
    { status: 401, state: 'loggedOut', reason: 'removed', kept: false },
    { status: 403, state: 'loggedOut', reason: 'denied', kept: true },
    { status: 409, state: 'conflict', reason: 'replaced', kept: true },
    { status: 419, state: 'loggedOut', reason: 'tooOld', kept: false },
  ];
  for (const end of ends) {
    it(`${end.status} → ${end.state} (${end.reason}), credentials ${end.kept ? 'kept' : 'cleared'}`, async () => {
      const store = await pairedStore(emu);
      await fault(emu, { kind: 'loginStatus', status: end.status });
      const s = await session({ store, scanAs: null });
      await s.reach(end.state);
      expect(s.states).toEqual([...RESTORE.slice(0, 3), end.state]);
      expect(s.session.state.reason).toBe(end.reason);
      expect((await store.load()) !== null).toBe(end.kept);
    });
  }

  it('403 with a terms-of-service block → loggedOut (tosBlocked)', async () => {
    const store = await pairedStore(emu);
    await http(emu.url, 'PUT', `/phones/${PHONE}`, { tosBlocked: true });
    const s = await session({ store, scanAs: null });
    await s.reach('loggedOut');
    expect(s.events).toContainEqual({ type: 'loggedOut', reason: 'tosBlocked' });
    expect(await store.load()).not.toBeNull();
  });

  it('405 reconnects once and then logs in', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'loginStatus', status: 405 });
    const s = await session({ store, scanAs: null });
    await s.reach('online.ready');
    expect(s.states).toEqual([...RESTORE.slice(0, 3), ...RESTORE]);
  });

  it('500 backs off and logs in again', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'loginStatus', status: 500 });
    const s = await session({ store, scanAs: null });
    await s.reach('online.ready');
    expect(s.states).toEqual([...RESTORE.slice(0, 3), 'reconnecting', ...RESTORE]);
  });

  it('a challenge is answered with the HMAC and the session gets ready', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'challenge' });
    const s = await session({ store, scanAs: null });
    await s.reach('online.ready');
    expect(s.states).toEqual([...RESTORE.slice(0, 3), 'online.challenged', 'online.ready']);
  });
});

describe('takeover, unlink, logout', () => {
  it('a second process takes over: the first goes to conflict and does not fight back', async () => {
    const store = await pairedStore(emu);
    const first = await session({ store, scanAs: null });
    await first.reach('online.ready');
    const copy = new MemoryCredentialStore((await store.load())!);
    const second = await session({ store: copy, scanAs: null });
    await second.reach('online.ready');
    await first.reach('conflict');
    await settle(500);
    expect(first.states).toEqual([...RESTORE, 'conflict']);
    expect(second.session.state.name).toBe('online.ready');
    expect(second.states).toEqual(RESTORE);
    expect(await store.load()).not.toBeNull();
  });

  it('in reconnect mode a session open elsewhere answers 409: conflict', async () => {
    const store = await pairedStore(emu);
    const first = await session({ store, scanAs: null });
    await first.reach('online.ready');
    const copy = new MemoryCredentialStore((await store.load())!);
    const second = await session({ store: copy, scanAs: null, loginMode: 'reconnect' });
    await second.reach('conflict');
    expect(first.session.state.name).toBe('online.ready');
  });

  it('the phone unlinks the browser: loggedOut (unlinked), credentials cleared', async () => {
    const s = await session();
    await s.reach('online.ready');
    await http(emu.url, 'POST', `/phones/${PHONE}/unlink`, {});
    await s.reach('loggedOut');
    expect(s.states).toEqual([...PAIR, 'loggedOut']);
    expect(s.events).toContainEqual({ type: 'loggedOut', reason: 'unlinked' });
    expect(await s.store.load()).toBeNull();
  });

  it('logout says goodbye; the old tokens then get 401', async () => {
    const s = await session();
    await s.reach('online.ready');
    const saved = await s.store.load();
    s.session.logout();
    await s.reach('loggedOut');
    expect(s.states).toEqual([...PAIR, 'online.loggingOut', 'loggedOut']);
    expect(await s.store.load()).toBeNull();
    const again = await session({ store: new MemoryCredentialStore(saved!), scanAs: null });
    await again.reach('loggedOut');
    expect(again.events).toContainEqual({ type: 'loggedOut', reason: 'removed' });
  });
});

describe('dropped sockets recover', () => {
  for (const step of ['init', 'scan', 'conn', 'ready']) {
    it(`while pairing, at ${step}`, async () => {
      await fault(emu, { kind: 'closeSocket', at: step });
      const s = await session();
      await until(() => s.states.includes('reconnecting') && s.session.state.name === 'online.ready');
      expect(s.states[0]).toBe('online.connecting');
      expect(await s.store.load()).not.toBeNull();
      await settle(100);
      expect(s.session.state.name).toBe('online.ready');
    });
  }

  for (const step of ['init', 'login', 'conn', 'ready']) {
    it(`while logging in, at ${step}`, async () => {
      const store = await pairedStore(emu);
      await fault(emu, { kind: 'closeSocket', at: step });
      const s = await session({ store, scanAs: null });
      await until(() => s.states.includes('reconnecting') && s.session.state.name === 'online.ready');
      expect(s.states.slice(0, 2)).toEqual(RESTORE.slice(0, 2));
      expect(s.states.slice(-4)).toEqual(RESTORE);
      expect(await store.load()).not.toBeNull();
    });
  }

  it('while answering a challenge', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'challenge' });
    await fault(emu, { kind: 'closeSocket', at: 'challenge' });
    const s = await session({ store, scanAs: null });
    await s.reach('online.ready');
    expect(s.states).toEqual([...RESTORE.slice(0, 3), 'online.challenged', 'reconnecting', ...RESTORE]);
  });

  it('after the nth frame of a ready session', async () => {
    const s = await session();
    await s.reach('online.ready');
    await fault(emu, { kind: 'closeSocket', afterFrames: 1 });
    s.session.send('491700000001@c.us', 'this frame closes the socket');
    await s.reach('reconnecting');
    await s.reach('online.ready');
    expect(s.states).toEqual([...PAIR, 'reconnecting', ...RESTORE]);
  });
});

describe('the frame stream', () => {
  it('drops and counts a frame whose HMAC is corrupt, and keeps reading the next', async () => {
    const s = await session();
    await s.reach('online.ready');
    await settle(100);
    await fault(emu, { kind: 'corruptHmac' });
    await http(emu.url, 'POST', `/phones/${PHONE}/messages`, { from: '491700000001@c.us', text: 'forged' });
    const dropped = await s.nextEvent('frame.dropped');
    expect(dropped.count).toBe(1);
    expect(dropped.reason).toMatch(/verification/);
    await http(emu.url, 'POST', `/phones/${PHONE}/messages`, { from: '491700000001@c.us', text: 'genuine' });
    const message = await s.nextEvent('message');
    expect(message.message.text).toBe('genuine');
    expect(s.session.stats.framesDropped).toBe(1);
    expect(s.session.state.name).toBe('online.ready');
  });

  it('delivers text and media messages, and relays what it sends', async () => {
    const s = await session();
    await s.reach('online.ready');
    await http(emu.url, 'POST', `/phones/${PHONE}/messages`, { from: '491700000001@c.us', text: 'hello' });
    const image = Buffer.from('not really a jpeg, but bytes all the same').toString('base64');
    await http(emu.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '491700000001@c.us',
      media: { type: 'image', base64: image, mimetype: 'image/jpeg' },
    });
    const text = await s.nextEvent('message');
    expect(text.message).toMatchObject({ text: 'hello', chat: '491700000001@c.us', fromMe: false });
    const media = await s.nextEvent('media');
    expect(media.media.type).toBe('image');
    expect(media.media.mediaKey).toHaveLength(32);
    expect(media.media.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    const id = s.session.send('491700000001@c.us', 'hi back');
    const ack = await s.nextEvent('message.ack');
    expect(ack).toMatchObject({ id, status: 200 });
    const sent = await http(emu.url, 'GET', `/phones/${PHONE}/sent`);
    expect(sent.body.sent).toContainEqual(expect.objectContaining({ id, text: 'hi back' }));
  });
});
