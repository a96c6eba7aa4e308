import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeWebMessageInfo, METRIC, toProtoJid } from '../../codec/index.ts';
import { challengeAnswer, decryptMedia, fromBase64, randomBytes, toBase64 } from '../../crypto/index.ts';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { http, ORIGIN, RawClient } from '../support/raw-client.ts';

const PHONE = '4915112345678';
let emulator: Emulator;
const clients: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(emulator.wsUrl);
  clients.push(client);
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pairs a fresh client: init, scan by the phone, Conn with secret, Stream, Props. */
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

async function login(client: RawClient, conn: Record<string, unknown>, mode = 'takeover') {
  await client.init();
  return client.sendLogin(conn, mode);
}

/** A second socket for the same browser (same clientId and keys), as after a reconnect. */
async function sameBrowser(original: RawClient): Promise<RawClient> {
  const client = await connect();
  Object.assign(client, { clientId: original.clientId, keys: original.keys });
  return client;
}

beforeEach(async () => {
  emulator = await startEmulator({ port: 0, refTtlMs: 400, legacy: { latencyMs: 0 } });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await emulator.close();
});

describe('transport', () => {
  it('refuses a WebSocket without the allowed Origin with 403', async () => {
    await expect(RawClient.connect(emulator.wsUrl, 'https://evil.example')).rejects.toThrow(/403/);
    await expect(RawClient.connect(emulator.wsUrl, ORIGIN)).resolves.toBeInstanceOf(RawClient);
  });

  it('answers the keep-alive ping with a pong and admin test with Pong', async () => {
    const client = await connect();
    client.ws.send('?,,');
    const pong = await client.next((f) => f.kind === 'pong');
    expect(pong.kind === 'pong' && Math.abs(pong.serverTime - Date.now()) < 5000).toBe(true);
    expect(await client.answer(client.send(client.tag(), ['admin', 'test']))).toEqual(['Pong', false]);
    const { client: paired } = await pair();
    expect(await paired.answer(paired.send(paired.tag(), ['admin', 'test']))).toEqual(['Pong', true]);
  });

  it('answers init with a ref and ttl, and an outdated version with Cmd update', async () => {
    const client = await connect();
    const init = await client.init();
    expect(init).toMatchObject({ status: 200, ttl: 400, update: false, curr: '2.2142.12' });
    expect(init.ref).toMatch(/^1@/);
    const old = await connect();
    const tag = old.send(old.tag(), ['admin', 'init', [0, 2, 9], ['x', 'y'], old.clientId, true], true);
    expect(await old.answer(tag)).toEqual(['Cmd', { type: 'update' }]);
  });
});

