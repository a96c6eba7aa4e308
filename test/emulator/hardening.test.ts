// The legacy emulator against clients it did not expect (issue 12): frames with bad tags, sockets that never
// read, go idle or vanish without a close frame, half-sent HTTP requests, clients that listen late or lose
// an answer, lost token saves in a row, and a phone API that must not grow or write without end. Driven with
// the raw client of test/support/raw-client.ts, not walink's session code.
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { decodeWebMessageInfo, type ServerFrame } from '../../codec/index.ts';
import { challengeAnswer, fromBase64, toBase64 } from '../../crypto/index.ts';
import {
  DEFAULT_LATENCY_MS,
  type Emulator,
  type EmulatorOptions,
  LATENCY_KINDS,
  startEmulator,
} from '../../emulator/index.ts';
import { http, RawClient } from '../support/raw-client.ts';

const PHONE = '4915112345678';
let emulator: Emulator;
const clients: RawClient[] = [];
const dirs: string[] = [];

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emulator = await startEmulator({ port: 0, ...options, legacy: { latencyMs: 0, ...options.legacy } });
  return emulator;
}

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(emulator.wsUrl);
  clients.push(client);
  return client;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'walink-emu-hardening-'));
  dirs.push(dir);
  return dir;
}

async function pair(phone = PHONE): Promise<{ client: RawClient; conn: Record<string, unknown> }> {
  const client = await connect();
  const init = await client.init();
  expect(
    (await http(emulator.url, 'POST', `/phones/${phone}/scan`, { qr: client.qrText(init.ref) })).status,
  ).toBe(200);
  const conn = (await client.push('Conn')).data[1] as Record<string, unknown>;
  client.acceptSecret(conn);
  return { client, conn };
}

/** A new socket for the same browser (clientId and keys), as after a restart. */
async function sameBrowser(original: RawClient): Promise<RawClient> {
  const client = await connect();
  Object.assign(client, { clientId: original.clientId, keys: original.keys });
  return client;
}

const isConn = (f: ServerFrame) => f.kind === 'json' && Array.isArray(f.data) && f.data[0] === 'Conn';

