// Nothing secret reaches the emulator's log (docs/emulator.md): a whole MD run — QR and pair-code pairing,
// login, messages — logged at debug level never shows a key, an adv secret, a pair code or a message text.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { toBase64, toHex } from '../../../crypto/index.ts';
import {
  activate,
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

it('logs connections, devices and stanza names, never keys, secrets, codes or texts', async () => {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  h = await harness({ logger: pino({ level: 'debug' }, sink) });
  const linked = await linkByQr(h);
  const { client } = await login(h, linked.client.keys, linked.device);
  await activate(client);
  await sendText(h, 'a very private sentence');
  await client.decrypt(await client.nextTag('message'));

  // A pair code on another socket.
  const coded = await h.connect();
  await coded.register(h.emulator.md.rootPublicKey);
  coded.acceptPairDevice(await coded.nextTag('iq'));
  await coded.companionHello(PHONE, 'QRST5678');
  const linking = h.post(`/md/phones/${PHONE}/link-code`, { code: 'QRST5678' });
  await coded.companionFinish(PHONE, 'QRST5678', await coded.nextTag('notification'));
  coded.answerPairSuccess(await coded.next(isPairSuccess));
  expect((await linking).status).toBe(200);

  expect(text).toMatch(/md: logged in/);
  expect(text).toMatch(/md: device linked/);
  const account = h.emulator.md.context.state.account(PHONE);
  const secrets = [
    linked.client.keys.identity.privateKey,
    linked.client.keys.noise.privateKey,
    linked.client.keys.advSecret,
    coded.keys.advSecret,
    account.identity.privateKey,
    h.emulator.md.context.state.keys.root.privateKey,
    h.emulator.md.context.state.keys.noiseStatic.privateKey,
  ];
  for (const secret of secrets) {
    expect(text).not.toContain(toHex(secret));
    expect(text).not.toContain(toBase64(secret));
    expect(text).not.toContain(Buffer.from(secret).toString('base64url'));
  }
  for (const plain of ['a very private sentence', 'QRST5678', 'QRST-5678']) expect(text).not.toContain(plain);
});

it('refuses a message for a device whose queue is full, and says which devices got it', async () => {
  h = await harness({ md: { maxQueuedMessages: 2 } });
  const linked = await linkByQr(h);
  const device = `${PHONE}:${linked.device}@s.whatsapp.net`;
  expect((await sendText(h, 'one')).devices).toEqual([device]);
  expect((await sendText(h, 'two')).devices).toEqual([device]);
  expect((await sendText(h, 'three')).devices).toEqual([]);
  expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toMatchObject([{ queued: 2 }]);
});