describe('QR rotation and pairing', () => {
  it('pairs after two rerefs: Conn with a secret, Stream, Props, then binary queries', async () => {
    const client = await connect();
    const first = await client.init();
    expect(await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))).toEqual({
      status: 304,
    });
    let ref = first.ref;
    for (let i = 0; i < 2; i++) {
      await sleep(250);
      const reref = (await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))) as {
        status: number;
        ref: string;
      };
      expect(reref.status).toBe(200);
      expect(reref.ref).not.toBe(ref);
      ref = reref.ref;
    }
    const scan = await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(ref) });
    expect(scan).toEqual({ status: 200, body: { wid: `${PHONE}@c.us`, result: 'paired' } });
    const conn = (await client.push('Conn')).data[1] as Record<string, unknown>;
    expect(conn).toMatchObject({
      ref,
      wid: `${PHONE}@c.us`,
      connected: true,
      isResponse: 'false',
      binVersion: 11,
      protoVersion: [0, 17],
    });
    expect(fromBase64(conn.secret as string).length).toBe(144);
    expect(fromBase64(conn.clientToken as string).length).toBe(32);
    for (const key of ['serverToken', 'browserToken']) expect(conn[key]).toMatch(/^1@/);
    client.acceptSecret(conn);
    expect((await client.push('Stream')).data).toEqual(['Stream', 'update', false, '2.2142.12']);
    expect((await client.push('Props')).data[1]).toMatchObject({
      imageMaxKBytes: 1024,
      maxParticipants: 257,
      videoMaxEdge: 960,
    });

    client.sendNode('q1', ['query', { type: 'contacts', epoch: '1' }, null], METRIC.queryContacts);
    const contacts = await client.binary('q1');
    expect(contacts.node[0]).toBe('response');
    expect(contacts.node[1]).toMatchObject({ type: 'contacts' });
    expect((contacts.node[2] as unknown[]).length).toBeGreaterThan(0);
    client.sendNode('q2', ['query', { type: 'chat', epoch: '1' }, null], METRIC.queryChat);
    const chats = await client.binary('q2');
    expect(chats.node[1]).toMatchObject({ type: 'chat' });
    client.sendNode(
      'q3',
      ['action', { type: 'set', epoch: '1' }, [['presence', { type: 'available' }, null]]],
      METRIC.presence,
      0xa0,
    );
    expect(await client.answer('q3')).toEqual({ status: 200 });
  });

  it('answers the 6th reref with 429 (five rerefs per socket)', async () => {
    const client = await connect();
    await client.init();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      await sleep(220);
      statuses.push(
        ((await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))) as { status: number })
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('refuses scans of expired, replaced, unknown and malformed refs', async () => {
    const client = await connect();
    const init = await client.init();
    await sleep(450);
    expect(
      (await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) })).status,
    ).toBe(410);
    const reref = (await client.answer(client.send(client.tag(), ['admin', 'Conn', 'reref']))) as {
      ref: string;
    };
    expect(
      (await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) })).status,
    ).toBe(410);
    expect(
      (await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText('1@nope') })).status,
    ).toBe(404);
    expect((await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: 'garbage' })).status).toBe(400);
    expect((await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, {})).status).toBe(400);
    expect(
      (await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(reref.ref) })).status,
    ).toBe(200);
  });

  it('sends upgrade_md_prod instead of Conn when the phone has multi-device on', async () => {
    expect((await http(emulator.url, 'PUT', `/phones/${PHONE}`, { multiDevice: true })).status).toBe(200);
    const client = await connect();
    const init = await client.init();
    const scan = await http(emulator.url, 'POST', `/phones/${PHONE}/scan`, { qr: client.qrText(init.ref) });
    expect(scan.body.result).toBe('upgrade_md_prod');
    expect((await client.push('Cmd')).data).toEqual([
      'Cmd',
      { type: 'upgrade_md_prod', version: '2.2126.11' },
    ]);
  });
});

