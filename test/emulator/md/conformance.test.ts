// The MD emulator against docs/protocol-md.md, driven by a raw client (test/support/md-raw-client.ts) that
// is not walink's companion: handshake and certificate chain, registration, QR and pair-code pairing, 515,
// login, every IQ, Signal messages (text and image), offline delivery, unlink, logout; both dictionaries.
import { afterEach, describe, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import { decryptMedia, fromHex, randomBytes } from '../../../crypto/index.ts';
import {
  djbPublicKey,
  padMessage,
  signalEncrypt,
  signalStartSession,
  wrapPairingEphemeral,
  xeddsaVerify,
} from '../../../crypto/md/index.ts';
import { MdRawClient, newClientKeys, ORIGIN, registrationPayload } from '../../support/md-raw-client.ts';
import {
  activate,
  activeDevice,
  CONTACT,
  type Harness,
  harness,
  isPairSuccess,
  linkByQr,
  login,
  PHONE,
  sendText,
} from './helpers.ts';

let h: Harness;
afterEach(async () => h?.close());

async function setup(options: Parameters<typeof harness>[0] = {}): Promise<Harness> {
  h = await harness(options);
  return h;
}

describe.each([2, 3] as const)('dictionary v%i', (dictVersion) => {
  it('handshakes under a chain rooted at GET /md/root-key, pairs by QR, restarts, logs in and receives a text', async () => {
    await setup();
    const root = await h.get('/md/root-key');
    expect(root.status).toBe(200);
    expect(root.json.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(root.json.publicKey).toBe(h.emulator.md.rootPublicKeyHex);

    const client = await h.connect({ dictVersion });
    // Every check whatsmeow makes (§2.4): both XEdDSA signatures, issuer serials, leaf key = server static.
    const chain = await client.register(fromHex(root.json.publicKey as string));
    expect(chain.intermediate.issuerSerial ?? 0).toBe(0);
    expect(chain.leaf.issuerSerial).toBe(chain.intermediate.serial);

    const pairDevice = await client.nextTag('iq');
    expect(pairDevice.attrs).toMatchObject({ from: 's.whatsapp.net', type: 'set', xmlns: 'md' });
    const refs = md.childNodes(md.requireChild(pairDevice, 'pair-device'));
    expect(refs).toHaveLength(6);
    for (const ref of refs)
      expect(Buffer.from(md.contentBytes(ref)).toString()).toMatch(/^2@[A-Za-z0-9+/=]+$/);
    const qrs = client.acceptPairDevice(pairDevice);
    const scan = h.post(`/md/phones/${PHONE}/scan`, { qr: qrs[0] });

    const pairSuccess = await client.next(isPairSuccess);
    const success = md.requireChild(pairSuccess, 'pair-success');
    expect(md.requireChild(success, 'platform').attrs.name).toBe('android');
    expect(md.requireChild(success, 'device').attrs.jid).toBe(`${PHONE}:1@s.whatsapp.net`);
    expect(md.requireChild(success, 'device').attrs.lid).toMatch(/^1\d{14}:1@lid$/);
    // A real ADV identity: the raw client checks the HMAC and the account signature before countersigning.
    const verified = client.answerPairSuccess(pairSuccess);
    expect(verified.keyIndex).toBe(1);
    expect((await client.nextTag('stream:error')).attrs.code).toBe('515');
    expect(await scan).toEqual({ status: 200, json: { jid: `${PHONE}:1@s.whatsapp.net`, device: 1 } });
    await client.waitClosed();

    const session = await login(h, client.keys, 1, { dictVersion });
    expect(session.success.attrs.lid).toBe(md.requireChild(success, 'device').attrs.lid);
    expect(Number(session.success.attrs.t)).toBeGreaterThan(1_600_000_000);
    expect(session.count).toBe(0);
    const bootstrap = await activate(session.client);
    expect(bootstrap[0]!.protocolMessage?.historySyncNotification?.syncType).toBe(
      md.HISTORY_SYNC_TYPE.NON_BLOCKING_DATA,
    );

    const sent = await sendText(h, `hello over v${dictVersion}`);
    expect(sent.devices).toEqual([`${PHONE}:1@s.whatsapp.net`]);
    const stanza = await session.client.nextTag('message');
    expect(stanza.attrs).toMatchObject({ from: CONTACT, id: sent.id, type: 'text' });
    const { message, encType } = await session.client.decrypt(stanza);
    expect(message.conversation).toBe(`hello over v${dictVersion}`);
    expect(encType).toBe('pkmsg');
  });
});

describe('transport', () => {
  it('closes a connection whose header names another dictionary, and keeps serving others', async () => {
    await setup();
    const bad = await h.connect({ dictVersion: 4 });
    bad.sendRaw(Uint8Array.of(0x57, 0x41, 0x06, 0x04, 0x00, 0x00, 0x02, 0x12, 0x00));
    await bad.waitClosed();
    expect(h.emulator.md.stats.refusals.BAD_DICTIONARY).toBe(1);
    const good = await h.connect();
    await good.register(h.emulator.md.rootPublicKey);
    expect(md.findChild(await good.nextTag('iq'), 'pair-device')).toBeDefined();
  });

  it('skips an edge-routing pre-intro, and reads frames split across WebSocket messages', async () => {
    await setup();
    const client = await h.connect({ routingInfo: randomBytes(40) });
    const send = client.sendRaw.bind(client);
    // Every message of the handshake arrives in three pieces.
    client.sendRaw = (bytes) => {
      const third = Math.ceil(bytes.length / 3);
      for (let i = 0; i < bytes.length; i += third) send(bytes.subarray(i, i + third));
    };
    await client.register(h.emulator.md.rootPublicKey);
    expect(md.findChild(await client.nextTag('iq'), 'pair-device')).toBeDefined();
  });

  it('refuses a WebSocket without the allowed Origin', async () => {
    await setup();
    await expect(MdRawClient.connect(h.emulator.mdWsUrl, { origin: 'https://evil.example' })).rejects.toThrow(
      /403/,
    );
    await expect(MdRawClient.connect(h.emulator.mdWsUrl, { origin: ORIGIN })).resolves.toBeInstanceOf(
      MdRawClient,
    );
  });

  it('waits the default 100 ms before its first encrypted frame', async () => {
    h = await harness({ md: { firstFrameDelayMs: 100 } });
    expect(h.emulator.md.context.options.firstFrameDelayMs).toBe(100);
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    const finishedAt = performance.now();
    await client.nextTag('iq');
    expect(performance.now() - finishedAt).toBeGreaterThanOrEqual(95);
  });

  it('answers a registration whose signed pre-key signature does not verify with <failure reason=400>', async () => {
    await setup();
    const client = await h.connect();
    await client.handshake(
      registrationPayload(client.keys, { signature: true }),
      h.emulator.md.rootPublicKey,
    );
    expect((await client.nextTag('failure')).attrs.reason).toBe('400');
    await client.waitClosed();
  });
});

describe('QR pairing', () => {
  it.each([
    ['4 fields, no prefix (Baileys 6.17.16)', { fields: 4 as const, prefix: false }],
    ['5 fields with the deep-link prefix', { fields: 5 as const, prefix: true }],
    ['5 fields without the prefix', { fields: 5 as const, prefix: false }],
  ])('accepts %s', async (_name, form) => {
    await setup();
    const linked = await linkByQr(h, { form });
    expect(linked.device).toBe(1);
  });

  it('accepts a trailing FAQ field, and increments device number and key index per linked device', async () => {
    await setup();
    const first = await linkByQr(h);
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'), { fields: 5, prefix: true });
    const scan = h.post(`/md/phones/${PHONE}/scan`, { qr: `${qr},https://faq.whatsapp.com/r/ld` });
    const verified = client.answerPairSuccess(await client.next(isPairSuccess));
    expect((await scan).json).toEqual({ jid: `${PHONE}:2@s.whatsapp.net`, device: 2 });
    expect([first.keyIndex, verified.keyIndex]).toEqual([1, 2]);
    const phone = await h.get(`/md/phones/${PHONE}`);
    expect(
      (phone.json.devices as { device: number; keyIndex: number }[]).map((d) => [d.device, d.keyIndex]),
    ).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('refuses a malformed QR (400), an unknown ref (404), an expired ref (410), and keys of another connection (400)', async () => {
    await setup();
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    const pairDevice = await client.nextTag('iq');
    const [qr1, , qr3] = client.acceptPairDevice(pairDevice);
    expect((await h.post(`/md/phones/${PHONE}/scan`, { qr: 'not,a,qr' })).status).toBe(400);
    expect(
      (await h.post(`/md/phones/${PHONE}/scan`, { qr: `2@unknown${qr1!.slice(qr1!.indexOf(','))}` })).status,
    ).toBe(404);
    const other = newClientKeys();
    const foreignNoise = qr1!.split(',');
    foreignNoise[1] = Buffer.from(other.noise.publicKey).toString('base64');
    expect((await h.post(`/md/phones/${PHONE}/scan`, { qr: foreignNoise.join(',') })).json.error).toMatch(
      /noise key/,
    );
    const foreignIdentity = qr1!.split(',');
    foreignIdentity[2] = Buffer.from(other.identity.publicKey).toString('base64');
    expect((await h.post(`/md/phones/${PHONE}/scan`, { qr: foreignIdentity.join(',') })).json.error).toMatch(
      /identity/,
    );
    // The first ref lives 60 s, the third 60 + 2×20 s (§6.3).
    h.clock.offset = 61_000;
    expect((await h.post(`/md/phones/${PHONE}/scan`, { qr: qr1 })).status).toBe(410);
    const scan = h.post(`/md/phones/${PHONE}/scan`, { qr: qr3 });
    client.answerPairSuccess(await client.next(isPairSuccess));
    expect((await scan).status).toBe(200);
  });

  it('stores nothing when pair-device-sign does not verify: stream error 401 and 422', async () => {
    await setup();
    for (const tamper of [{ signature: true }, { keyIndex: 7 }]) {
      const client = await h.connect();
      await client.register(h.emulator.md.rootPublicKey);
      const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
      const scan = h.post(`/md/phones/${PHONE}/scan`, { qr });
      client.answerPairSuccess(await client.next(isPairSuccess), tamper);
      expect((await client.nextTag('stream:error')).attrs.code).toBe('401');
      const answer = await scan;
      expect(answer.status).toBe(422);
      expect(answer.json.error).toMatch(tamper.signature ? /device signature/ : /key-index/);
    }
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toEqual([]);
  });

  it('answers 422 when the companion refuses pair-success with an error IQ, or closes its socket', async () => {
    await setup();
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
    const scan = h.post(`/md/phones/${PHONE}/scan`, { qr });
    const pairSuccess = await client.next(isPairSuccess);
    client.send(
      md.mdNode('iq', { to: 's.whatsapp.net', type: 'error', id: pairSuccess.attrs.id! }, [
        md.mdNode('error', { code: '401', text: 'hmac-mismatch' }),
      ]),
    );
    expect(await scan).toEqual({
      status: 422,
      json: { error: 'the companion refused pair-success: 401 hmac-mismatch' },
    });

    const closing = await h.connect();
    await closing.register(h.emulator.md.rootPublicKey);
    const [qr2] = closing.acceptPairDevice(await closing.nextTag('iq'));
    const scan2 = h.post(`/md/phones/${PHONE}/scan`, { qr: qr2 });
    await closing.next(isPairSuccess);
    closing.close();
    expect((await scan2).status).toBe(422);
  });

  it('links at most 4 companions per phone', async () => {
    await setup();
    for (let i = 0; i < 4; i++) await linkByQr(h);
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    const [qr] = client.acceptPairDevice(await client.nextTag('iq'));
    const answer = await h.post(`/md/phones/${PHONE}/scan`, { qr });
    expect(answer.status).toBe(409);
  });
});

describe('pair code', () => {
  const CODE = 'ABCD1234';

  async function registered(): Promise<MdRawClient> {
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    client.acceptPairDevice(await client.nextTag('iq'));
    return client;
  }

  it('links with the right code: companion_hello ref, primary_hello, companion_finish, pair-success, 515', async () => {
    await setup();
    const client = await registered();
    // The phone's user types the code before the companion asked: the API waits for companion_hello.
    const linking = h.post(`/md/phones/${PHONE}/link-code`, { code: 'abcd-1234' });
    const hello = await client.companionHello(PHONE, CODE);
    expect(hello.attrs.type).toBe('result');
    const ref = md.contentBytes(
      md.requireChild(md.requireChild(hello, 'link_code_companion_reg'), 'link_code_pairing_ref'),
    );
    expect(Buffer.from(ref).toString()).toMatch(/^3@/);
    const notification = await client.nextTag('notification');
    expect(notification.attrs).toMatchObject({ type: 'link_code_companion_reg', from: 's.whatsapp.net' });
    const stage = md.requireChild(notification, 'link_code_companion_reg');
    expect(stage.attrs.stage).toBe('primary_hello');
    expect(md.contentBytes(md.requireChild(stage, 'link_code_pairing_ref'))).toEqual(ref);
    expect(
      md.contentBytes(md.requireChild(stage, 'link_code_pairing_wrapped_primary_ephemeral_pub')),
    ).toHaveLength(80);
    const finish = await client.companionFinish(PHONE, CODE, notification);
    expect(finish.attrs.type).toBe('result');
    // pair-success is MACed with the adv secret both sides derived (the raw client adopted it).
    client.answerPairSuccess(await client.next(isPairSuccess));
    expect((await client.nextTag('stream:error')).attrs.code).toBe('515');
    expect(await linking).toEqual({ status: 200, json: { jid: `${PHONE}:1@s.whatsapp.net`, device: 1 } });
    const phone = await h.get(`/md/phones/${PHONE}`);
    expect((phone.json.devices as { platform: { display: string } }[])[0]!.platform.display).toBe(
      'Chrome (Ubuntu)',
    );
  });

  it('answers a wrong code 400 bad-request at companion_finish, and the companion hears nothing more', async () => {
    await setup();
    const client = await registered();
    const hello = await client.companionHello(PHONE, CODE);
    expect(hello.attrs.type).toBe('result');
    const linking = h.post(`/md/phones/${PHONE}/link-code`, { code: 'ZZZZ9999' });
    const notification = await client.nextTag('notification');
    // The companion unwraps the primary's ephemeral with its own code: garbage, which it cannot tell.
    const finish = await client.companionFinish(PHONE, CODE, notification);
    expect(md.requireChild(finish, 'error').attrs).toEqual({ code: '400', text: 'bad-request' });
    const answer = await linking;
    expect(answer.status).toBe(422);
    expect(answer.json.error).toMatch(/wrong code/);
    // A ping answered proves the server went on; nothing else came before its answer.
    expect((await client.iq('w:p', 'get', [md.mdNode('ping')])).attrs.type).toBe('result');
    expect(client.log.filter((node) => isPairSuccess(node) || node.tag === 'notification')).toHaveLength(1);
  });

  it('validates companion_hello: accepts platform id "1" and nonce 00, refuses a bad display or auth key', async () => {
    await setup();
    const client = await registered();
    const accepted = await client.companionHello(PHONE, CODE, {
      platformId: '1',
      display: 'Firefox (Windows)',
      nonce: Uint8Array.of(0),
    });
    expect(accepted.attrs.type).toBe('result');
    for (const shape of [
      { display: 'Chrome (Acme)' },
      { display: 'Walink' },
      { platformId: '0' },
      { nonce: '7' },
    ]) {
      const refused = await client.companionHello(PHONE, CODE, shape);
      expect(md.requireChild(refused, 'error').attrs).toEqual({ code: '400', text: 'bad-request' });
    }
    const wrapped = await wrapPairingEphemeral(CODE, client.keys.pairingEphemeral.publicKey);
    const foreignKey = await client.iq('md', 'set', [
      md.mdNode('link_code_companion_reg', { jid: `${PHONE}@s.whatsapp.net`, stage: 'companion_hello' }, [
        md.mdNode('link_code_pairing_wrapped_companion_ephemeral_pub', {}, wrapped),
        md.mdNode('companion_server_auth_key_pub', {}, randomBytes(32)),
        md.mdNode('companion_platform_id', {}, '1'),
        md.mdNode('companion_platform_display', {}, 'Chrome (Linux)'),
        md.mdNode('link_code_pairing_nonce', {}, Uint8Array.of(0)),
      ]),
    ]);
    expect(md.requireChild(foreignKey, 'error').attrs.code).toBe('400');
    const badNumber = await client.companionHello('0123', CODE);
    expect(md.requireChild(badNumber, 'error').attrs.code).toBe('400');
  });

  it('answers link-code 408 when no companion asks for a code in time, 400 for a malformed code', async () => {
    await setup({ md: { linkCodeWaitMs: 30 } });
    expect((await h.post(`/md/phones/${PHONE}/link-code`, { code: 'ABCD123' })).status).toBe(400);
    expect((await h.post(`/md/phones/${PHONE}/link-code`, { code: 'ABCD1234' })).status).toBe(408);
  });
});

describe('login', () => {
  it('answers an unknown device, or a known one with another Noise key, with <failure reason=401>', async () => {
    await setup();
    const linked = await linkByQr(h);
    for (const keys of [linked.client.keys, { ...linked.client.keys, noise: newClientKeys().noise }]) {
      const client = await h.connect({ keys });
      await client.login(h.emulator.md.rootPublicKey, PHONE, keys === linked.client.keys ? 9 : linked.device);
      expect((await client.nextTag('failure')).attrs.reason).toBe('401');
      await client.waitClosed();
    }
  });

  it('tells the older socket of a device <conflict type=replaced> when it logs in again', async () => {
    await setup();
    const linked = await linkByQr(h);
    const first = await login(h, linked.client.keys, linked.device);
    await login(h, linked.client.keys, linked.device);
    const error = await first.client.nextTag('stream:error');
    expect(md.requireChild(error, 'conflict').attrs.type).toBe('replaced');
    await first.client.waitClosed();
  });
});

describe('the IQs after login (§9)', () => {
  it('answers count, upload, passive, props, blocklist, privacy, ping and app-state sync as deployed clients need', async () => {
    await setup();
    const linked = await linkByQr(h);
    const { client } = await login(h, linked.client.keys, linked.device);
    const count = async () =>
      Number(md.requireChild(await client.iq('encrypt', 'get', [md.mdNode('count')]), 'count').attrs.value);
    expect(await count()).toBe(0);
    expect((await client.uploadPreKeys()).attrs.type).toBe('result');
    expect(await count()).toBe(30);
    expect((await client.iq('passive', 'set', [md.mdNode('active')])).attrs.type).toBe('result');
    // The phone's two protocol messages took one one-time pre-key (one session).
    for (let i = 0; i < 2; i++) client.acknowledge(await client.nextTag('message'), 'peer_msg');
    expect(await count()).toBe(29);

    const props = md.requireChild(
      await client.iq('w', 'get', [md.mdNode('props', { protocol: '2', hash: '' })]),
      'props',
    );
    expect(props.attrs.hash).toMatch(/^[0-9a-f]{8}$/);
    expect(md.findChildren(props, 'prop').length).toBeGreaterThan(0);
    const blocklist = await client.iq('blocklist', 'get', []);
    expect(md.requireChild(blocklist, 'list').content).toBeUndefined();
    const privacy = md.requireChild(await client.iq('privacy', 'get', [md.mdNode('privacy')]), 'privacy');
    expect(md.findChildren(privacy, 'category').map((c) => c.attrs.name)).toContain('readreceipts');
    expect((await client.iq('w:p', 'get', [md.mdNode('ping')])).attrs.type).toBe('result');

    const names = ['critical_block', 'critical_unblock_low', 'regular', 'regular_high', 'regular_low'];
    const sync = await client.iq('w:sync:app:state', 'set', [
      md.mdNode(
        'sync',
        {},
        names.map((name, i) =>
          md.mdNode('collection', { name, version: String(i), return_snapshot: 'true' }),
        ),
      ),
    ]);
    const collections = md.findChildren(md.requireChild(sync, 'sync'), 'collection');
    expect(collections.map((c) => [c.attrs.name, c.attrs.version])).toEqual(
      names.map((name, i) => [name, String(i)]),
    );
  });

  it('answers an IQ it does not model with 501 feature-not-implemented, counted by name', async () => {
    await setup();
    const { client } = await activeDevice(h);
    const answer = await client.iq('w:profile:picture', 'get', [md.mdNode('picture', { type: 'preview' })]);
    expect(md.requireChild(answer, 'error').attrs).toEqual({ code: '501', text: 'feature-not-implemented' });
    expect(h.emulator.md.stats.unhandledIqs).toEqual({ 'w:profile:picture get picture': 1 });
    const stats = await h.get('/md/stats');
    expect(stats.json.unhandledIqs).toEqual({ 'w:profile:picture get picture': 1 });
  });

  it('answers only ping and the pair-code stages before pairing', async () => {
    await setup();
    const client = await h.connect();
    await client.register(h.emulator.md.rootPublicKey);
    client.acceptPairDevice(await client.nextTag('iq'));
    expect((await client.iq('w:p', 'get', [md.mdNode('ping')])).attrs.type).toBe('result');
    const count = await client.iq('encrypt', 'get', [md.mdNode('count')]);
    expect(md.requireChild(count, 'error').attrs.code).toBe('401');
  });

  it('logs out by remove-companion-device: the device is gone and its next login fails', async () => {
    await setup();
    const { client, device } = await activeDevice(h);
    const other = await client.iq('md', 'set', [
      md.mdNode('remove-companion-device', { jid: `${PHONE}:9@s.whatsapp.net`, reason: 'user_initiated' }),
    ]);
    expect(md.requireChild(other, 'error').attrs.code).toBe('403');
    const own = await client.iq('md', 'set', [
      md.mdNode('remove-companion-device', {
        jid: `${PHONE}:${device}@s.whatsapp.net`,
        reason: 'user_initiated',
      }),
    ]);
    expect(own.attrs.type).toBe('result');
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toEqual([]);
    client.close();
    const again = await h.connect({ keys: client.keys });
    await again.login(h.emulator.md.rootPublicKey, PHONE, device);
    expect((await again.nextTag('failure')).attrs.reason).toBe('401');
  });
});

describe('messages', () => {
  it('sends pkmsg until the device answers, then msg; one-time pre-keys are consumed once; receipts are recorded', async () => {
    await setup();
    const { client, jid } = await activeDevice(h);
    const first = await sendText(h, 'one');
    const second = await sendText(h, 'two');
    const stanzas = [await client.nextTag('message'), await client.nextTag('message')];
    const decrypted = [await client.decrypt(stanzas[0]!), await client.decrypt(stanzas[1]!)];
    expect(decrypted.map((d) => [d.message.conversation, d.encType])).toEqual([
      ['one', 'pkmsg'],
      ['two', 'pkmsg'],
    ]);
    for (const stanza of stanzas) client.acknowledge(stanza);
    // The phone's session and the contact's each took one of the 30 (§12.1).
    const count = await client.iq('encrypt', 'get', [md.mdNode('count')]);
    expect(md.requireChild(count, 'count').attrs.value).toBe('28');
    // The device answers the contact on the session the contact started: from now on `msg`.
    const replyId = await client.reply(CONTACT, 'hi back');
    const ack = await client.nextTag('ack');
    expect(ack.attrs).toMatchObject({ class: 'message', id: replyId });
    await sendText(h, 'three');
    const third = await client.decrypt(await client.nextTag('message'));
    expect([third.message.conversation, third.encType]).toEqual(['three', 'msg']);

    const phone = await h.get(`/md/phones/${PHONE}`);
    const receipts = phone.json.receipts as { id: string; device: string; type: string }[];
    expect(receipts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: first.id, device: jid, type: 'inactive' }),
        expect.objectContaining({ id: second.id, device: jid, type: 'inactive' }),
      ]),
    );
    expect(phone.json.sent).toEqual([
      expect.objectContaining({ id: replyId, to: CONTACT, text: 'hi back', device: jid }),
    ]);
  });

  it('sends an image through the CDN: the bytes fetched and decrypted are the bytes sent', async () => {
    await setup();
    const { client } = await activeDevice(h);
    const image = randomBytes(3000);
    const answer = await h.post(`/md/phones/${PHONE}/messages`, {
      from: CONTACT,
      image: { base64: Buffer.from(image).toString('base64'), mimetype: 'image/jpeg', caption: 'a picture' },
    });
    expect(answer.status).toBe(200);
    const stanza = await client.nextTag('message');
    expect(stanza.attrs.type).toBe('media');
    expect(md.requireChild(stanza, 'enc').attrs.mediatype).toBe('image');
    const imageMessage = (await client.decrypt(stanza)).message.imageMessage!;
    expect(imageMessage).toMatchObject({ mimetype: 'image/jpeg', caption: 'a picture', fileLength: 3000 });
    const object = new Uint8Array(await (await fetch(imageMessage.url!)).arrayBuffer());
    const plaintext = decryptMedia(object, imageMessage.mediaKey!, 'image', {
      fileSha256: imageMessage.fileSha256!,
      fileEncSha256: imageMessage.fileEncSha256!,
      fileLength: 3000,
    });
    expect(plaintext).toEqual(image);
  });

  it('keeps messages for an offline device and delivers them at its next login, before <ib><offline count=N>', async () => {
    await setup();
    const { client, device } = await activeDevice(h);
    client.close();
    await client.waitClosed();
    const sent = [await sendText(h, 'while away 1'), await sendText(h, 'while away 2')];
    expect(sent[0]!.devices).toEqual([`${PHONE}:${device}@s.whatsapp.net`]);
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toMatchObject([{ online: false, queued: 2 }]);

    const back = await login(h, client.keys, device);
    expect(back.count).toBe(2);
    expect(back.offline.map((m) => [m.attrs.id, m.attrs.offline])).toEqual(sent.map((s) => [s.id, '1']));
    expect((await back.client.decrypt(back.offline[0]!)).message.conversation).toBe('while away 1');
    // Acked: gone. Not acked: delivered again at the next login.
    back.client.acknowledge(back.offline[0]!);
    expect((await back.client.iq('w:p', 'get', [md.mdNode('ping')])).attrs.type).toBe('result');
    back.client.close();
    const again = await login(h, client.keys, device);
    expect(again.offline.map((m) => m.attrs.id)).toEqual([sent[1]!.id]);
  });

  it('refuses bad message requests with 400', async () => {
    await setup();
    for (const body of [
      { text: 'no sender' },
      { from: 'nobody', text: 'x' },
      { from: `${PHONE}@s.whatsapp.net`, text: 'myself' },
      { from: CONTACT },
      { from: CONTACT, image: { base64: '!!', mimetype: 'image/png' } },
      { from: CONTACT, image: { base64: 'AAAA', mimetype: 'text/plain' } },
    ]) {
      expect((await h.post(`/md/phones/${PHONE}/messages`, body)).status).toBe(400);
    }
  });
});

