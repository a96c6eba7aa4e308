// The MD side keeps its certificate keys, accounts, devices, pre-keys, queued messages and Signal sessions
// in the `md` section of the emulator's state file: a restarted emulator keeps its root and its devices.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import { activeDevice, type Harness, harness, login, PHONE, sendText } from './helpers.ts';

let dir: string;
let h: Harness | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'walink-md-state-'));
});
afterEach(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a restarted emulator keeps its root key, the linked device, its pre-keys, queued messages and sessions', async () => {
  const stateFile = join(dir, 'emulator-state.json');
  h = await harness({ stateFile });
  const root = h.emulator.md.rootPublicKeyHex;
  const { client, device } = await activeDevice(h);
  // One message delivered on the live session, one left waiting for the device.
  const live = await sendText(h, 'before the restart');
  const first = await client.decrypt(await client.nextTag('message'));
  expect(first.message.conversation).toBe('before the restart');
  client.acknowledge(client.log.find((node) => node.attrs.id === live.id)!);
  client.close();
  await client.waitClosed();
  const queued = await sendText(h, 'waiting through the restart');
  // The legacy part of the file is still there beside md.
  await h.post('/phones/491511112222/messages', { from: '491700000001@c.us', text: 'legacy' });
  await h.close();
  h = undefined;

  const stored = JSON.parse(readFileSync(stateFile, 'utf8')) as {
    md: { version: number };
    phones: unknown[];
  };
  expect(stored.md.version).toBe(1);
  expect(stored.phones.length).toBeGreaterThan(0);
  expect(statSync(stateFile).mode & 0o777).toBe(0o600);

  h = await harness({ stateFile });
  expect(h.emulator.md.rootPublicKeyHex).toBe(root);
  const back = await login(h, client.keys, device);
  expect(back.count).toBe(1);
  expect(back.offline[0]!.attrs.id).toBe(queued.id);
  // The contact's session survived: the same ratchet, no new pre-key.
  const second = await back.client.decrypt(back.offline[0]!);
  expect(second.message.conversation).toBe('waiting through the restart');
  const count = await back.client.iq('encrypt', 'get', [md.mdNode('count')]);
  expect(md.requireChild(count, 'count').attrs.value).toBe('28');
  expect((await h.get(`/md/phones/${PHONE}`)).json.devices).toMatchObject([{ device, online: true }]);
});