describe('restoring a session', () => {
  it('logs in with takeover: Conn with rotated tokens first, then 200; the other socket is replaced', async () => {
    const { client: first, conn } = await pair();
    const second = await sameBrowser(first);
    const tag = await login(second, conn);
    const fresh = (await second.push('Conn')).data[1] as Record<string, unknown>;
    expect(fresh.secret).toBeUndefined();
    expect(fresh.clientToken).not.toBe(conn.clientToken);
    expect(fresh.serverToken).not.toBe(conn.serverToken);
    expect(await second.answer(tag)).toEqual({ status: 200 });
    expect((await first.push('Cmd')).data).toEqual(['Cmd', { type: 'disconnect', kind: 'replaced' }]);
    await first.waitClosed();
  });

  it('orders the Conn push before the login answer on the wire', async () => {
    const { client: first, conn } = await pair();
    first.close();
    const second = await sameBrowser(first);
    const tag = await login(second, conn);
    await second.answer(tag);
    const connAt = second.log.findIndex(
      (f) => f.kind === 'json' && Array.isArray(f.data) && f.data[0] === 'Conn',
    );
    const answerAt = second.log.findIndex((f) => f.kind === 'json' && f.tag === tag);
    expect(connAt).toBeGreaterThanOrEqual(0);
    expect(connAt).toBeLessThan(answerAt);
  });

  it('answers reconnect mode with 409 while another socket holds the session', async () => {
    const { client: first, conn } = await pair();
    const second = await sameBrowser(first);
    const tag = await login(second, conn, 'reconnect');
    expect(await second.answer(tag)).toEqual({ status: 409 });
    expect(first.closed).toBeNull();
  });

  it('answers a login re-sent on the same socket once, without rotating the tokens again', async () => {
    const { client: first, conn } = await pair();
    first.close();
    await http(emulator.url, 'POST', '/faults', { kind: 'delay', at: 'login', ms: 300 });
    const second = await sameBrowser(first);
    await second.init();
    const frame = ['admin', 'login', conn.clientToken, conn.serverToken, second.clientId, 'takeover'];
    const tag = second.send(second.tag(), frame);
    second.send(tag, frame);
    await second.answer(tag);
    await sleep(400);
    const conns = second.frames.filter(
      (f) => f.kind === 'json' && Array.isArray(f.data) && f.data[0] === 'Conn',
    );
    const answers = second.frames.filter((f) => f.kind === 'json' && f.tag === tag);
    expect(conns.length).toBe(1);
    expect(answers.length).toBe(0);
    expect(emulator.hub.stats.logins).toBe(1);
  });

  it('challenges stale tokens; the right HMAC gets 200 and a Conn, a wrong one 401', async () => {
    const { client: first, conn } = await pair();
    const second = await sameBrowser(first);
    await second.answer(await login(second, conn));
    second.close();
    // The first client still has the old tokens: they are stale now.
    const third = await sameBrowser(first);
    await login(third, conn);
    const challenge = (await third.push('Cmd')).data[1] as { type: string; challenge: string };
    expect(challenge.type).toBe('challenge');
    const wrong = third.send(third.tag(), [
      'admin',
      'challenge',
      toBase64(randomBytes(32)),
      conn.serverToken,
      third.clientId,
    ]);
    expect(await third.answer(wrong)).toEqual({ status: 401 });

    const fourth = await sameBrowser(first);
    await login(fourth, conn);
    const bytes = fromBase64(((await fourth.push('Cmd')).data[1] as { challenge: string }).challenge);
    const right = fourth.send(fourth.tag(), [
      'admin',
      'challenge',
      toBase64(challengeAnswer(first.keys!.macKey, bytes)),
      conn.serverToken,
      fourth.clientId,
    ]);
    expect(await fourth.answer(right)).toEqual({ status: 200 });
    expect(((await fourth.push('Conn')).data[1] as Record<string, unknown>).wid).toBe(`${PHONE}@c.us`);
  });

  it('challenges on demand (fault) with current tokens', async () => {
    const { client: first, conn } = await pair();
    await http(emulator.url, 'POST', '/faults', { kind: 'challenge' });
    const second = await sameBrowser(first);
    await login(second, conn);
    expect(((await second.push('Cmd')).data[1] as { type: string }).type).toBe('challenge');
  });

  it.each([400, 401, 403, 405, 409, 419, 500])(
    'answers a login with the injected status %i',
    async (status) => {
      const { client: first, conn } = await pair();
      await http(emulator.url, 'POST', '/faults', { kind: 'loginStatus', status });
      const second = await sameBrowser(first);
      expect(await second.answer(await login(second, conn))).toMatchObject({ status });
    },
  );

  it('answers 401 for unknown tokens, 403 with tos 2 for a blocked account, 405 for a second login', async () => {
    const { client: first, conn } = await pair();
    const unknown = await sameBrowser(first);
    expect(await unknown.answer(await login(unknown, { clientToken: 'x', serverToken: 'y' }))).toEqual({
      status: 401,
    });

    const again = await sameBrowser(first);
    const tag = await login(again, conn);
    const fresh = (await again.push('Conn')).data[1] as Record<string, unknown>;
    expect(await again.answer(tag)).toEqual({ status: 200 });
    const twice = again.sendLogin(fresh);
    expect(await again.answer(twice)).toEqual({ status: 405 });

    await http(emulator.url, 'PUT', `/phones/${PHONE}`, { tosBlocked: true });
    const blocked = await sameBrowser(first);
    expect(await blocked.answer(await login(blocked, fresh))).toEqual({ status: 403, tos: 2 });
  });

  it('logs out with goodbye, closes, and forgets the session: its tokens then get 401', async () => {
    const { client, conn } = await pair();
    client.send('goodbye', ['admin', 'Conn', 'disconnect'], true);
    expect(await client.answer('goodbye')).toEqual({ status: 200 });
    await client.waitClosed();
    const again = await sameBrowser(client);
    expect(await again.answer(await login(again, conn))).toEqual({ status: 401 });
  });

  it('tells a linked browser it was unlinked by the phone and closes it', async () => {
    const { client } = await pair();
    expect((await http(emulator.url, 'POST', `/phones/${PHONE}/unlink`)).body).toEqual({ unlinked: 1 });
    expect((await client.push('Cmd')).data).toEqual(['Cmd', { type: 'disconnect' }]);
    await client.waitClosed();
  });
});

