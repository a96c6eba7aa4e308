// The faults and phone pushes the model-based suite relies on, driven with a raw ws client (not
// walink's session code): init refused or answered late, rerefs forced to 200, challenge answers
// refused, pings left unanswered, garbage frames, every socket dropped now, receipts, a sleeping phone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { http, RawClient } from '../support/raw-client.ts';

const PHONE = '4915112345679';
let emulator: Emulator;
const clients: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(emulator.wsUrl);
  clients.push(client);
  return client;
}

async function fault(rule: unknown) {
  const answer = await http(emulator.url, 'POST', '/faults', rule);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
}

/** Pairs a raw client and returns the Conn tokens. */
async function pair(client: RawClient): Promise<Record<string, string>> {
  const init = await client.init();
  await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) });
  const conn = (await client.push('Conn')).data[1] as Record<string, string>;
  client.acceptSecret(conn);
  return conn;
}

/** A second socket for the same browser: init then login, without waiting for the init answer. */
async function restoreSocket(paired: RawClient, conn: Record<string, string>) {
  const again = await connect();
  Object.assign(again, { clientId: paired.clientId, keys: paired.keys });
  paired.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const initTag = again.send(again.tag(), [
    'admin',
    'init',
    [2, 2142, 12],
    ['walink', 'test'],
    again.clientId,
    true,
  ]);
  const loginTag = again.send(again.tag(), [
    'admin',
    'login',
    conn.clientToken,
    conn.serverToken,
    again.clientId,
    'takeover',
  ]);
  return { again, initTag, loginTag };
}

beforeEach(async () => {
  emulator = await startEmulator({ port: 0, refTtlMs: 20_000 });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await emulator.close();
});

describe('more fault injection', () => {
  it('refuses an init with a status or with Cmd update', async () => {
    await fault({
      rules: [
        { kind: 'initStatus', status: 500 },
        { kind: 'initStatus', status: 'update' },
      ],
    });
    const first = await connect();
    const tag = first.send(first.tag(), [
      'admin',
      'init',
      [2, 2142, 12],
      ['walink', 'test'],
      first.clientId,
      true,
    ]);
    expect(await first.answer(tag)).toEqual({ status: 500 });
    const second = await connect();
    const again = second.send(second.tag(), [
      'admin',
      'init',
      [2, 2142, 12],
      ['walink', 'test'],
      second.clientId,
      true,
    ]);
    expect(await second.answer(again)).toEqual(['Cmd', { type: 'update' }]);
    expect((await http(emulator.url, 'POST', '/faults', { kind: 'initStatus', status: 302 })).status).toBe(
      400,
    );
  });

  it('answers init late, after the login that followed it', async () => {
    const client = await connect();
    const conn = await pair(client);
    await fault({ kind: 'initLate', ms: 200 });
    const { again, initTag, loginTag } = await restoreSocket(client, conn);
    expect(await again.answer(loginTag)).toEqual({ status: 200 });
    const loginAt = again.log.findIndex((f) => 'tag' in f && f.tag === loginTag);
    expect((await again.answer(initTag)) as Record<string, unknown>).toMatchObject({ status: 200 });
    const initAt = again.log.findIndex((f) => 'tag' in f && f.tag === initTag);
    expect(initAt).toBeGreaterThan(loginAt);
  });

  it('forces a reref to 200 while the ref is young, and refuses a challenge answer', async () => {
    const client = await connect();
    const init = await client.init();
    await fault({ kind: 'rerefStatus', status: 200 });
    const answer = (await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))) as {
      status: number;
      ref: string;
    };
    expect(answer.status).toBe(200);
    expect(answer.ref).not.toBe(init.ref);
    // Without the rule a young ref is kept (304).
    expect(await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))).toEqual({
      status: 304,
    });

    const paired = await connect();
    const conn = await pair(paired);
    await fault({ rules: [{ kind: 'challenge' }, { kind: 'challengeStatus', status: 409 }] });
    const { again, loginTag } = await restoreSocket(paired, conn);
    const challenge = (await again.push('Cmd')).data[1] as { challenge: string };
    expect(typeof challenge.challenge).toBe('string');
    const tag = again.send(again.tag(), ['admin', 'challenge', 'AAAA', conn.serverToken, again.clientId]);
    expect(await again.answer(tag)).toEqual({ status: 409 });
    expect(again.frames.some((f) => 'tag' in f && f.tag === loginTag && f.kind === 'json')).toBe(false);
  });

  it('leaves one ping unanswered, sends garbage, and drops every socket now', async () => {
    const client = await connect();
    await client.init();
    await fault({ kind: 'dropPing' });
    client.ws.send('?,,');
    client.ws.send('?,,');
    const pong = await client.next((f) => f.kind === 'pong', 2_000, 'pong');
    expect(pong.kind).toBe('pong');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.frames.filter((f) => f.kind === 'pong')).toEqual([]);

    const other = await connect();
    await fault({ kind: 'sendGarbage' });
    for (let i = 0; i < 100 && other.garbage.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(other.garbage).toEqual(['\u0000garbage without a tag']);
    expect(client.garbage).toHaveLength(1);

    await fault({ kind: 'closeSocket', at: 'now' });
    expect((await client.waitClosed(2_000)).code).toBe(1001);
    expect((await other.waitClosed(2_000)).code).toBe(1001);
    expect((await http(emulator.url, 'GET', '/faults')).body.rules).toEqual([]);
  });

  it('pushes receipts and the phone falling asleep to the logged-in browser', async () => {
    const client = await connect();
    await pair(client);
    const receipt = await http(emulator.url, 'POST', `/phones/${PHONE}/receipts`, {
      id: 'ABC',
      type: 'delivered',
    });
    expect(receipt.body).toEqual({ notified: 1 });
    const ack = (await client.push('Msg')).data[1] as Record<string, unknown>;
    expect(ack).toMatchObject({ cmd: 'ack', id: 'ABC', ack: 2, from: `${PHONE}@c.us` });
    expect(
      (await http(emulator.url, 'POST', `/phones/${PHONE}/receipts`, { id: 'ABC', type: 'seen' })).status,
    ).toBe(400);

    expect((await http(emulator.url, 'PUT', `/phones/${PHONE}`, { asleep: true })).status).toBe(200);
    const asleep = await client.next(
      (f) => f.kind === 'json' && Array.isArray(f.data) && f.data[0] === 'Stream' && f.data[1] === 'asleep',
      2_000,
      'Stream asleep',
    );
    expect(asleep.kind === 'json' && asleep.data).toEqual(['Stream', 'asleep']);
    expect((await http(emulator.url, 'PUT', `/phones/${PHONE}`, { asleep: 'yes' })).status).toBe(400);
  });
});
