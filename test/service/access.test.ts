// Who may use `walink serve`'s API: the Host header (DNS rebinding), Origin and Sec-Fetch-Site (other
// pages), the token (bearer or cookie), JSON bodies only; the token file; --no-auth on loopback only;
// and the limits: half-sent requests, malformed paths, prototype names, the session cap.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/index.ts';
import {
  AccessConfigError,
  ApiTokenError,
  type HttpService,
  type HttpServiceOptions,
  loadOrCreateApiToken,
  SessionService,
  startHttpService,
} from '../../service/index.ts';
import { InProcessMediaQueue } from '../../workers/queues/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { tempDir } from '../support/media.ts';
import { emulator } from '../support/session-harness.ts';

const TOKEN = 'access-test-token-0123456789abcdefghijklmnop';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (fetch would not let a test forge Host). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    // An answer that never ends (a stream let through) fails the test instead of hanging it.
    req.setTimeout(5_000, () => req.destroy(new Error(`no whole answer to ${method} ${path} in 5 s`)));
    req.end(body);
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };

let sharedEmulator: Emulator;
beforeAll(async () => {
  sharedEmulator = await emulator();
});
afterAll(() => sharedEmulator.close());

async function serve(
  extra: Partial<HttpServiceOptions> = {},
  serviceOptions: { maxSessions?: number } = {},
): Promise<{ http: HttpService; service: SessionService; host: string; dir: string }> {
  const server = sharedEmulator;
  const dir = tempDir('walink-access-');
  const queue = new InProcessMediaQueue({ mediaDir: join(dir.path, 'media') });
  const service = new SessionService({
    wsUrl: server.wsUrl,
    sessionsDir: join(dir.path, 'sessions'),
    queue,
    ...serviceOptions,
  });
  const http = await startHttpService({
    service,
    info: { server: server.wsUrl, emulator: server.url, queue: 'in-process' },
    token: TOKEN,
    ...extra,
  });
  cleanups.push(async () => {
    await http.close();
    await service.close();
    await queue.close();
    dir.remove();
  });
  return { http, service, host: new URL(http.url).host, dir: dir.path };
}

describe('the API token', () => {
  it('is needed for every API request, as a bearer header or the cookie the page signs in for', async () => {
    const { http, service, host } = await serve();
    for (const path of [
      '/api/info',
      '/api/sessions',
      '/api/events',
      '/api/jobs',
      '/api/machines/session/structure',
    ]) {
      expect((await raw(http.url, 'GET', path, { host })).status, path).toBe(401);
    }
    expect((await raw(http.url, 'GET', '/api/info', { host, authorization: 'Bearer wrong' })).status).toBe(
      401,
    );
    expect((await raw(http.url, 'POST', '/api/sessions', { host, ...json }, '{"name":"x"}')).status).toBe(
      401,
    );
    expect(service.list()).toEqual([]);
    expect((await raw(http.url, 'GET', '/api/info', { host, ...bearer })).status).toBe(200);

    // The page itself holds no data and loads without it.
    expect((await raw(http.url, 'GET', '/', { host })).status).toBe(200);
    expect((await raw(http.url, 'GET', '/static/app.js', { host })).status).toBe(200);

    // Signing in trades the token for an HttpOnly, SameSite=Strict cookie on /.
    expect((await raw(http.url, 'POST', '/api/login', { host, ...json }, `{"token":"nope"}`)).status).toBe(
      401,
    );
    const signedIn = await raw(
      http.url,
      'POST',
      '/api/login',
      { host, ...json },
      JSON.stringify({ token: TOKEN }),
    );
    expect(signedIn.status).toBe(200);
    const cookie = String(signedIn.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    const pair = cookie.split(';')[0]!;
    expect(pair).toBe(`walink_${new URL(http.url).port}=${TOKEN}`);
    expect((await raw(http.url, 'GET', '/api/info', { host, cookie: `other=1; ${pair}` })).status).toBe(200);
  });

  it('is made once, kept in a 0600 file written whole, and the same for starts at once', async () => {
    const dir = tempDir('walink-token-');
    cleanups.push(() => dir.remove());
    const file = join(dir.path, 'api-token');
    const tokens = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateApiToken(file)));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8')).toBe(`${tokens[0]}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No temporary file is left behind.
    expect(dir.files()).toEqual(['api-token']);
    expect(await loadOrCreateApiToken(file)).toBe(tokens[0]);

    writeFileSync(file, 'short\n', { mode: 0o600 });
    await expect(loadOrCreateApiToken(file)).rejects.toMatchObject({
      name: 'ApiTokenError',
      code: 'WALINK_API_TOKEN_INVALID',
    });
    await expect(loadOrCreateApiToken(file)).rejects.toBeInstanceOf(ApiTokenError);
  });

  it('can be left out only on loopback: walink serve --no-auth --host 0.0.0.0 does not start', () => {
    const dir = tempDir('walink-noauth-');
    cleanups.push(() => dir.remove());
    const home = join(dir.path, 'home');
    const run = spawnSync(
      process.execPath,
      [...walinkArgs(), 'serve', '--no-auth', '--host', '0.0.0.0', '--port', '0', '--home', home],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'walink serve: --no-auth is only for a loopback --host (127.0.0.1, ::1, localhost), not 0.0.0.0',
    ]);
    expect(existsSync(home)).toBe(false);
  });

  it('can be left out only on loopback (--no-auth)', async () => {
    await expect(serve({ token: null, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'WALINK_NO_AUTH_NOT_LOOPBACK',
    });
    await expect(serve({ token: null, host: '0.0.0.0' })).rejects.toBeInstanceOf(AccessConfigError);
    const { http, host } = await serve({ token: null });
    expect((await raw(http.url, 'GET', '/api/info', { host })).status).toBe(200);
    // Without a token the other checks still hold.
    expect((await raw(http.url, 'GET', '/api/info', { host: 'evil.example' })).status).toBe(421);
    expect(
      (await raw(http.url, 'POST', '/api/sessions', { host, 'content-type': 'text/plain' }, '{}')).status,
    ).toBe(415);
  });
});

