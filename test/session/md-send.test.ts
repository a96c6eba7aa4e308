// Session.send(jid, text) on an MD session against the emulator (docs/protocol-md.md §12.7): the companion
// asks usync for the devices, fetches a pre-key bundle for each device without a session, encrypts one
// `<enc>` per device and sends the `<message><participants>`; the emulator's contact decrypts exactly
// that text, its phone gets the deviceSentMessage copy, the server acks (md.sent) and the contact's
// receipt comes back (md.receipt). What cannot be sent is a typed md.send.failed, never a throw.
import { afterEach, describe, expect, it } from 'vitest';
import { createSession, type Session, type SessionState } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { http } from '../support/md-raw-client.ts';
import { newMdStore, recordEvents, startMdEmulator } from '../support/md-session-events.ts';

const PHONE = '15551234567';
const CONTACT = '4917000000001@s.whatsapp.net';

let emulator: Emulator;
const sessions: Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.stop();
  await emulator?.close();
});

type Sent = {
  id: string;
  to: string;
  text: string | null;
  encType: string;
  readBy: string;
  deviceSent?: boolean;
};

async function readySession(fresh = true) {
  if (fresh) emulator = await startMdEmulator();
  const store = newMdStore();
  const session = await createSession({
    protocol: 'md',
    url: emulator.mdWsUrl,
    rootPublicKey: emulator.md.rootPublicKey,
    store,
  });
  sessions.push(session);
  const { events, next } = recordEvents(session);
  session.start();
  const qr = await next('qr');
  await http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr: qr.text });
  await session.waitFor((state: SessionState) => state.tags.includes('ready'), 10_000);
  const sent = async () =>
    ((await http(emulator.url, 'GET', `/md/phones/${PHONE}/messages`)).json.sent as Sent[]) ?? [];
  return { session, events, next, store, sent };
}

describe('sending texts from an MD session', () => {
  it('sends to a contact: pkmsg, the contact reads exactly the text, ack and receipt; msg once the contact answered', async () => {
    const { session, next, store, sent } = await readySession();
    expect((await http(emulator.url, 'POST', '/md/contacts', { jid: CONTACT, name: 'Alice' })).status).toBe(
      200,
    );
    // The phone's bootstrap (§13) is in and stored before the saves of the send are counted.
    await next('md.message', (e) => e.message.content.kind === 'appStateKeys');
    for (let i = 0; i < 10_000 && !(await store.load())?.appStateKeys.length; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const save = store.save.bind(store);
    let saves = 0;
    store.save = (record) => {
      saves += 1;
      return save(record);
    };

    const first = session.send(CONTACT, 'hello from walink');
    expect(await next('md.sent', (e) => e.id === first)).toMatchObject({ id: first, to: CONTACT });
    // One save for the whole send: the contact's new session and the phone's advanced one (md-store).
    expect(saves).toBe(1);
    const receipt = await next('md.receipt', (e) => e.id === first);
    expect(receipt.from).toBe(CONTACT);
    const afterFirst = await sent();
    const toContact = afterFirst.filter((s) => s.id === first && s.readBy === CONTACT);
    expect(toContact).toEqual([
      expect.objectContaining({ to: CONTACT, text: 'hello from walink', encType: 'pkmsg' }),
    ]);
    // The account's own phone got the same text as a deviceSentMessage for the contact's chat.
    expect(afterFirst.filter((s) => s.id === first && s.readBy === `${PHONE}@s.whatsapp.net`)).toEqual([
      // The phone started its session with the companion at linking (§13), so it is msg at once.
      expect.objectContaining({ to: CONTACT, text: 'hello from walink', deviceSent: true, encType: 'msg' }),
    ]);
    // The session with the contact is stored (md-store).
    const record = await store.load();
    expect(Object.keys(record!.signal.sessions)).toEqual(expect.arrayContaining(['4917000000001.0']));

    // libsignal keeps sending pkmsg until the contact answers (§12.2): the contact answers, then msg.
    await http(emulator.url, 'POST', `/md/phones/${PHONE}/messages`, { from: CONTACT, text: 'got it' });
    await next('md.message', (e) => e.message.content.kind === 'text');
    const second = session.send(CONTACT, 'second one');
    await next('md.sent', (e) => e.id === second);
    await next('md.receipt', (e) => e.id === second);
    const again = (await sent()).filter((s) => s.id === second && s.readBy === CONTACT);
    expect(again).toEqual([expect.objectContaining({ text: 'second one', encType: 'msg' })]);
  });

  it('a user the server lists no devices for, and a JID that is no user, are typed send.failed events', async () => {
    const { session, next, sent } = await readySession();
    const unknown = session.send('4917000000999@s.whatsapp.net', 'anyone?');
    expect(await next('md.send.failed', (e) => e.id === unknown)).toMatchObject({
      id: unknown,
      reason: 'noDevices',
    });
    const bad = session.send('not-a-jid', 'x');
    expect(await next('md.send.failed', (e) => e.id === bad)).toMatchObject({ reason: 'badJid' });
    expect(await sent()).toEqual([]);
    // The session is still ready and sends afterwards.
    expect(session.state.tags).toContain('ready');
  });

  it('asks props, blocklist and privacy once logged in (§9), answered by the emulator', async () => {
    await readySession();
    let stats: Record<string, unknown> = {};
    // Bounded: the three IQs go out on entering ready, their answers come within a few round trips.
    for (let i = 0; i < 2000; i++) {
      stats = (await http(emulator.url, 'GET', '/md/stats')).json;
      const iqs = stats.iqs as Record<string, number>;
      if (iqs['privacy get privacy']) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stats.iqs).toMatchObject({ 'w get props': 1, 'blocklist get -': 1, 'privacy get privacy': 1 });
    expect(stats.unhandledIqs).toEqual({});
  });

  it("copies a text to the account's other companion as a deviceSentMessage it decrypts", async () => {
    const first = await readySession();
    const second = await readySession(false);
    await http(emulator.url, 'POST', '/md/contacts', { jid: CONTACT });
    const id = first.session.send(CONTACT, 'seen on both');
    await first.next('md.sent', (e) => e.id === id);
    // The second companion was fetched a bundle for (its own uploaded pre-keys) and got the relayed pkmsg.
    const copy = await second.next('md.message', (e) => e.message.id === id);
    expect(copy.message.from).toBe(`${PHONE}:1@s.whatsapp.net`);
    expect(copy.message.content).toMatchObject({ text: 'seen on both' });
  });
});
