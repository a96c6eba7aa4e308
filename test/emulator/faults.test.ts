import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientBinaryFrame, METRIC } from '../../codec/index.ts';
import { deriveSessionKeys, fromBase64, randomBytes } from '../../crypto/index.ts';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { http, RawClient } from '../support/raw-client.ts';

const PHONE = '4915112345678';
let emulator: Emulator;
const clients: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(emulator.wsUrl);
  clients.push(client);
  return client;
}

async function fault(rule: unknown) {
  const answer = await http(emulator.url, 'POST', '/faults', rule);
  expect(answer.status).toBe(200);
}

async function pair(client: RawClient): Promise<Record<string, unknown>> {
  const init = await client.init();
  await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) });
  const conn = (await client.push('Conn')).data[1] as Record<string, unknown>;
  client.acceptSecret(conn);
  return conn;
}

beforeEach(async () => {
  emulator = await startEmulator({
    port: 0,
    refTtlMs: 2000,
    maxPayload: 64 * 1024,
    legacy: { latencyMs: 0 },
  });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await emulator.close();
});

describe('fault injection', () => {
  it('lists, adds and clears rules', async () => {
    await fault({ rules: [{ kind: 'challenge' }, { kind: 'delay', at: 'init', ms: 5, times: 2 }] });
    expect((await http(emulator.url, 'GET', '/faults')).body.rules).toEqual([
      { kind: 'challenge', times: 1 },
      { kind: 'delay', at: 'init', ms: 5, times: 2 },
    ]);
    expect((await http(emulator.url, 'DELETE', '/faults')).body.rules).toEqual([]);
  });

  it('closes the socket at a named step', async () => {
    await fault({ kind: 'closeSocket', at: 'init' });
    const client = await connect();
    await expect(client.init()).rejects.toThrow(/closed/);
    const next = await connect();
    expect((await next.init()).status).toBe(200);
  });

  it('closes the socket after N more client frames', async () => {
    await fault({ kind: 'closeSocket', afterFrames: 3 });
    const client = await connect();
    client.ws.send('?,,');
    client.ws.send('?,,');
    await client.next((f) => f.kind === 'pong');
    client.ws.send('?,,');
    await client.waitClosed();
  });

  it('delays a step', async () => {
    await fault({ kind: 'delay', at: 'init', ms: 300 });
    const client = await connect();
    const started = Date.now();
    await client.init();
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('corrupts the HMAC of the next server binary frame, and only that one', async () => {
    const client = await connect();
    await pair(client);
    await fault({ kind: 'corruptHmac' });
    client.sendNode('q1', ['query', { type: 'contacts', epoch: '1' }, null], METRIC.queryContacts);
    await expect(client.binary('q1')).rejects.toMatchObject({ code: 'BAD_MAC' });
    client.sendNode('q2', ['query', { type: 'chat', epoch: '1' }, null], METRIC.queryChat);
    expect((await client.binary('q2')).node[0]).toBe('response');
  });

  it('answers the next reref with the injected status', async () => {
    await fault({ kind: 'rerefStatus', status: 429 });
    const client = await connect();
    await client.init();
    expect(await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))).toEqual({
      status: 429,
    });
  });

  it('sends a secret whose HMAC does not verify', async () => {
    await fault({ kind: 'badSecret' });
    const client = await connect();
    const init = await client.init();
    await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) });
    const conn = (await client.push('Conn')).data[1] as { secret: string };
    expect(() => deriveSessionKeys(client.keyPair.privateKey, fromBase64(conn.secret))).toThrow(
      expect.objectContaining({ code: 'BAD_SECRET' }),
    );
  });

  it('makes the CDN answer 404/500 or a truncated, corrupted or empty body', async () => {
    const client = await connect();
    await pair(client);
    const sent = await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '1234567@c.us',
      media: {
        type: 'document',
        base64: Buffer.from(randomBytes(1000)).toString('base64'),
        mimetype: 'application/pdf',
      },
    });
    expect(sent.status).toBe(200);
    const { node } = await client.binary();
    const { decodeWebMessageInfo } = await import('../../codec/index.ts');
    const url = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]).message!
      .documentMessage!.url!;
    const good = new Uint8Array(await (await fetch(url)).arrayBuffer());
    await fault({ kind: 'cdn', status: 500 });
    expect((await fetch(url)).status).toBe(500);
    await fault({ kind: 'cdn', status: 404 });
    expect((await fetch(url)).status).toBe(404);
    await fault({ kind: 'cdn', body: 'truncate' });
    expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(Math.floor(good.length / 2));
    await fault({ kind: 'cdn', body: 'corrupt' });
    const corrupt = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(corrupt.length).toBe(good.length);
    expect(Buffer.compare(corrupt, good)).not.toBe(0);
    await fault({ kind: 'cdn', body: 'empty' });
    expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(0);
    expect(Buffer.compare(new Uint8Array(await (await fetch(url)).arrayBuffer()), good)).toBe(0);
  });
});

