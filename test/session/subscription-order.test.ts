// The README's library example, run in both orders: subscribing before start(), and starting first and
// subscribing only once the QR code is up. Either way the subscribers see the state the session is in,
// the code to scan, and everything after it, so the example pairs, sends and logs out.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createSession,
  type Emulator,
  MemoryCredentialStore,
  type Session,
  type SessionAppEvent,
} from '../../index.ts';
import { emulator, PHONE, until } from '../support/session-harness.ts';

let emu: Emulator;
beforeEach(async () => {
  emu = await emulator();
});
afterEach(async () => {
  await emu.close();
});

/** The README example's two subscriptions: it logs state names and scans each QR code it is told. */
function subscribe(session: Session) {
  const names: string[] = [];
  const events: SessionAppEvent[] = [];
  session.state$.subscribe((state) => names.push(state.name));
  session.events$.subscribe((event) => {
    events.push(event);
    if (event.type === 'qr')
      void fetch(`${emu.url}/phones/${PHONE}/scan`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ qr: event.text }),
      });
  });
  return { names, events };
}

/** The rest of the README example: wait for ready, send, log out. */
async function useIt(session: Session, events: SessionAppEvent[]) {
  const ready = await session.waitFor((state) => state.tags.includes('ready'), 10_000);
  expect(ready.me).toBe(`${PHONE}@c.us`);
  const id = session.send('491700000001@c.us', 'hello');
  await until(() => events.some((e) => e.type === 'message.ack' && e.id === id));
  session.logout();
  const end = await session.waitFor((state) => state.resting, 10_000);
  expect(end).toMatchObject({ name: 'loggedOut', resting: true, reason: 'loggedOut', me: null });
  await session.stop();
}

describe("the README's library example", () => {
  it('works when it subscribes before start()', async () => {
    const session = await createSession({ url: emu.wsUrl, store: new MemoryCredentialStore() });
    const seen = subscribe(session);
    session.start();
    await useIt(session, seen.events);
    expect(seen.names).toEqual([
      'starting',
      'online.connecting',
      'online.initializing',
      'online.qr.showing',
      'online.ready',
      'online.loggingOut',
      'loggedOut',
    ]);
    expect(seen.events.filter((e) => e.type === 'qr')).toHaveLength(1);
  });

  it('works when it starts first and subscribes once the QR code is up', async () => {
    const session = await createSession({ url: emu.wsUrl, store: new MemoryCredentialStore() });
    session.start();
    const showing = await session.waitFor((state) => state.qr !== null, 10_000);
    expect(showing.tags).toEqual(['online', 'needsScan']);
    const seen = subscribe(session);
    await useIt(session, seen.events);
    // The current state first, then every change; the code that was up, replayed, then the rest.
    expect(seen.names).toEqual(['online.qr.showing', 'online.ready', 'online.loggingOut', 'loggedOut']);
    expect(seen.events[0]).toMatchObject({ type: 'qr', ref: showing.qr!.ref, text: showing.qr!.text });
    expect(seen.events.filter((e) => e.type === 'qr')).toHaveLength(1);
    expect(seen.events.map((e) => e.type)).toContain('paired');
  });

  it('replays nothing but the state to a subscriber that comes after the code is gone', async () => {
    const session = await createSession({ url: emu.wsUrl, store: new MemoryCredentialStore() });
    const first = subscribe(session);
    session.start();
    await session.waitFor((state) => state.tags.includes('ready'), 10_000);
    const late = subscribe(session);
    expect(late.names).toEqual(['online.ready']);
    expect(late.events).toEqual([]);
    await useIt(session, first.events);
  });
});
