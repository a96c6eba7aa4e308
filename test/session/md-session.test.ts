// createSession({ protocol: 'md' }) end to end against the embedded MD emulator (docs/protocol-md.md):
// QR pairing (the emulator's phone scans through /md/), code pairing, 515 and login to ready, restore by
// login from the stored credentials, a text from a contact, logout. Messages decrypt with the session's
// own (md-store's decryptMdMessage over the device's Signal store).
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSession,
  MemoryCredentialStore,
  type Session,
  type SessionAppEvent,
  type SessionState,
} from '../../actors/index.ts';
import {
  MD_CREDENTIAL_CODEC,
  type MdCredentialRecord,
  type MdDecryptorFactory,
} from '../../actors/md/index.ts';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { http } from '../support/md-raw-client.ts';

const PHONE = '15551234567';
const CONTACT = '4917000000001@s.whatsapp.net';

let emulator: Emulator;
const sessions: Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.stop();
  await emulator?.close();
});

async function start() {
  emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    md: { firstFrameDelayMs: 1, streamErrorCloseMs: 5 },
  });
}

function newStore() {
  return new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
}

async function mdSession(store = newStore()) {
  const session = await createSession({
    protocol: 'md',
    url: emulator.mdWsUrl,
    rootPublicKey: emulator.md.rootPublicKey,
    store,
  });
  sessions.push(session);
  const events: SessionAppEvent[] = [];
  const waiters = new Set<() => void>();
  session.events$.subscribe((event) => {
    events.push(event);
    for (const wake of [...waiters]) wake();
  });
  const next = <T extends SessionAppEvent['type']>(
    type: T,
    timeoutMs = 8000,
    matches: (event: Extract<SessionAppEvent, { type: T }>) => boolean = () => true,
  ) =>
    new Promise<Extract<SessionAppEvent, { type: T }>>((resolve, reject) => {
      const check = () => {
        const found = events.find(
          (event) => event.type === type && matches(event as Extract<SessionAppEvent, { type: T }>),
        );
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found as Extract<SessionAppEvent, { type: T }>);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${type}; saw ${events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
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

    const second = await mdSession(first.store);
    await second.session.waitFor(isReady, 10_000);
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
