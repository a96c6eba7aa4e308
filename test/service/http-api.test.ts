// The service's HTTP API without a browser: validation, QR images, redaction, live updates over SSE,
// restoring sessions after a restart, and the Stately bridge's sanitizing.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Emulator } from '../../emulator/index.ts';
import { SessionService, startHttpService, startStatelyBridge } from '../../service/index.ts';
import { InProcessMediaQueue, openMediaQueue } from '../../workers/queues/index.ts';
import { tempDir } from '../support/media.ts';
import { http as plainHttp } from '../support/raw-client.ts';
import { startRedis } from '../support/redis.ts';
import { cleanupsAfterEach, serviceAt as startServiceAt, untilDefined } from '../support/service-api.ts';
import { emulator } from '../support/session-harness.ts';

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuvwxyz';

/** The service's API as a script calls it: JSON, with the bearer token. */
async function http(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // SVG and other text stays text.
  }
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  return { status: response.status, body: parsed as any };
}

const authorized = { headers: { authorization: `Bearer ${TOKEN}` } };

const cleanups = cleanupsAfterEach();

const serviceAt = (dir: string, server: Emulator) => startServiceAt(dir, server, { cleanups, token: TOKEN });

const until = <T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000) =>
  untilDefined(probe, timeoutMs);

describe('the service API', () => {
  it('validates requests and answers 4xx with a message', async () => {
    const server = await emulator();
    cleanups.push(() => server.close());
    const dir = tempDir('walink-api-');
    cleanups.push(() => dir.remove());
    const { api } = await serviceAt(dir.path, server);

    expect((await http(api.url, 'POST', '/api/sessions', { name: 'no spaces' })).status).toBe(400);
    expect((await http(api.url, 'POST', '/api/sessions', '{broken')).status).toBe(400);
    expect((await http(api.url, 'POST', '/api/sessions', { name: 'a' })).status).toBe(201);
    const duplicate = await http(api.url, 'POST', '/api/sessions', { name: 'a' });
    expect(duplicate).toMatchObject({ status: 409, body: { error: 'a session named a exists' } });
    // Two creates of one name at once: one wins, the other is told.
    const racing = await Promise.all([
      http(api.url, 'POST', '/api/sessions', { name: 'twin' }),
      http(api.url, 'POST', '/api/sessions', { name: 'twin' }),
    ]);
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(
      ((await http(api.url, 'GET', '/api/sessions')).body.sessions as { name: string }[]).map((s) => s.name),
    ).toEqual(['a', 'twin']);
    expect((await http(api.url, 'GET', '/api/sessions/nobody')).status).toBe(404);
    expect((await http(api.url, 'POST', '/api/sessions/nobody/logout')).status).toBe(404);
    expect((await http(api.url, 'GET', '/api/machines/nothing/diagram.svg')).status).toBe(404);
    expect((await http(api.url, 'GET', '/static/../package.json')).status).toBe(404);
    expect((await http(api.url, 'PUT', '/api/sessions')).status).toBe(405);
  });

  it('draws the session machine with its resting states in one column, and names what each edge draws', async () => {
    const server = await emulator();
    cleanups.push(() => server.close());
    const dir = tempDir('walink-api-');
    cleanups.push(() => dir.remove());
    const { api } = await serviceAt(dir.path, server);

    const svg = (await http(api.url, 'GET', '/api/machines/session/diagram.svg')).body as string;
    const centreX = (state: string) => {
      const match = new RegExp(`<g id="state:${state}" class="node">[\\s\\S]*?<text[^>]* x="([\\d.]+)"`).exec(
        svg,
      );
      return Number(match?.[1]);
    };
    const column = ['loggedOut', 'failed', 'conflict', 'refsExhausted'].map(centreX);
    expect(column.every((x) => Number.isFinite(x))).toBe(true);
    expect(new Set(column).size).toBe(1);

    // The page lights an edge by the transitions it draws: each id names one edge per target.
    const structure = (await http(api.url, 'GET', '/api/machines/session/structure')).body as {
      transitions: { id: string; source: string; targets: string[] }[];
      edges: { id: string; transitionIds: string[] }[];
    };
    const rerefing = structure.edges.filter((e) => e.id.startsWith('edge:online.qr.rerefing~'));
    expect(rerefing.map((e) => e.id).sort()).toEqual([
      'edge:online.qr.rerefing~online.qr.kept',
      'edge:online.qr.rerefing~online.qr.showing',
      'edge:online.qr.rerefing~reconnecting',
      'edge:online.qr.rerefing~refsExhausted',
    ]);
    for (const transition of structure.transitions) {
      const drawnBy = structure.edges.filter((e) => e.transitionIds.includes(transition.id)).map((e) => e.id);
      expect(drawnBy.sort()).toEqual(transition.targets.map((t) => `edge:${transition.source}~${t}`).sort());
      for (const id of drawnBy) expect(svg).toContain(`id="${id}"`);
    }
  });

  it('serves the QR code as an SVG image, streams updates, and restores sessions after a restart', async () => {
    const server = await emulator();
    cleanups.push(() => server.close());
    const dir = tempDir('walink-api-');
    cleanups.push(() => dir.remove());
    const first = await serviceAt(dir.path, server);

    // Live updates: the stream starts with the whole picture, then every change.
    const stream = await fetch(`${first.api.url}/api/events`, authorized);
    const reader = stream.body!.getReader();
    let received = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        received += new TextDecoder().decode(value);
      }
    })();
    cleanups.push(() => reader.cancel().catch(() => undefined));

    await http(first.api.url, 'POST', '/api/sessions', { name: 'alice' });
    const qr = await until(async () => {
      const view = (await http(first.api.url, 'GET', '/api/sessions/alice')).body;
      return view.qr ?? undefined;
    });
    const image = await fetch(`${first.api.url}/api/sessions/alice/qr.svg`, authorized);
    expect(image.headers.get('content-type')).toBe('image/svg+xml');
    expect(await image.text()).toMatch(/^<svg[^>]*viewBox/);
    // By its ref the image is cacheable; a ref no longer shown is gone.
    const byRef = await fetch(
      `${first.api.url}/api/sessions/alice/qr.svg?ref=${encodeURIComponent(qr.ref)}`,
      authorized,
    );
    expect(byRef.headers.get('cache-control')).toContain('immutable');
    expect(await byRef.text()).toMatch(/^<svg[^>]*viewBox/);
    expect((await http(first.api.url, 'GET', '/api/sessions/alice/qr.svg?ref=old')).status).toBe(404);

    const scanned = await http(first.api.url, 'POST', '/api/sessions/alice/scan', {});
    expect(scanned.body).toMatchObject({ scanned: 'alice', wid: '491511112222@c.us' });
    await until(async () =>
      (await http(first.api.url, 'GET', '/api/sessions/alice')).body.state === 'online.ready'
        ? true
        : undefined,
    );
    // The credential write follows the transition.
    const file = join(dir.path, 'sessions', 'alice.json');
    await until(() => (existsSync(file) ? true : undefined));
    expect(statSync(file).mode & 0o777).toBe(0o600);

    await until(() => (received.includes('"state":"online.ready"') ? true : undefined));
    expect(received.startsWith('event: hello\n')).toBe(true);
    expect(received).toContain('"type":"transition"');
    expect(received).toContain('online.qr server.conn#0');
    // Nothing secret travels: not the pairing secret's holder fields, not the tokens.
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const secrets = Object.entries(flatStrings(stored)).filter(([path]) =>
      /(encKey|macKey|Token)$/.test(path),
    );
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const [, secret] of secrets) expect(received).not.toContain(secret);
    expect(qr.text).toContain(',');

    // A new service over the same directory restores alice by login: no QR code this time.
    await first.api.close();
    await first.service.close();
    const second = await serviceAt(dir.path, server);
    const restored = await second.service.restoreAll();
    expect(restored).toEqual({ restored: ['alice'], skipped: [] });
    await until(() => (second.service.view('alice')?.state === 'online.ready' ? true : undefined));
    const events = second.service.events('alice').map((e) => e.type);
    expect(events).toContain('login.result');
    expect(events).not.toContain('reref.result');
  });
});

