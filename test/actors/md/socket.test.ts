// The MD socket actor (actors/md/socket.ts) against the embedded emulator, played by a stand-in machine
// that records every event and forwards the commands a test gives: QR pairing to 515, login to passive
// active, a text from a contact, logout; the pair code's three stages; the typed refusals.
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, sendTo, setup } from 'xstate';
import {
  createMdSocketActor,
  finishPairCode,
  generateMdCredentials,
  type MdSocketOptions,
  preparePairCode,
  verifyPairSuccess,
} from '../../../actors/md/index.ts';
import { md } from '../../../codec/index.ts';
import { MemorySignalKeyStore } from '../../../crypto/md/index.ts';
import { type Emulator, startEmulator } from '../../../emulator/index.ts';
import type { MdCredentials, MdSocketCommand, MdSocketReport } from '../../../machines/index.ts';
import { startFakeMdServer } from '../../support/md-fake-server.ts';
import { http } from '../../support/md-raw-client.ts';
import { TestDecryptor } from '../../support/md-test-decryptor.ts';

const PHONE = '15551234567';
const CONTACT = '4917000000001@s.whatsapp.net';

let emulator: Emulator;
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await emulator?.close();
});

type Report = MdSocketReport;

/** A stand-in for the MD machine: invokes the socket, records what it reports, forwards commands. */
function socketHarness(
  mode: 'register' | 'login',
  credentials: MdCredentials,
  options: Partial<MdSocketOptions> = {},
) {
  const seen: Report[] = [];
  const waiters = new Set<() => void>();
  const machine = setup({
    types: {} as { context: { n: number }; events: Report | { type: 'cmd'; cmd: MdSocketCommand } },
    actors: {
      socket: createMdSocketActor({
        url: emulator.mdWsUrl,
        rootPublicKey: emulator.md.rootPublicKey,
        ...options,
      }),
    },
  }).createMachine({
    context: { n: 0 },
    invoke: { id: 'socket', src: 'socket', input: { mode, credentials } },
    on: {
      cmd: { actions: sendTo('socket', ({ event }) => (event as { cmd: MdSocketCommand }).cmd) },
      '*': {
        actions: [
          ({ event }) => {
            seen.push(event as Report);
            for (const wake of [...waiters]) wake();
          },
          assign({ n: ({ context }) => context.n + 1 }),
        ],
      },
    },
  });
  const actor = createActor(machine);
  actor.start();
  stops.push(() => actor.stop());
  let cursor = 0;
  return {
    seen,
    command: (cmd: MdSocketCommand) => actor.send({ type: 'cmd', cmd }),
    /** The next event of `type` after the last one taken (bounded). */
    next<T extends Report['type']>(type: T, timeoutMs = 5000): Promise<Extract<Report, { type: T }>> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const index = seen.findIndex((event, i) => i >= cursor && event.type === type);
          if (index < 0) return false;
          cursor = index + 1;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(seen[index] as Extract<Report, { type: T }>);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${type}; saw ${seen.map((e) => e.type).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

async function start() {
  emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    md: { firstFrameDelayMs: 1, streamErrorCloseMs: 5 },
  });
}

/** Verified pair-success → pair-device-sign → 515 → closed; returns the paired credentials. */
async function completePairing(
  socket: ReturnType<typeof socketHarness>,
  credentials: MdCredentials,
): Promise<MdCredentials> {
  const success = await socket.next('server.pairSuccess');
  const verdict = verifyPairSuccess(success, credentials);
  expect(verdict.ok).toBe(true);
  if (!verdict.ok) throw new Error('unverified');
  socket.command({
    type: 'send.pairDeviceSign',
    iqId: success.iqId,
    deviceIdentity: verdict.deviceIdentity,
    keyIndex: verdict.keyIndex,
  });
  expect((await socket.next('server.streamError')).code).toBe(515);
  await socket.next('socket.closed');
  return { ...credentials, me: verdict.me, account: verdict.account };
}

describe('the MD socket actor against the emulator', () => {
  it('pairs by QR, logs in, activates, receives a text and logs out', async () => {
    await start();
    const credentials = generateMdCredentials();
    const register = socketHarness('register', credentials);
    await register.next('socket.opened');
    await register.next('socket.secured');
    const pairDevice = await register.next('server.pairDevice');
    expect(pairDevice.refs).toHaveLength(6);
    register.command({ type: 'send.iqResult', iqId: pairDevice.iqId });
    const qr = md.buildMdQr({
      ref: pairDevice.refs[0]!,
      noisePublicKey: credentials.noiseKey.publicKey,
      identityPublicKey: credentials.identityKey.publicKey,
      advSecret: credentials.advSecret,
    });
    const scan = http(emulator.url, 'POST', `/md/phones/${PHONE}/scan`, { qr });
    const paired = await completePairing(register, credentials);
    expect((await scan).json).toEqual({ jid: `${PHONE}:1@s.whatsapp.net`, device: 1 });

    const decryptor = new TestDecryptor(paired);
    const login = socketHarness('login', paired, {
      decrypt: decryptor.decrypt,
      preKeysForUpload: decryptor.preKeysForUpload,
    });
    const success = await login.next('server.success');
    expect(success.lid).toMatch(/@lid$/);
    expect((await login.next('server.offline')).count).toBe(0);
    login.command({ type: 'send.preKeyCount' });
    expect((await login.next('server.preKeyCount')).count).toBe(0);
    login.command({ type: 'send.preKeyUpload', count: 30, firstId: 1 });
    await login.next('server.preKeysUploaded');
    login.command({ type: 'send.passiveActive' });
    await login.next('server.passiveActive');
    // §13: the phone's history-sync notification and app-state key share, from the account's device 0.
    const history = await login.next('server.message');
    expect(history).toMatchObject({ peer: true, content: { kind: 'historySync' } });
    const keys = await login.next('server.message');
    expect(keys.content.kind).toBe('appStateKeys');
    for (const message of [history, keys]) {
      login.command({ type: 'send.receipt', id: message.id, to: message.from, receiptType: 'peer_msg' });
      login.command({
        type: 'send.ack',
        id: message.id,
        to: message.from,
        class: 'message',
        ackType: 'protocol',
      });
    }
    const sent = await http(emulator.url, 'POST', `/md/phones/${PHONE}/messages`, {
      from: CONTACT,
      text: 'hallo',
    });
    const text = await login.next('server.message');
    expect(text).toMatchObject({
      id: sent.json.id,
      from: CONTACT,
      messageType: 'text',
      content: { kind: 'text', text: 'hallo' },
    });
    login.command({ type: 'send.receipt', id: text.id, to: text.from, receiptType: 'inactive' });
    login.command({ type: 'send.ack', id: text.id, to: text.from, class: 'message', ackType: 'text' });
    login.command({ type: 'send.ping' });
    await login.next('server.pong');
    login.command({ type: 'send.logout' });
    await login.next('server.logoutAccepted');
    await login.next('socket.closed');
    const phone = await http(emulator.url, 'GET', `/md/phones/${PHONE}`);
    expect(phone.json.devices).toEqual([]);
    expect((phone.json.receipts as { id: string }[]).map((r) => r.id)).toContain(text.id);
  });

  it('pairs by code: companion_hello answered, primary_hello, companion_finish, pair-success with the new adv secret', async () => {
    await start();
    const credentials = generateMdCredentials();
    const register = socketHarness('register', credentials);
    const pairDevice = await register.next('server.pairDevice');
    register.command({ type: 'send.iqResult', iqId: pairDevice.iqId });
    const prepared = await preparePairCode({ phone: PHONE });
    const typed = http(emulator.url, 'POST', `/md/phones/${PHONE}/link-code`, { code: prepared.display });
    register.command({
      type: 'send.companionHello',
      phone: prepared.phone,
      wrappedEphemeral: prepared.wrappedEphemeral,
      showPushNotification: true,
    });
    const accepted = await register.next('server.codeAccepted');
    const hello = await register.next('server.primaryHello', 10_000);
    expect(hello.ref).toBe(accepted.ref);
    register.command({
      type: 'send.ack',
      id: hello.id,
      to: hello.from,
      class: 'notification',
      ackType: 'link_code_companion_reg',
    });
    const finished = await finishPairCode({ primaryHello: hello, prepared }, credentials);
    register.command({
      type: 'send.companionFinish',
      phone: prepared.phone,
      ref: finished.ref,
      wrappedKeyBundle: finished.wrappedKeyBundle,
      identityPublic: finished.identityPublic,
    });
    await completePairing(register, { ...credentials, advSecret: finished.advSecret });
    expect((await typed).status).toBe(200);
  }, 20_000);

  it('types a refused companion_hello, a <failure>, and a wrong root', async () => {
    await start();
    await http(emulator.url, 'POST', '/md/faults', { kind: 'companionHello', status: 429 });
    const credentials = generateMdCredentials();
    const register = socketHarness('register', credentials);
    await register.next('server.pairDevice');
    register.command({
      type: 'send.companionHello',
      phone: PHONE,
      wrappedEphemeral: new Uint8Array(80),
      showPushNotification: true,
    });
    expect(await register.next('server.codeRejected')).toMatchObject({ status: 429, text: 'rate-overlimit' });

    await http(emulator.url, 'POST', '/md/faults', { kind: 'failure', reason: 405 });
    const refused = socketHarness('register', generateMdCredentials());
    expect((await refused.next('server.failure')).reason).toBe(405);

    const wrongRoot = socketHarness('register', generateMdCredentials(), {
      rootPublicKey: new Uint8Array(32).fill(1),
    });
    expect((await wrongRoot.next('socket.handshakeFailed')).reason).toMatch(/^CERTIFICATE/);
    const closed = socketHarness('register', generateMdCredentials(), {
      url: `${emulator.url.replace('http', 'ws')}/nowhere`,
    });
    expect((await closed.next('socket.closed')).reason).toMatch(/^HTTP/);
  });

  it('reports a malformed stanza as a typed server.frameDropped and reads the next one', async () => {
    await start();
    const fake = await startFakeMdServer({
      onConnection: (connection) => {
        connection.sendNode(
          md.mdNode('iq', { id: 'x', type: 'set', xmlns: 'md' }, [md.mdNode('pair-device')]),
        );
        connection.sendNode(md.mdNode('failure', {}));
        connection.sendNode(md.mdNode('iq', { id: 'srv', type: 'get', xmlns: 'urn:xmpp:ping' }));
        connection.sendNode(md.mdNode('success', { t: '1', lid: '1:1@lid' }));
      },
    });
    stops.push(() => void fake.close());
    const socket = socketHarness('register', generateMdCredentials(), {
      url: fake.url,
      rootPublicKey: fake.root.publicKey,
    });
    expect(await socket.next('server.frameDropped')).toMatchObject({ code: 'STANZA_MALFORMED' });
    expect(await socket.next('server.frameDropped')).toMatchObject({ code: 'STANZA_MALFORMED' });
    expect((await socket.next('server.success')).lid).toBe('1:1@lid');
    // The server's own IQ was answered with an empty result (§9).
    for (let i = 0; i < 200 && fake.connections[0]!.nodes.length === 0; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(fake.connections[0]!.nodes).toContainEqual(
      md.mdNode('iq', { id: 'srv', to: 's.whatsapp.net', type: 'result' }),
    );
  });

  it('reports an unreadable frame as server.frameDropped and carries on', async () => {
    await start();
    const credentials = generateMdCredentials();
    const register = socketHarness('register', credentials);
    await register.next('socket.secured');
    await http(emulator.url, 'POST', '/md/faults', { kind: 'corruptFrame' });
    // The corrupted frame is pair-device itself or the ping's answer; either way it is dropped, typed.
    register.command({ type: 'send.ping' });
    expect((await register.next('server.frameDropped')).code).toBe('FRAME_UNDECRYPTABLE');
  });

  it('a send whose usync goes unanswered is socket.sendFailed timeout; a server ack with an error is reported', async () => {
    await start();
    // It answers nothing: usync goes unanswered.
    const fake = await startFakeMdServer();
    stops.push(() => void fake.close());
    const credentials: MdCredentials = {
      ...generateMdCredentials(),
      me: { jid: '15551234567:1@s.whatsapp.net', lid: null },
    };
    const store = new MemorySignalKeyStore({
      registrationId: credentials.registrationId,
      identityKeyPair: credentials.identityKey,
    });
    const socket = socketHarness('login', credentials, {
      url: fake.url,
      rootPublicKey: fake.root.publicKey,
      signalStore: async () => store,
      iqTimeoutMs: 30,
    });
    await socket.next('socket.secured');
    socket.command({ type: 'send.text', jid: CONTACT, text: 'hello?', id: 'T1' });
    expect(await socket.next('socket.sendFailed')).toMatchObject({ id: 'T1', reason: 'timeout' });
    const asked = fake.connections[0]!.nodes.find((node) => node.attrs.xmlns === 'usync');
    expect(asked && md.findChild(asked, 'usync')?.attrs).toMatchObject({ context: 'message', mode: 'query' });
    // A message the server refuses comes back as an ack with an error attribute.
    fake.connections[0]!.sendNode(
      md.mdNode('ack', { class: 'message', id: 'T0', from: CONTACT, error: '479' }),
    );
    expect(await socket.next('server.messageAck')).toEqual({
      type: 'server.messageAck',
      id: 'T0',
      from: CONTACT,
      error: 479,
    });
  });

  it('a send in flight when the socket closes is socket.sendFailed notConnected, told before socket.closed', async () => {
    await start();
    const fake = await startFakeMdServer({
      onNode: (connection, node) => {
        if (node.attrs.xmlns === 'usync') connection.close(1000);
      },
    });
    stops.push(() => void fake.close());
    const credentials: MdCredentials = {
      ...generateMdCredentials(),
      me: { jid: '15551234567:1@s.whatsapp.net', lid: null },
    };
    const store = new MemorySignalKeyStore({
      registrationId: credentials.registrationId,
      identityKeyPair: credentials.identityKey,
    });
    const socket = socketHarness('login', credentials, {
      url: fake.url,
      rootPublicKey: fake.root.publicKey,
      signalStore: async () => store,
    });
    await socket.next('socket.secured');
    socket.command({ type: 'send.text', jid: CONTACT, text: 'hello?', id: 'T2' });
    await socket.next('socket.closed');
    const failed = socket.seen.findIndex((e) => e.type === 'socket.sendFailed');
    expect(socket.seen[failed]).toMatchObject({ id: 'T2', reason: 'notConnected' });
    expect(failed).toBeLessThan(socket.seen.findIndex((e) => e.type === 'socket.closed'));
  });
});
