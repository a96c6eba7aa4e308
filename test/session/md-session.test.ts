// createSession({ protocol: 'md' }) end to end against the embedded MD emulator (docs/protocol-md.md):
// QR pairing (the emulator's phone scans through /md/), code pairing, 515 and login to ready, restore by
// login from the stored credentials, a text and an image from a contact, logout; and what the phone and
// the server do to a session: device removed, conflict, failure 405, refused codes, a wrong root. Messages
// decrypt with the session's own decryptor (md-store's decryptMdMessage over the device's Signal store).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSession, type Session, type SessionAppEvent, type SessionState } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { InProcessMediaQueue, MediaHostPolicy } from '../../index.ts';
import { http } from '../support/md-raw-client.ts';
import { type EventOf, newMdStore, recordEvents, startMdEmulator } from '../support/md-session-events.ts';

const PHONE = '15551234567';
const CONTACT = '4917000000001@s.whatsapp.net';

let emulator: Emulator;
const sessions: Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.stop();
  await emulator?.close();
});

async function start() {
  emulator = await startMdEmulator();
}

const newStore = newMdStore;

async function mdSession(store = newStore()) {
  const session = await createSession({
    protocol: 'md',
    url: emulator.mdWsUrl,
    rootPublicKey: emulator.md.rootPublicKey,
    store,
    // Reconnects after a dropped socket come quickly here (the backoff itself is the machine's, tested there).
    timing: { backoffBase: 20, backoffMax: 100 },
  });
  sessions.push(session);
  const recorded = recordEvents(session);
  const events = recorded.events;
  // Here the timeout comes before the match.
  const next = <T extends SessionAppEvent['type']>(
    type: T,
    timeoutMs = 8000,
    matches: (event: EventOf<T>) => boolean = () => true,
  ) => recorded.next(type, matches, timeoutMs);
  return { session: session.start(), events, next, store };
}

const isReady = (state: SessionState) => state.tags.includes('ready');
const stateNames = (events: SessionAppEvent[]) =>
  events.filter((event) => event.type === 'state').map((event) => (event as { state: string }).state);