function flatStrings(value: unknown, out: Record<string, string> = {}, prefix = ''): Record<string, string> {
  if (typeof value === 'string') out[prefix] = value;
  else if (value && typeof value === 'object')
    for (const [key, child] of Object.entries(value)) flatStrings(child, out, `${prefix}.${key}`);
  return out;
}

describe('the queue dashboard', () => {
  it('shows Redis job counts and jobs a session queued, with the job key kept out of the page', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.remove());
    const server = await emulator();
    cleanups.push(() => server.close());
    const dir = tempDir('walink-dash-');
    cleanups.push(() => dir.remove());
    const jobKey = Buffer.alloc(32, 5).toString('base64');
    const previous = process.env.WALINK_JOB_KEY;
    process.env.WALINK_JOB_KEY = jobKey;
    cleanups.push(() => {
      if (previous === undefined) delete process.env.WALINK_JOB_KEY;
      else process.env.WALINK_JOB_KEY = previous;
    });
    const opened = await openMediaQueue({ mediaDir: join(dir.path, 'media'), redisUrl: redis.url });
    expect(opened.kind).toBe('redis');
    const service = new SessionService({
      wsUrl: server.wsUrl,
      sessionsDir: join(dir.path, 'sessions'),
      queue: opened.queue,
    });
    const api = await startHttpService({
      service,
      info: { server: server.wsUrl, emulator: server.url, queue: opened.kind },
      queueCounts: opened.counts,
      token: TOKEN,
    });
    cleanups.push(async () => {
      await api.close();
      await service.close();
      await opened.queue.close();
    });

    await service.create('carol');
    const qr = await until(() => service.view('carol')?.qr ?? undefined);
    await plainHttp(server.url, 'POST', '/phones/491511112222/scan', { qr: qr.text });
    await until(() => (service.view('carol')?.state === 'online.ready' ? true : undefined));
    await plainHttp(server.url, 'POST', '/phones/491511112222/messages', {
      from: '491700000002@c.us',
      media: { type: 'image', base64: Buffer.alloc(2_000, 1).toString('base64'), mimetype: 'image/jpeg' },
    });
    // No worker runs here: the job waits in Redis, and the dashboard says so.
    const jobs = await until(async () => {
      const answer = (await http(api.url, 'GET', '/api/jobs')).body;
      return answer.counts?.waiting === 1 && answer.jobs.length === 1 ? answer : undefined;
    });
    expect(jobs.jobs[0]).toMatchObject({ session: 'carol', state: 'queued' });
    expect(JSON.stringify(jobs)).not.toContain(jobKey);
  });
});

