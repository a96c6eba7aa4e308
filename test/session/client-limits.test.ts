// What the client keeps to itself whatever the server does (issue 12, Medium 7 and Low): a deadline on
// every wait, its own QR budget, ttls a timer can hold, a backoff that only a stable session resets, and
// Conn pushes checked before anything is stored. Real sockets, real time (short timings).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

let emu: Emulator;
const running: Recorded[] = [];

async function session(options: Parameters<typeof recordSession>[1] = {}): Promise<Recorded> {
  const recorded = await recordSession(emu, options);
  running.push(recorded);
  return recorded;
}

beforeEach(async () => {
  emu = await emulator({ refTtlMs: 1_000 });
});

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  await emu.close();
});

/** The server sits on a request far longer than any deadline below. */
const SILENT = { kind: 'delay', ms: 3_000 };

describe('a server that goes silent costs a reconnect, never a wait forever', () => {
  for (const [at, waiting, timing] of [
    ['init', 'online.initializing', { initTimeout: 200 }],
    ['login', 'online.loggingIn', { loginResend: 100, loginTimeout: 250 }],
  ] as const) {
    it(`at ${at}: ${waiting} gives up, and the next socket logs in`, async () => {
      const store = await pairedStore(emu);
      await fault(emu, { ...SILENT, at });
      const s = await session({ store, scanAs: null, timing });
      await s.reach('reconnecting', 3_000);
      expect(s.states.slice(0, 2)).toEqual(['online.connecting', 'online.initializing']);
      expect(s.states).toContain(waiting);
      const reconnecting = await s.nextEvent('reconnecting');
      expect(reconnecting.reason).toMatch(/^the server left (init|the login) unanswered/);
      await s.reach('online.ready', 3_000);
    });
  }

  it('at a challenge: challenged gives up, and the next socket logs in', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'challenge' });
    await fault(emu, { ...SILENT, at: 'challenge' });
    const s = await session({ store, scanAs: null, timing: { challengeTimeout: 200 } });
    await s.reach('reconnecting', 3_000);
    expect(s.states).toContain('online.challenged');
    await s.reach('online.ready', 3_000);
  });

  it('at a reref: rerefing gives up, and the next socket shows a new code', async () => {
    await fault(emu, { ...SILENT, at: 'reref' });
    const s = await session({ scanAs: null, timing: { rerefTimeout: 200 } });
    await s.reach('reconnecting', 3_000);
    expect(s.states).toContain('online.qr.rerefing');
    await s.reach('online.qr.showing', 3_000);
  });
});

describe('the QR budget and ttl are the client’s own (docs/protocol.md §2.2)', () => {
  it('a server that grants every reref gets six codes on a socket, not 191', async () => {
    await fault(emu, {
      kind: 'answer',
      at: 'reref',
      body: { status: 200, ref: '1@granted', ttl: 300 },
      times: 1_000,
    });
    const s = await session({ scanAs: null });
    await s.reach('refsExhausted', 5_000);
    expect(s.events.filter((e) => e.type === 'qr')).toHaveLength(6);
    expect(s.states.filter((x) => x === 'online.qr.rerefing')).toHaveLength(5);
  });

  it('a ttl of 2^40 ms does not fire after 1 ms: the code is believed for qrTtlMax', async () => {
    await fault(emu, { kind: 'answer', at: 'init', body: { status: 200, ref: '1@long', ttl: 2 ** 40 } });
    const s = await session({ scanAs: null, timing: { qrTtlMax: 60_000 } });
    const qr = await s.nextEvent('qr');
    expect(qr.ttl).toBe(60_000);
    await settle(200);
    expect(s.session.state.name).toBe('online.qr.showing');
    expect(s.events.filter((e) => e.type === 'qr')).toHaveLength(1);
  });
});

describe('the backoff (docs/protocol.md §2.6)', () => {
  it('a server that accepts and drops at once meets a growing backoff, not one reconnect per base', async () => {
    const store = await pairedStore(emu);
    await fault(emu, { kind: 'closeSocket', at: 'ready', times: 4 });
    const s = await session({
      store,
      scanAs: null,
      timing: { backoffBase: 20, backoffMax: 1_000, readyStable: 10_000 },
    });
    await until(() => s.events.filter((e) => e.type === 'reconnecting').length === 4, 5_000);
    const attempts = s.events.flatMap((e) => (e.type === 'reconnecting' ? [e.attempt] : []));
    expect(attempts).toEqual([1, 2, 3, 4]);
    await s.reach('online.ready', 5_000);
  });
});

describe('Conn pushes are checked before anything is stored', () => {
  for (const [what, fields] of [
    ['empty tokens', { clientToken: '', serverToken: '' }],
    // (The fault API takes 64 KiB; test/actors/receiver.test.ts refuses a 5 MB one.)
    ['a 60 kB token', { serverToken: `1@${'A'.repeat(60_000)}` }],
    ['a wid that is a path', { wid: '../../../tmp/pwned' }],
  ] as const) {
    it(`${what} in the pairing Conn: dropped (FRAME_BAD_CONN), nothing stored, the code stays up`, async () => {
      await fault(emu, { kind: 'connFields', fields });
      const s = await session({ scanAs: null, timing: { qrRefreshMargin: 0 } });
      const qr = await s.nextEvent('qr');
      const scan = await http(emu.url, 'POST', `/phones/${PHONE}/scan`, { qr: qr.text });
      expect(scan.status).toBe(200);
      const dropped = await s.nextEvent('frame.dropped');
      expect(dropped.code).toBe('FRAME_BAD_CONN');
      expect(s.session.state.name).toMatch(/^online\.qr\./);
      expect(await s.store.load()).toBeNull();
    });
  }

  it('a Conn for binVersion 12: failed (unsupportedBinVersion), nothing stored', async () => {
    await fault(emu, { kind: 'connFields', fields: { binVersion: 12 } });
    const s = await session();
    await s.reach('failed');
    expect(s.session.state.reason).toBe('unsupportedBinVersion');
    expect(await s.store.load()).toBeNull();
  });
});