describe('unlink', () => {
  it('unlinks from the phone: the companion gets stream:error 401 device_removed; unknown devices are 404', async () => {
    await setup();
    const { client, device } = await activeDevice(h);
    const res = await fetch(`${h.emulator.url}/md/phones/${PHONE}/devices/${device}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ unlinked: `${PHONE}:${device}@s.whatsapp.net` });
    const error = await client.nextTag('stream:error');
    expect(error.attrs.code).toBe('401');
    expect(md.requireChild(error, 'conflict').attrs.type).toBe('device_removed');
    await client.waitClosed();
    expect(
      (await fetch(`${h.emulator.url}/md/phones/${PHONE}/devices/${device}`, { method: 'DELETE' })).status,
    ).toBe(404);
    expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toEqual([]);
  });
});

describe('sessions the device never answered', () => {
  it('decrypts nothing for a reply encrypted to a contact it has no session with', async () => {
    await setup();
    const { client } = await activeDevice(h);
    // No session with this contact yet: the raw client cannot even encrypt, and the server ignores a bogus one.
    await expect(
      signalEncrypt(client.store, { name: '4917000000099', deviceId: 0 }, padMessage(new Uint8Array([1]))),
    ).rejects.toMatchObject({ code: 'SIGNAL_NO_SESSION' });
    client.send(
      md.mdNode('message', { to: '4917000000099@s.whatsapp.net', id: 'X1', type: 'text' }, [
        md.mdNode('enc', { v: '2', type: 'msg' }, randomBytes(40)),
      ]),
    );
    expect((await client.nextTag('ack')).attrs.id).toBe('X1');
    expect((await h.get(`/md/phones/${PHONE}`)).json.sent).toEqual([]);
  });
});

describe('a companion sends (§12.7)', () => {
  const beNumber = (bytes: Uint8Array) => bytes.reduce((value, byte) => value * 256 + byte, 0);
  const childBytes = (node: md.MdNode, tag: string) => md.contentBytes(md.requireChild(node, tag));

  it('lists devices by usync, hands out each one-time pre-key once, and refuses unknown devices', async () => {
    await setup();
    const { client, device } = await activeDevice(h);
    await h.post('/md/contacts', { jid: CONTACT, name: 'Alice' });
    const usync = await client.iq('usync', 'get', [
      md.mdNode('usync', { sid: 's1', mode: 'query', context: 'message', last: 'true', index: '0' }, [
        md.mdNode('query', {}, [md.mdNode('devices', { version: '2' })]),
        md.mdNode('list', {}, [
          md.mdNode('user', { jid: CONTACT }),
          md.mdNode('user', { jid: `${PHONE}@s.whatsapp.net` }),
          md.mdNode('user', { jid: '4917000000999@s.whatsapp.net' }),
        ]),
      ]),
    ]);
    const users = md.findChildren(md.requireChild(md.requireChild(usync, 'usync'), 'list'), 'user');
    const ids = users.map((user) => [
      user.attrs.jid,
      md
        .findChildren(md.requireChild(md.requireChild(user, 'devices'), 'device-list'), 'device')
        .map((d) => d.attrs.id),
    ]);
    expect(ids).toEqual([
      [CONTACT, ['0']],
      [`${PHONE}@s.whatsapp.net`, ['0', String(device)]],
      ['4917000000999@s.whatsapp.net', []],
    ]);

    const fetch = () =>
      client.iq('encrypt', 'get', [
        md.mdNode('key', {}, [
          md.mdNode('user', { jid: CONTACT, reason: 'identity' }),
          md.mdNode('user', { jid: `${PHONE}:9@s.whatsapp.net`, reason: 'identity' }),
        ]),
      ]);
    const [first, second] = [await fetch(), await fetch()];
    const bundleOf = (answer: md.MdNode) => md.findChildren(md.requireChild(answer, 'list'), 'user')[0]!;
    const [a, b] = [bundleOf(first), bundleOf(second)];
    expect(childBytes(a, 'type')).toEqual(Uint8Array.of(5));
    expect(childBytes(a, 'registration')).toHaveLength(4);
    const skey = md.requireChild(a, 'skey');
    expect(
      xeddsaVerify(
        childBytes(a, 'identity'),
        djbPublicKey(childBytes(skey, 'value')),
        childBytes(skey, 'signature'),
      ),
    ).toBe(true);
    // Each fetch hands out another one-time pre-key.
    const keyId = (user: md.MdNode) => beNumber(childBytes(md.requireChild(user, 'key'), 'id'));
    expect(keyId(a)).not.toBe(keyId(b));
    const missing = md.findChildren(md.requireChild(first, 'list'), 'user')[1]!;
    expect(md.requireChild(missing, 'error').attrs).toEqual({ code: '404', text: 'item-not-found' });
  });

  it('delivers a <participants> message: acked, decrypted by the contact, receipted, listed', async () => {
    await setup();
    const { client, jid } = await activeDevice(h);
    await h.post('/md/contacts', { jid: CONTACT });
    const answer = await client.iq('encrypt', 'get', [
      md.mdNode('key', {}, [md.mdNode('user', { jid: CONTACT, reason: 'identity' })]),
    ]);
    const user = md.findChildren(md.requireChild(answer, 'list'), 'user')[0]!;
    const skey = md.requireChild(user, 'skey');
    const key = md.requireChild(user, 'key');
    const address = { name: CONTACT.split('@')[0]!, deviceId: 0 };
    await signalStartSession(client.store, address, {
      registrationId: beNumber(childBytes(user, 'registration')),
      identityKey: childBytes(user, 'identity'),
      signedPreKey: {
        keyId: beNumber(childBytes(skey, 'id')),
        publicKey: childBytes(skey, 'value'),
        signature: childBytes(skey, 'signature'),
      },
      preKey: { keyId: beNumber(childBytes(key, 'id')), publicKey: childBytes(key, 'value') },
    });
    const cipher = await signalEncrypt(
      client.store,
      address,
      padMessage(md.encodeMessage({ conversation: 'to the contact' })),
    );
    expect(cipher.type).toBe('pkmsg');
    client.send(
      md.mdNode('message', { to: CONTACT, id: 'OUT1', type: 'text' }, [
        md.mdNode('participants', {}, [
          md.mdNode('to', { jid: CONTACT }, [md.mdNode('enc', { v: '2', type: cipher.type }, cipher.body)]),
        ]),
      ]),
    );
    expect((await client.nextTag('ack')).attrs).toMatchObject({
      class: 'message',
      id: 'OUT1',
      from: CONTACT,
    });
    expect((await client.nextTag('receipt')).attrs).toMatchObject({ id: 'OUT1', from: CONTACT });
    const listed = await h.get(`/md/phones/${PHONE}/messages`);
    expect(listed.json.sent).toEqual([
      expect.objectContaining({
        id: 'OUT1',
        to: CONTACT,
        device: jid,
        text: 'to the contact',
        encType: 'pkmsg',
        readBy: CONTACT,
      }),
    ]);
    expect((await h.get('/md/contacts')).json.contacts).toEqual([{ jid: CONTACT, name: expect.any(String) }]);
  });
});