/** Polls `test` on every turn of the event loop for up to `ms` (no fixed sleep). */
async function until(test: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  vi.useRealTimers();
  for (const client of clients.splice(0)) client.close();
  await emulator?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('frames', () => {
  it('closes a frame with an empty tag or control characters in its tag with 1002, and echoes nothing', async () => {
    await start();
    for (const frame of [',["admin","test"]', ',,["admin","test"]', '\u0001\u001b[31m,["admin","test"]']) {
      const client = await connect();
      client.ws.send(frame);
      expect((await client.waitClosed()).code).toBe(1002);
      expect(client.log).toEqual([]);
    }
    const fine = await connect();
    expect(await fine.answer(fine.send(fine.tag(), ['admin', 'test']))).toEqual(['Pong', false]);
  });
});

describe('restoring', () => {
  it('answers the challenged login’s own tag too, and three lost saves in a row still restore', async () => {
    await start();
    const { client: first, conn } = await pair();
    first.close();
    // The client never saves a rotated pair: every run logs in with the pairing's tokens.
    for (let run = 0; run < 4; run++) {
      const client = await sameBrowser(first);
      await client.init();
      const loginTag = client.sendLogin(conn);
      if (run === 0) {
        expect(await client.answer(loginTag)).toEqual({ status: 200 });
      } else {
        const { challenge } = (await client.push('Cmd')).data[1] as { challenge: string };
        const answer = client.send(client.tag(), [
          'admin',
          'challenge',
          toBase64(challengeAnswer(first.keys!.macKey, fromBase64(challenge))),
          conn.serverToken,
          client.clientId,
        ]);
        expect(await client.answer(answer)).toEqual({ status: 200 });
        expect(await client.answer(loginTag)).toEqual({ status: 200 });
      }
      await client.push('Conn');
      client.close();
      await client.waitClosed();
    }
    expect(emulator.hub.stats.logins).toBe(4);
  });

  it('answers a login re-sent after its answer again (Conn with the same tokens, then 200), without a rotation', async () => {
    await start();
    const { client: first, conn } = await pair();
    first.close();
    const second = await sameBrowser(first);
    await second.init();
    const frame = ['admin', 'login', conn.clientToken, conn.serverToken, second.clientId, 'takeover'];
    const tag = second.send(second.tag(), frame);
    expect(await second.answer(tag)).toEqual({ status: 200 });
    const rotated = (await second.push('Conn')).data[1] as Record<string, unknown>;
    // The client lost that answer and sends the same frame again.
    second.send(tag, frame);
    expect(await second.answer(tag)).toEqual({ status: 200 });
    const again = second.log
      .filter(isConn)
      .map((f) => (f as { data: [string, Record<string, unknown>] }).data[1]);
    expect(again).toHaveLength(2);
    expect(again[1]!.clientToken).toBe(rotated.clientToken);
    expect(again[1]!.serverToken).toBe(rotated.serverToken);
    expect(emulator.hub.stats.logins).toBe(1);
  });

  it('pushes the contact and chat lists unasked (preempt-…) after a pairing and after a login', async () => {
    await start();
    const { client: first, conn } = await pair();
    const lists = [await first.preempt(), await first.preempt()];
    expect(lists.map((l) => [l.node[0], l.node[1]?.type])).toEqual([
      ['response', 'contacts'],
      ['response', 'chat'],
    ]);
    for (const { tag } of lists) expect(tag).toMatch(/^preempt-\d+-\d+$/);
    first.close();
    const second = await sameBrowser(first);
    await second.init();
    await second.answer(second.sendLogin(conn));
    expect((await second.preempt()).node[1]?.type).toBe('contacts');
    expect((await second.preempt()).node[1]?.type).toBe('chat');
  });
});

describe('latency', () => {
  it('answers init and a login sent with it in separate reads, each after its kind’s time', async () => {
    expect(LATENCY_KINDS.every((kind) => DEFAULT_LATENCY_MS[kind] > 0)).toBe(true);
    await start({ legacy: { latencyMs: { init: 60, login: 120 } } });
    const { client: first, conn } = await pair();
    first.close();
    const client = await sameBrowser(first);
    const arrived = new Map<string, number>();
    client.ws.on('message', (data) => {
      const text = data.toString();
      arrived.set(text.slice(0, text.indexOf(',')), performance.now());
    });
    const sentAt = performance.now();
    const initTag = client.sendInit();
    const loginTag = client.sendLogin(conn);
    await client.answer(loginTag);
    const init = arrived.get(initTag)! - sentAt;
    const login = arrived.get(loginTag)! - sentAt;
    expect(init).toBeGreaterThanOrEqual(55);
    // The login waits for init's turn, then its own time: the Conn and the 200 come well after init's answer.
    expect(login - init).toBeGreaterThanOrEqual(110);
    expect(arrived.get('s1')! - sentAt).toBeGreaterThan(init);
  });

  it('refuses a latency out of range', async () => {
    await expect(startEmulator({ port: 0, legacy: { latencyMs: { login: -1 } } })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});

/** A WebSocket that records what the connection does with it; bufferedAmount is set by the test. */
class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  paused = 0;
  resumed = 0;
  terminated = false;
  sent = 0;
  send(): void {
    this.sent += 1;
  }
  ping(): void {}
  pause(): void {
    this.paused += 1;
  }
  resume(): void {
    this.resumed += 1;
  }
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
}

describe('sockets that do not read, go idle or vanish', () => {
  it('stops reading while the output is past the high-water mark, reads again once it drained, drops it past the limit', async () => {
    const { hub } = await start({ legacy: { highWaterBytes: 1000, maxBufferedBytes: 4000 } });
    vi.useFakeTimers();
    const socket = new FakeSocket();
    hub.attach(socket as unknown as WebSocket);
    const ping = async () => {
      socket.emit('message', Buffer.from('?,,'), false);
      await vi.advanceTimersByTimeAsync(0);
    };
    socket.bufferedAmount = 500;
    await ping();
    expect(socket.paused).toBe(0);
    socket.bufferedAmount = 1500;
    await ping();
    expect(socket.paused).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.resumed).toBe(0);
    socket.bufferedAmount = 400;
    await vi.advanceTimersByTimeAsync(100);
    expect(socket.resumed).toBe(1);
    socket.bufferedAmount = 5000;
    await ping();
    expect(socket.terminated).toBe(true);
    expect(hub.health().sockets).toBe(0);
  });

  it('stops reading while more than maxQueuedFrames frames wait to be handled, and reads again once half are done', async () => {
    const { hub } = await start({ legacy: { maxQueuedFrames: 8 } });
    const socket = new FakeSocket();
    hub.attach(socket as unknown as WebSocket);
    for (let i = 0; i < 20; i++) socket.emit('message', Buffer.from('?,,'), false);
    expect(socket.paused).toBe(1);
    await until(() => socket.sent === 20);
    expect(socket.resumed).toBe(1);
  });

  it('drops a real socket that never reads while the phone sends to it, and keeps the emulator answering', async () => {
    await start({ legacy: { highWaterBytes: 64 * 1024, maxBufferedBytes: 1024 * 1024 } });
    const { client } = await pair();
    // The client's process stops reading from the network.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'x'.repeat(512 * 1024);
    let sent = 0;
    while (emulator.hub.health().sockets > 0 && sent < 80) {
      await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, { from: '491700000000@c.us', text });
      sent += 1;
    }
    expect(emulator.hub.health().sockets).toBe(0);
    expect(sent).toBeLessThan(80);
    const health = await http(emulator.url, 'GET', '/healthz');
    expect(health.body.ok).toBe(true);
  });

  it('closes a socket that sends nothing for idleTimeoutMs, and keeps one that pings', async () => {
    await start({ legacy: { idleTimeoutMs: 500 } });
    const quiet = await connect();
    const pinging = await connect();
    const timer = setInterval(() => pinging.ws.send('?,,'), 25);
    try {
      expect((await quiet.waitClosed(3_000)).code).toBe(1001);
      expect(pinging.closed).toBeNull();
    } finally {
      clearInterval(timer);
    }
  });

  it('re-queues a message pushed to a socket that vanished before acknowledging it, and not one it acknowledged', async () => {
    await start();
    const { client: first, conn } = await pair();
    const send = (text: string) =>
      http(emulator.url, 'POST', `/phones/${PHONE}/messages`, { from: '491700000000@c.us', text });
    expect((await send('seen')).body.delivered).toBe(1);
    await first.binary();
    await until(() => emulator.hub.health().unacknowledged === 0);
    // The client stops reading (it cannot answer the ping after the push) and then vanishes: no close frame.
    const raw = (first.ws as unknown as { _socket: { pause(): void; destroy(): void } })._socket;
    raw.pause();
    expect((await send('lost in flight')).body.delivered).toBe(1);
    expect(emulator.hub.health().unacknowledged).toBe(1);
    raw.destroy();
    await until(() => emulator.hub.health().sockets === 0);

    const second = await sameBrowser(first);
    await second.init();
    await second.answer(second.sendLogin(conn));
    const { node } = await second.binary();
    const info = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]);
    expect(info.message?.conversation).toBe('lost in flight');
    await until(() => emulator.hub.health().unacknowledged === 0);
    expect(second.frames.filter((f) => f.kind === 'binary' && !f.tag.startsWith('preempt-'))).toHaveLength(0);
  });

  it('gives a message the replaced socket never acknowledged to the socket that took the browser over', async () => {
    await start();
    const { client: first, conn } = await pair();
    await first.preempt();
    (first.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const sent = await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '491700000000@c.us',
      text: 'during the takeover',
    });
    expect(sent.body.delivered).toBe(1);
    const second = await sameBrowser(first);
    await second.init();
    await second.answer(second.sendLogin(conn, 'takeover'));
    const { node } = await second.binary();
    const info = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]);
    expect(info.message?.conversation).toBe('during the takeover');
  });
});