describe('an MD session against the emulator', () => {
  it('pairs by QR, restarts on 515, logs in to ready, receives a text, restores by login, logs out', async () => {
    await start();
    const first = await mdSession();
    const qr = await first.next('qr');
    expect(qr.text.startsWith('https://wa.me/settings/linked_devices#2@')).toBe(true);
    expect(qr.ttl).toBe(60_000);
    expect(first.session.state.tags).toContain('needsScan');
    expect(first.session.state.qr?.ref).toBe(qr.ref);
    const scan = await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qr.text });
    expect(scan.json).toEqual({ jid: `${PHONE}:1@s.whatsapp.net`, device: 1 });
    const ready = await first.session.waitFor(isReady, 10_000);
    expect(ready.me).toBe(`${PHONE}:1@s.whatsapp.net`);
    expect(await first.next('md.paired')).toMatchObject({ jid: `${PHONE}:1@s.whatsapp.net`, method: 'qr' });
    expect(stateNames(first.events)).toContain('online.awaitingRestart');

    await http(emulator.url, 'POST', `/md/phones/${PHONE}/messages`, { from: CONTACT, text: 'hi walink' });
    // The phone's history-sync notification and app-state key share came first (§13).
    const history = await first.next('md.message', 8000, (e) => e.message.content.kind === 'historySync');
    expect(history.message.from).toBe(`${PHONE}@s.whatsapp.net`);
    await first.next('md.message', 8000, (e) => e.message.content.kind === 'appStateKeys');
    const message = await first.next('md.message', 8000, (e) => e.message.content.kind === 'text');
    expect(message.message).toMatchObject({ from: CONTACT, content: { kind: 'text', text: 'hi walink' } });
    const stored = await first.store.load();
    expect(stored?.credentials.me?.jid).toBe(`${PHONE}:1@s.whatsapp.net`);
    expect(stored?.credentials.account).not.toBeNull();
    expect(stored?.appStateKeys).toHaveLength(1);
    // 30 uploaded (§9); the phone and the contact each started a session with one (§12.1).
    expect(stored?.signal.preKeys).toHaveLength(28);
    await first.session.stop();
    // Sent while no socket is up: queued by the server and delivered at the next login (§12.5).
    await http(emulator.url, 'POST', `/md/phones/${PHONE}/messages`, { from: CONTACT, text: 'while away' });

    const second = await mdSession(first.store);
    await second.session.waitFor(isReady, 10_000);
    const away = await second.next('md.message', 8000, (e) => e.message.content.kind === 'text');
    expect(away.message.content).toEqual({ kind: 'text', text: 'while away' });
    expect((await second.next('md.offline')).count).toBe(1);
    expect(second.events.some((event) => event.type === 'qr')).toBe(false);
    expect(stateNames(second.events)).toContain('online.loggingIn');

    second.session.logout();
    const out = await second.session.waitFor((state) => state.resting, 10_000);
    expect(out.name).toBe('loggedOut');
    expect(out.reason).toBe('loggedOut');
    const phone = await http(emulator.url, 'GET', `/md/phones/${PHONE}`);
    expect(phone.json.devices).toEqual([]);
    await second.session.stop();
    expect((await first.store.load())?.credentials.me ?? null).toBeNull();
  }, 30_000);

  it('pairs by code: the code is shown once the server accepted companion_hello, the phone types it', async () => {
    await start();
    const s = await mdSession();
    await s.next('qr');
    s.session.requestPairingCode(`+${PHONE}`);
    const code = await s.next('pairCode', 15_000);
    expect(code.code).toMatch(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/);
    expect(code.ttl).toBe(180_000);
    // A subscriber that comes while the code is up gets it first, as it would the QR code.
    const late: SessionAppEvent[] = [];
    s.session.events$.subscribe((event) => late.push(event)).unsubscribe();
    expect(late.map((event) => event.type)).toEqual(['qr', 'pairCode']);
    const typed = await http(emulator.url, 'POST', `/md/phones/${PHONE}/link-code`, { code: code.code });
    expect(typed.status).toBe(200);
    await s.session.waitFor(isReady, 15_000);
    expect(await s.next('md.paired')).toMatchObject({ method: 'code' });
  }, 30_000);

  it('a legacy session has no pair code', async () => {
    await start();
    const legacy = await createSession({ url: emulator.wsUrl });
    sessions.push(legacy);
    expect(() => legacy.requestPairingCode(PHONE)).toThrow(TypeError);
  });
});