describe('messages and media', () => {
  it('pushes a text message as action add:relay with a real WebMessageInfo', async () => {
    const { client } = await pair();
    const sent = await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '4917000000001@c.us',
      text: 'hallo walink',
    });
    expect(sent.status).toBe(200);
    expect(sent.body.delivered).toBe(1);
    const { tag, node } = await client.binary();
    expect(tag).toMatch(/^\d+-\d+$/);
    expect(node[0]).toBe('action');
    expect(node[1]).toEqual({ add: 'relay' });
    const info = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]);
    expect(info.key).toEqual({
      remoteJid: toProtoJid('4917000000001@c.us'),
      fromMe: false,
      id: sent.body.id,
    });
    expect(info.message?.conversation).toBe('hallo walink');
  });

  it('pushes an image whose CDN bytes decrypt to exactly what was sent', async () => {
    const { client } = await pair();
    const picture = randomBytes(5000);
    const sent = await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '4917000000001@c.us',
      media: { type: 'image', base64: toBase64(picture), mimetype: 'image/jpeg' },
    });
    expect(sent.status).toBe(200);
    const { node } = await client.binary();
    const image = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]).message!
      .imageMessage!;
    expect(image.url!.startsWith(emulator.url)).toBe(true);
    expect(image.directPath).toMatch(/^\/d\/f\/[0-9a-f]{32}\.enc$/);
    const object = new Uint8Array(await (await fetch(image.url!)).arrayBuffer());
    const plain = decryptMedia(object, image.mediaKey!, 'image', image);
    expect(Buffer.compare(plain, picture)).toBe(0);
    const viaMms = new Uint8Array(
      await (await fetch(`${emulator.url}/mms/image/${image.directPath!.slice(5, 37)}`)).arrayBuffer(),
    );
    expect(Buffer.compare(viaMms, object)).toBe(0);
  });

  it('gives video and audio a streaming sidecar, and re-uploads expired media on a media query', async () => {
    const { client } = await pair();
    const sent = await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
      from: '4917000000001@c.us',
      media: { type: 'video', base64: toBase64(randomBytes(70_000)), mimetype: 'video/mp4' },
    });
    const { node } = await client.binary();
    const video = decodeWebMessageInfo((node[2] as [string, null, Uint8Array][])[0]![2]).message!
      .videoMessage!;
    expect(video.streamingSidecar!.length).toBe(20);
    client.sendNode(
      'm1',
      [
        'query',
        { type: 'media', index: sent.body.id, owner: 'false', jid: '4917000000001@c.us', epoch: '2' },
        null,
      ],
      METRIC.queryMedia,
    );
    const answer = await client.binary('m1');
    expect(answer.node[1]).toMatchObject({ type: 'media', code: '200' });
    expect(answer.node[1]!.url).not.toBe(video.url);
    const object = new Uint8Array(await (await fetch(answer.node[1]!.url!)).arrayBuffer());
    expect(decryptMedia(object, video.mediaKey!, 'video', video).length).toBe(70_000);
  });

  it('acks a relayed message `<id>,` then `<id>,{"status":200,"t":…}` and lists it under /sent', async () => {
    const { client } = await pair();
    const { encodeWebMessageInfo } = await import('../../codec/index.ts');
    const id = '3EB0ABCDEF0123456789';
    const info = encodeWebMessageInfo({
      key: { remoteJid: '4917000000001@s.whatsapp.net', fromMe: true, id },
      message: { conversation: 'from the browser' },
      messageTimestamp: 1,
    });
    client.sendNode(id, ['action', { type: 'relay', epoch: '3' }, [['message', null, info]]], METRIC.message);
    await client.next((f) => f.kind === 'ack' && f.tag === id);
    expect(await client.answer(id)).toMatchObject({ status: 200, t: expect.any(Number) });
    const sent = await http(emulator.url, 'GET', `/phones/${PHONE}/sent`);
    expect(sent.body.sent).toEqual([
      expect.objectContaining({
        id,
        to: '4917000000001@c.us',
        text: 'from the browser',
        type: 'conversation',
      }),
    ]);
  });

  it('validates phone API bodies with clear 4xx answers', async () => {
    expect((await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, { text: 'no from' })).status).toBe(
      400,
    );
    expect(
      (
        await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, {
          from: '1@c.us',
          media: { type: 'gif', base64: 'AA==' },
        })
      ).status,
    ).toBe(400);
    expect((await http(emulator.url, 'POST', `/phones/${PHONE}/messages`, '{not json')).status).toBe(400);
    expect((await http(emulator.url, 'PUT', `/phones/${PHONE}`, { multiDevice: 'yes' })).status).toBe(400);
    expect((await http(emulator.url, 'GET', '/phones/12/scan')).status).toBe(404);
    expect((await http(emulator.url, 'POST', '/faults', { kind: 'nonsense' })).status).toBe(400);
  });
});