describe('HTTP', () => {
  it('closes a connection whose request never completes, after the headers timeout', async () => {
    await start({ headersTimeoutMs: 300 });
    const url = new URL(emulator.url);
    const closedAfter = (data: string) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const socket = connectTcp(Number(url.port), url.hostname, () => socket.write(data));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        socket.on('error', reject);
        setTimeout(() => reject(new Error('still open after 5 s')), 5_000).unref();
      });
    const [half, idle] = await Promise.all([
      closedAfter(`POST /phones/${PHONE}/messages HTTP/1.1\r\nHost: ${url.host}\r\n`),
      closedAfter(''),
    ]);
    expect(half).toBeLessThan(2_000);
    expect(idle).toBeLessThan(2_000);
  });
});

describe('phones, media and the state file', () => {
  it('a GET makes no phone and writes no state file', async () => {
    const stateFile = join(tempDir(), 'state.json');
    await start({ stateFile });
    // The multi-device side writes its section once after start.
    await until(() => readFileSync(stateFile, 'utf8').includes('"md"'));
    const before = readFileSync(stateFile, 'utf8');
    const mtime = statSync(stateFile).mtimeMs;
    expect((await http(emulator.url, 'GET', '/phones/4915100000001')).status).toBe(200);
    expect((await http(emulator.url, 'GET', '/phones/4915100000002/sent')).body).toEqual({ sent: [] });
    expect(readFileSync(stateFile, 'utf8')).toBe(before);
    expect(statSync(stateFile).mtimeMs).toBe(mtime);
    expect(JSON.parse(before).phones).toEqual([]);
  });

  it('--state in a folder that does not exist makes the folder; one that cannot be made is a clear error at start', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'new', 'deeper', 'state.json');
    await start({ stateFile });
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect((await http(emulator.url, 'PUT', `/phones/${PHONE}`, { pushname: 'Kept' })).status).toBe(200);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).phones[0].pushname).toBe('Kept');
    await emulator.close();

    writeFileSync(join(dir, 'a-file'), 'not a folder');
    await expect(
      startEmulator({ port: 0, stateFile: join(dir, 'a-file', 'state.json') }),
    ).rejects.toMatchObject({
      code: 'STATE_FILE',
    });
    expect(existsSync(join(dir, 'a-file', 'state.json'))).toBe(false);
  });

  it('keeps at most maxPhones phones, forgetting the oldest without a linked browser first', async () => {
    await start({ legacy: { maxPhones: 2 } });
    await pair('4915100000001');
    const put = (number: string, pushname: string) =>
      http(emulator.url, 'PUT', `/phones/${number}`, { pushname });
    expect((await put('4915100000002', 'Second')).status).toBe(200);
    expect((await put('4915100000003', 'Third')).status).toBe(200);
    const phone = async (number: string) => (await http(emulator.url, 'GET', `/phones/${number}`)).body;
    expect((await phone('4915100000001')).linkedBrowsers).toHaveLength(1);
    expect((await phone('4915100000002')).pushname).toBe('Phone 0002'); // forgotten: as it would be made
    expect((await phone('4915100000003')).pushname).toBe('Third');
  });

  it('the CDN keeps at most maxObjects objects and maxBytes bytes, the oldest going first', async () => {
    const store = (await start({ media: { maxObjects: 3, maxBytes: 10_000 } })).hub.media;
    const tokens = [1, 2, 3, 4].map(
      (n) => store.upload(`m${n}`, 'document', new Uint8Array(100), 'text/plain', 'http://x', 0).token,
    );
    expect(tokens.map((t) => store.get(t) !== undefined)).toEqual([false, true, true, true]);
    expect(store.reupload('m1', 'http://x')).toBeUndefined();
    // 300 bytes held and 9,850 more: the two oldest go, the newest small one stays.
    const big = store.upload('big', 'document', new Uint8Array(9_850), 'text/plain', 'http://x', 0).token;
    expect([tokens[1], tokens[2], tokens[3], big].map((t) => store.get(t!) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(store.size.bytes).toBeLessThanOrEqual(10_000);
  });
});