describe('bad input', () => {
  it('closes a socket that sends a binary frame before keys exist, a forged HMAC, or an oversized frame', async () => {
    const early = await connect();
    early.ws.send(clientBinaryFrame('x', 5, 0x80, randomBytes(64)));
    expect((await early.waitClosed()).reason).toMatch(/before keys/);

    const forged = await connect();
    await pair(forged);
    forged.ws.send(clientBinaryFrame('y', 5, 0x80, randomBytes(80)));
    expect((await forged.waitClosed()).reason).toMatch(/dropped/);
    expect(emulator.hub.stats.droppedFrames).toBe(1);

    const big = await connect();
    big.ws.send(`t,"${'x'.repeat(70 * 1024)}"`);
    expect((await big.waitClosed()).code).toBe(1009);
  });

  it('answers unknown admin commands and non-admin JSON with 400, and closes on untagged garbage', async () => {
    const client = await connect();
    expect(await client.answer(client.send(client.tag(), ['admin', 'frobnicate']))).toEqual({ status: 400 });
    expect(await client.answer(client.send(client.tag(), { not: 'an array' }))).toEqual({ status: 400 });
    client.ws.send('t1,{broken');
    expect((await client.waitClosed()).reason).toMatch(/malformed/);
  });

  it('survives 10,000 random frames on one socket while another socket completes a pairing', async () => {
    let fuzzer = await connect();
    let sent = 0;
    const frame = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .tuple(fc.stringMatching(/^[0-9a-z.-]{1,12}$/), fc.jsonValue())
          .map(([t, v]) => `${t},${JSON.stringify(v)}`),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.stringMatching(/^[a-z]{1,6}$/),
            fc.constantFrom('init', 'login', 'Conn', 'challenge', 'test'),
            fc.array(fc.jsonValue(), { maxLength: 5 }),
          )
          .map(([t, cmd, rest]) => `${t},${JSON.stringify(['admin', cmd, ...rest])}`),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) },
    );
    const frames = fc.sample(frame, { numRuns: 10_000, seed: 20261123 });
    const pairing = (async () => {
      const client = await connect();
      await pair(client);
      client.sendNode('q', ['query', { type: 'chat', epoch: '1' }, null], METRIC.queryChat);
      return (await client.binary('q', 30_000)).node[1];
    })();
    for (const data of frames) {
      if (fuzzer.closed) fuzzer = await connect();
      fuzzer.ws.send(data, { binary: typeof data !== 'string' });
      // A ping behind each frame: its pong (or the socket's close) proves the frame was handled.
      fuzzer.ws.send('?,,');
      await fuzzer.next((f) => f.kind === 'pong').catch(() => undefined);
      sent += 1;
    }
    const { stats } = (await http(emulator.url, 'GET', '/healthz')).body;
    expect(sent).toBe(10_000);
    expect(stats.framesReceived).toBeGreaterThanOrEqual(10_000);
    expect(await pairing).toMatchObject({ type: 'chat' });
    expect((await http(emulator.url, 'GET', '/healthz')).body.ok).toBe(true);
  }, 120_000);
});

describe('state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'walink-emu-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps linked browsers and tokens across a restart (mode 0600), so a login restores', async () => {
    const stateFile = join(dir, 'emulator.json');
    await emulator.close();
    emulator = await startEmulator({ port: 0, stateFile, legacy: { latencyMs: 0 } });
    const client = await connect();
    const conn = await pair(client);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(stateFile, 'utf8')).toContain(client.clientId);
    client.close();
    await emulator.close();
    emulator = await startEmulator({ port: 0, stateFile, legacy: { latencyMs: 0 } });
    const again = await connect();
    Object.assign(again, { clientId: client.clientId, keys: client.keys });
    await again.init();
    expect(await again.answer(again.sendLogin(conn))).toEqual({ status: 200 });
  });
});

// The faults and phone pushes the model-based suite relies on.
/** A second socket for the same browser: init then login, without waiting for the init answer. */
async function restoreSocket(paired: RawClient, conn: Record<string, unknown>) {
  const again = await connect();
  Object.assign(again, { clientId: paired.clientId, keys: paired.keys });
  paired.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const initTag = again.sendInit();
  const loginTag = again.sendLogin(conn);
  return { again, initTag, loginTag };
}

describe('more fault injection', () => {
  it('refuses an init with a status or with Cmd update', async () => {
    await fault({
      rules: [
        { kind: 'initStatus', status: 500 },
        { kind: 'initStatus', status: 'update' },
      ],
    });
    const first = await connect();
    const tag = first.sendInit();
    expect(await first.answer(tag)).toEqual({ status: 500 });
    const second = await connect();
    const again = second.sendInit();
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