describe('the Stately bridge', () => {
  it('sends inspection events with secrets redacted and only public context', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const messages: string[] = [];
    wss.on('connection', (socket) => socket.on('message', (data) => messages.push(String(data))));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const { port } = wss.address() as { port: number };
    const bridge = startStatelyBridge(`ws://127.0.0.1:${port}`);
    cleanups.push(() => bridge.stop());

    const server = await emulator();
    cleanups.push(() => server.close());
    const dir = tempDir('walink-stately-');
    cleanups.push(() => dir.remove());
    const queue = new InProcessMediaQueue({ mediaDir: join(dir.path, 'media') });
    const service = new SessionService({
      wsUrl: server.wsUrl,
      sessionsDir: join(dir.path, 'sessions'),
      queue,
      inspect: bridge.inspect,
    });
    cleanups.push(async () => {
      await service.close();
      await queue.close();
    });
    await service.create('bob');
    const qr = await until(() => service.view('bob')?.qr ?? undefined);
    await plainHttp(server.url, 'POST', '/phones/491511112222/scan', { qr: qr.text });
    await until(() => (service.view('bob')?.state === 'online.ready' ? true : undefined));
    await until(() => (messages.some((m) => m.includes('"server.conn"')) ? true : undefined));

    const all = messages.join('\n');
    expect(all).toContain('[redacted]');
    expect(all).not.toMatch(/"(encKey|macKey|privateKey)":"(?!\[redacted\])/);
    // The pairing key pair is drawn inside the session (a fresh one per attempt), so it is in no input;
    // the session keys of the use.keys command are, redacted.
    expect(all).not.toContain('privateKey');
    expect(all).toContain('"encKey":"[redacted]"');
    expect(all).not.toContain('"credentials":{"');
  });
});
