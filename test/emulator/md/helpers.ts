// Shared steps of the MD conformance tests: an emulator with short timings, and a raw client linked by QR,
// logged in, and made active, each step checked as docs/protocol-md.md describes it.
import { expect } from 'vitest';
import { md } from '../../../codec/index.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../../emulator/index.ts';
import { http, type MdClientKeys, MdRawClient } from '../../support/md-raw-client.ts';

export const PHONE = '15551234567';
export const CONTACT = '4917000000001@s.whatsapp.net';

export interface Harness {
  emulator: Emulator;
  clients: MdRawClient[];
  /** The emulator's clock (ms): tests move it to expire refs without sleeping. */
  clock: { offset: number };
  connect(options?: Parameters<typeof MdRawClient.connect>[1]): Promise<MdRawClient>;
  post(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function harness(options: EmulatorOptions = {}): Promise<Harness> {
  const clock = { offset: 0 };
  const emulator = await startEmulator({
    port: 0,
    now: () => Date.now() + clock.offset,
    ...options,
    md: { firstFrameDelayMs: 3, streamErrorCloseMs: 5, ...options.md },
  });
  const clients: MdRawClient[] = [];
  return {
    emulator,
    clients,
    clock,
    async connect(connectOptions) {
      const client = await MdRawClient.connect(emulator.mdWsUrl, connectOptions);
      clients.push(client);
      return client;
    },
    post: (path, body = {}) => http(emulator.url, 'POST', path, body),
    get: (path) => http(emulator.url, 'GET', path),
    async close() {
      for (const client of clients) client.close();
      await emulator.close();
    },
  };
}

export function isPairSuccess(node: md.MdNode): boolean {
  return node.tag === 'iq' && md.findChild(node, 'pair-success') !== undefined;
}

/** Registration → pair-device (6 refs) → the phone scans → pair-success → pair-device-sign → 515. */
export async function linkByQr(
  h: Harness,
  options: {
    dictVersion?: 2 | 3;
    phone?: string;
    form?: { fields?: 4 | 5; prefix?: boolean };
    keys?: MdClientKeys;
  } = {},
): Promise<{ client: MdRawClient; device: number; jid: string; keyIndex: number }> {
  const client = await h.connect({
    dictVersion: options.dictVersion ?? 3,
    ...(options.keys ? { keys: options.keys } : {}),
  });
  await client.register(h.emulator.md.rootPublicKey);
  const pairDevice = await client.nextTag('iq');
  const qrs = client.acceptPairDevice(pairDevice, options.form);
  const scan = h.post(`/md/phones/${options.phone ?? PHONE}/scan`, { qr: qrs[0] });
  const verified = client.answerPairSuccess(await client.next(isPairSuccess));
  const restart = await client.nextTag('stream:error');
  expect(restart.attrs.code).toBe('515');
  const answer = await scan;
  expect(answer.status).toBe(200);
  await client.waitClosed();
  return {
    client,
    device: answer.json.device as number,
    jid: answer.json.jid as string,
    keyIndex: verified.keyIndex,
  };
}

/** A login on a new socket: <success>, the offline messages, and the offline marker. */
export async function login(
  h: Harness,
  keys: MdClientKeys,
  device: number,
  options: { dictVersion?: 2 | 3; phone?: string } = {},
): Promise<{ client: MdRawClient; success: md.MdNode; offline: md.MdNode[]; count: number }> {
  const client = await h.connect({ keys, dictVersion: options.dictVersion ?? 3 });
  await client.login(h.emulator.md.rootPublicKey, options.phone ?? PHONE, device);
  const success = await client.nextTag('success');
  const marker = await client.nextTag('ib');
  const offline = client.log.slice(0, client.log.indexOf(marker)).filter((node) => node.tag === 'message');
  for (const node of offline) client.inbox.splice(client.inbox.indexOf(node), 1);
  const count = Number(md.requireChild(marker, 'offline').attrs.count);
  return { client, success, offline, count };
}

/** What a companion does after <success> (§9): count, upload, passive active; then the phone's two messages. */
export async function activate(client: MdRawClient): Promise<md.Message[]> {
  const count = await client.iq('encrypt', 'get', [md.mdNode('count')]);
  if (Number(md.requireChild(count, 'count').attrs.value) <= 5) {
    expect((await client.uploadPreKeys()).attrs.type).toBe('result');
  }
  expect((await client.iq('passive', 'set', [md.mdNode('active')])).attrs.type).toBe('result');
  const messages: md.Message[] = [];
  for (let i = 0; i < 2; i++) {
    const stanza = await client.nextTag('message');
    expect(stanza.attrs).toMatchObject({
      category: 'peer',
      type: 'protocol',
      from: `${PHONE}@s.whatsapp.net`,
    });
    messages.push((await client.decrypt(stanza)).message);
    client.acknowledge(stanza, 'peer_msg');
  }
  return messages;
}

/** A linked, logged-in, active device. */
export async function activeDevice(
  h: Harness,
  options: { dictVersion?: 2 | 3 } = {},
): Promise<{ client: MdRawClient; device: number; jid: string }> {
  const linked = await linkByQr(h, options);
  const { client } = await login(h, linked.client.keys, linked.device, options);
  await activate(client);
  return { client, device: linked.device, jid: linked.jid };
}

export async function sendText(
  h: Harness,
  text: string,
  from = CONTACT,
): Promise<{ id: string; devices: string[] }> {
  const answer = await h.post(`/md/phones/${PHONE}/messages`, { from, text });
  expect(answer.status).toBe(200);
  return answer.json as { id: string; devices: string[] };
}