describe('an MD session meets what the server and phone do', () => {
  it('an image goes to the media queue, which downloads and decrypts it as for legacy (§12)', async () => {
    await start();
    const dir = mkdtempSync(join(tmpdir(), 'walink-md-media-'));
    const queue = new InProcessMediaQueue({
      mediaDir: dir,
      mediaHosts: MediaHostPolicy.fromEnv().with([new URL(emulator.url).origin]),
    });
    try {
      const done = new Promise<string>((resolve) =>
        queue.events$.subscribe((event) => event.type === 'done' && resolve(event.outPath)),
      );
      const session = await createSession({
        protocol: 'md',
        url: emulator.mdWsUrl,
        rootPublicKey: emulator.md.rootPublicKey,
        queue,
      });
      sessions.push(session);
      let qrText = '';
      const queued = new Promise<void>((resolve) =>
        session.events$.subscribe((event) => {
          if (event.type === 'qr') qrText = event.text;
          if (event.type === 'media.queued') resolve();
        }),
      );
      session.start();
      await session.waitFor((state) => state.tags.includes('needsScan'), 10_000);
      await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qrText });
      await session.waitFor(isReady, 10_000);
      const picture = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff));
      const image = { base64: picture.toString('base64'), mimetype: 'image/png', caption: 'a picture' };
      expect(
        (await http(emulator.url, 'POST', `/md/phones/${PHONE}/messages`, { from: CONTACT, image })).status,
      ).toBe(200);
      await queued;
      expect(Buffer.compare(readFileSync(await done), picture)).toBe(0);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  /** A session paired by QR and ready. */
  async function readySession(store = newStore()) {
    const s = await mdSession(store);
    const qr = await s.next('qr');
    await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qr.text });
    await s.session.waitFor(isReady, 10_000);
    return s;
  }

  it('QR and code at once: the scan wins and the pending code stops cleanly (§7.7)', async () => {
    await start();
    const s = await mdSession();
    const qr = await s.next('qr');
    s.session.requestPairingCode(PHONE);
    await s.next('pairCode', 15_000);
    expect(s.session.state.tags).toEqual(expect.arrayContaining(['needsScan', 'needsCode']));
    await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qr.text });
    await s.session.waitFor(isReady, 10_000);
    expect(await s.next('md.paired')).toMatchObject({ method: 'qr' });
    expect(s.session.state.tags).not.toContain('needsCode');
  }, 30_000);

  it('a refused companion_hello is typed and the QR stays (§7.6); a wrong code costs an attempt (§7.5)', async () => {
    await start();
    await http(emulator.url, 'POST', '/md/faults', { kind: 'companionHello', status: 452 });
    const s = await mdSession();
    await s.next('qr');
    s.session.requestPairingCode(PHONE);
    expect(await s.next('md.pairCode.failed', 15_000)).toMatchObject({ reason: 'useQr', status: 452 });
    expect(s.session.state.tags).toContain('needsScan');
    s.session.requestPairingCode(PHONE);
    const code = await s.next('pairCode', 15_000);
    const wrong = code.code.startsWith('Z') ? `Y${code.code.slice(1)}` : `Z${code.code.slice(1)}`;
    expect((await http(emulator.url, 'POST', `/md/phones/${PHONE}/link-code`, { code: wrong })).status).toBe(
      422,
    );
    expect(await s.next('md.pairCode.wrongCode', 15_000)).toMatchObject({ attemptsLeft: 2 });
  }, 30_000);

  it('the phone removes the device: device_removed, loggedOut, the store cleared (§10, §14)', async () => {
    await start();
    const s = await readySession();
    const removed = await http(emulator.url, 'DELETE', `/md/phones/${PHONE}/devices/1`);
    expect(removed.status).toBe(200);
    const state = await s.session.waitFor((st) => st.resting, 10_000);
    expect(state).toMatchObject({ name: 'loggedOut', reason: 'deviceRemoved' });
    await s.session.stop();
    expect((await s.store.load())?.credentials.me ?? null).toBeNull();
  }, 30_000);

  it('a second copy of the device logs in: the first rests in conflict and does not fight back (§10)', async () => {
    await start();
    const first = await readySession();
    const copy = newStore();
    await copy.save((await first.store.load())!);
    const second = await mdSession(copy);
    await second.session.waitFor(isReady, 10_000);
    const state = await first.session.waitFor((st) => st.resting, 10_000);
    expect(state).toMatchObject({ name: 'conflict', reason: 'replaced' });
    expect(second.session.state.tags).toContain('ready');
  }, 30_000);

  it('a socket dropped before pair-device and again after <success>: reconnects each time, then ready', async () => {
    await start();
    await http(emulator.url, 'POST', '/md/faults', { kind: 'closeSocket', at: 'pair-device' });
    const s = await mdSession();
    const qr = await s.next('qr', 10_000);
    expect(s.events.some((event) => event.type === 'reconnecting')).toBe(true);
    await http(emulator.url, 'POST', '/md/faults', { kind: 'closeSocket', at: 'success' });
    await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qr.text });
    await s.session.waitFor(isReady, 15_000);
    const names = stateNames(s.events);
    expect(names.filter((name) => name === 'reconnecting')).toHaveLength(2);
    expect(names.filter((name) => name === 'online.loggingIn').length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('<failure reason=405> at registration rests in failed(clientOutdated) (§8.3)', async () => {
    await start();
    await http(emulator.url, 'POST', '/md/faults', { kind: 'failure', reason: 405 });
    const s = await mdSession();
    const state = await s.session.waitFor((st) => st.resting, 10_000);
    expect(state).toMatchObject({ name: 'failed', reason: 'clientOutdated' });
  });

  it('a wrong certificate root rests in failed(handshakeFailed) without pairing anything (§2.4)', async () => {
    await start();
    const session = await createSession({
      protocol: 'md',
      url: emulator.mdWsUrl,
      rootPublicKey: new Uint8Array(32).fill(7),
    });
    sessions.push(session);
    session.start();
    const state = await session.waitFor((st) => st.resting, 10_000);
    expect(state.reason).toBe('handshakeFailed');
  });
});