describe('requests from other pages', () => {
  it('refuses a state change whose Origin is not the page’s own, or that another site sent', async () => {
    const { http, service, host } = await serve();
    const create = (headers: Record<string, string>) =>
      raw(http.url, 'POST', '/api/sessions', { host, ...bearer, ...json, ...headers }, '{"name":"x"}');
    const port = new URL(http.url).port;
    for (const origin of ['http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, 'null']) {
      expect((await create({ origin })).status, origin).toBe(403);
    }
    for (const site of ['cross-site', 'same-site']) {
      expect((await create({ 'sec-fetch-site': site })).status, site).toBe(403);
    }
    expect(service.list()).toEqual([]);
    // Reads from another page's fetch are refused too (they would show QR codes and messages).
    expect(
      (await raw(http.url, 'GET', '/api/sessions', { host, ...bearer, 'sec-fetch-site': 'cross-site' }))
        .status,
    ).toBe(403);

    expect((await create({ origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect(service.list().map((s) => s.name)).toEqual(['x']);
  });

  it('accepts only JSON bodies for state changes (text/plain, forms and multipart are 415)', async () => {
    const { http, service, host } = await serve();
    const bodies: [string, string][] = [
      ['text/plain;charset=UTF-8', '{"name":"x"}'],
      ['application/x-www-form-urlencoded', 'name=x'],
      [
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
      ],
    ];
    for (const [type, body] of bodies) {
      expect(
        (await raw(http.url, 'POST', '/api/sessions', { host, ...bearer, 'content-type': type }, body))
          .status,
        type,
      ).toBe(415);
    }
    // A POST without any body or type is what a no-cors fetch sends: refused as well.
    expect((await raw(http.url, 'POST', '/api/sessions', { host, ...bearer })).status).toBe(415);
    expect(service.list()).toEqual([]);
    expect(
      (
        await raw(
          http.url,
          'POST',
          '/api/sessions',
          { host, ...bearer, 'content-type': 'application/json; charset=utf-8' },
          '{"name":"y"}',
        )
      ).status,
    ).toBe(201);
    // A DELETE needs no body.
    expect((await raw(http.url, 'DELETE', '/api/sessions/y', { host, ...bearer })).status).toBe(200);
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('is one of the names the service listens on, or an --allowed-host', async () => {
    const { http, host } = await serve({ allowedHosts: ['walink.example', 'other.example:8443'] });
    const port = new URL(http.url).port;
    const status = async (hostHeader: string, path = '/api/info') =>
      (await raw(http.url, 'GET', path, { host: hostHeader, ...bearer })).status;
    // A page on rebind.evil that now resolves to 127.0.0.1 sends its own name.
    expect(await status(`rebind.evil:${port}`)).toBe(421);
    expect(await status(`rebind.evil:${port}`, '/')).toBe(421);
    expect(await status(`rebind.evil:${port}`, '/api/events')).toBe(421);
    expect(await status(`127.0.0.1:${Number(port) + 1}`)).toBe(421);
    expect(await status('other.example:8444')).toBe(421);
    for (const ok of [
      host,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      'walink.example',
      'walink.example:443',
      'other.example:8443',
    ]) {
      expect(await status(ok), ok).toBe(200);
    }
    await expect(serve({ allowedHosts: ['a/b'] })).rejects.toMatchObject({
      code: 'WALINK_ALLOWED_HOST_INVALID',
    });
  });
});

describe('limits and odd requests', () => {
  it('closes a connection whose request never completes, after the headers timeout', async () => {
    const { http } = await serve({ headersTimeoutMs: 300 });
    const url = new URL(http.url);
    const closedAfter = (data: string) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const socket = connect(Number(url.port), url.hostname, () => socket.write(data));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        socket.on('error', reject);
        setTimeout(() => reject(new Error('still open after 5 s')), 5_000).unref();
      });
    const [half, idle] = await Promise.all([
      closedAfter(`GET /api/info HTTP/1.1\r\nHost: ${url.host}\r\n`),
      closedAfter(''),
    ]);
    expect(half).toBeLessThan(2_000);
    expect(idle).toBeLessThan(2_000);
  });

  it('needs the token for the live stream, and forgets a client once it has gone', async () => {
    const { http, host } = await serve({ events: { heartbeatMs: 20 } });
    expect((await raw(http.url, 'GET', '/api/events', { host })).status).toBe(401);
    const controller = new AbortController();
    const stream = await fetch(`${http.url}/api/events`, { headers: bearer, signal: controller.signal });
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes(': keep-alive')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text.startsWith('event: hello\n')).toBe(true);
    expect(http.events.size).toBe(1);
    controller.abort();
    const deadline = Date.now() + 5_000;
    while (http.events.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(http.events.size).toBe(0);
  });

  it('answers 400 for a malformed percent-encoding and 404 for prototype names', async () => {
    const { http, host } = await serve();
    const get = async (path: string) => (await raw(http.url, 'GET', path, { host, ...bearer })).status;
    expect(await get('/api/sessions/%E0%A4%A')).toBe(400);
    expect(await get('/%')).toBe(400);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(await get(`/api/machines/${name}/diagram.svg`), name).toBe(404);
      expect(await get(`/api/machines/${name}/structure`), name).toBe(404);
      expect(await get(`/api/sessions/${name}`), name).toBe(404);
    }
  });

  it('takes at most --max-sessions sessions, and restores no more than that', async () => {
    const { http, service, host, dir } = await serve({}, { maxSessions: 2 });
    const create = (name: string) =>
      raw(http.url, 'POST', '/api/sessions', { host, ...bearer, ...json }, JSON.stringify({ name }));
    expect((await create('a')).status).toBe(201);
    expect((await create('b')).status).toBe(201);
    const third = await create('c');
    expect(third.status).toBe(409);
    expect(JSON.parse(third.body).error).toMatch(/--max-sessions/);
    expect(service.list().map((s) => s.name)).toEqual(['a', 'b']);

    // A restarted service over a directory with more credential files restores up to the cap.
    mkdirSync(join(dir, 'sessions'), { recursive: true });
    const key = Buffer.alloc(32, 1).toString('base64');
    const credentials = { version: 1, encKey: key, macKey: key, wid: '491500000000@c.us' };
    for (const field of ['clientId', 'clientToken', 'serverToken', 'browserToken'])
      Object.assign(credentials, { [field]: `unknown-${field}` });
    for (const name of ['p', 'q', 'r'])
      writeFileSync(join(dir, 'sessions', `${name}.json`), JSON.stringify(credentials), { mode: 0o600 });
    const fresh = new SessionService({
      wsUrl: sharedEmulator.wsUrl,
      sessionsDir: join(dir, 'sessions'),
      queue: new InProcessMediaQueue({ mediaDir: join(dir, 'media') }),
      maxSessions: 2,
    });
    cleanups.push(() => fresh.close());
    expect(await fresh.restoreAll()).toEqual({ restored: ['p', 'q'], skipped: ['r'] });
    expect(fresh.list().map((s) => s.name)).toEqual(['p', 'q']);
  });
});
