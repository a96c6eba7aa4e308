// The service's API with multi-device sessions (docs/protocol-md.md) beside legacy ones, against the
// embedded emulator's MD server: create with `protocol: 'md'`, the QR image, a pair code asked for by
// phone number and typed by the emulator's phone, a QR scanned by it, ready, restore by login after a
// restart, logout; the MD machine's diagram; the same token and JSON-only protections as for legacy.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { type HttpService, SessionService } from '../../service/index.ts';
import { InProcessMediaQueue } from '../../workers/queues/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { tempDir } from '../support/media.ts';
import { cleanupsAfterEach, serviceAt as startServiceAt, untilDefined } from '../support/service-api.ts';

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuvwxyz';
const PHONE = '15551234567';

async function http(base: string, method: string, path: string, body?: unknown, token = TOKEN) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // SVG stays text.
  }
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field
  return { status: response.status, body: parsed as any, type: response.headers.get('content-type') };
}

const cleanups = cleanupsAfterEach();

async function mdEmulator(): Promise<Emulator> {
  const server = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    md: { firstFrameDelayMs: 1, streamErrorCloseMs: 5 },
  });
  cleanups.push(() => server.close());
  return server;
}

const serviceAt = (dir: string, server: Emulator) =>
  startServiceAt(dir, server, { cleanups, token: TOKEN, md: true });

const until = <T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000) =>
  untilDefined(probe, timeoutMs);

const viewOf = async (api: HttpService, name: string) =>
  (await http(api.url, 'GET', `/api/sessions/${name}`)).body;
const inState = (api: HttpService, name: string, tag: string) =>
  until(async () => {
    const view = await viewOf(api, name);
    return view.tags.includes(tag) ? view : undefined;
  });

describe('multi-device sessions in the service API', () => {
  it('pairs an MD session by a code the emulator phone types, beside a legacy session, and logs it out', async () => {
    const server = await mdEmulator();
    const dir = tempDir('walink-md-api-');
    cleanups.push(() => dir.remove());
    const { api } = await serviceAt(dir.path, server);

    expect((await http(api.url, 'POST', '/api/sessions', { name: 'x', protocol: 'nope' })).status).toBe(400);
    const created = await http(api.url, 'POST', '/api/sessions', { name: 'mdcode', protocol: 'md' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'mdcode',
      protocol: 'md',
      machine: 'md-session',
      pairCode: null,
    });
    const legacy = await http(api.url, 'POST', '/api/sessions', { name: 'old' });
    expect(legacy.body).toMatchObject({ protocol: 'legacy', machine: 'session' });

    // The QR image, as for legacy.
    const shown = await inState(api, 'mdcode', 'needsScan');
    expect(shown.qr.text.startsWith('https://wa.me/settings/linked_devices#')).toBe(true);
    const image = await http(
      api.url,
      'GET',
      `/api/sessions/mdcode/qr.svg?ref=${encodeURIComponent(shown.qr.ref)}`,
    );
    expect(image.type).toBe('image/svg+xml');
    expect(image.body).toMatch(/^<svg[^>]*viewBox/);

    // Pair-code requests: a bad number, a legacy session, the token and JSON checks.
    const bad = await http(api.url, 'POST', '/api/sessions/mdcode/pair-code', { phone: '0123' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^phone: /);
    expect(
      (await http(api.url, 'POST', '/api/sessions/mdcode/pair-code', { phone: 15551234567 })).status,
    ).toBe(400);
    expect((await http(api.url, 'POST', '/api/sessions/old/pair-code', { phone: PHONE })).status).toBe(409);
    expect((await http(api.url, 'POST', '/api/sessions/mdcode/pair-code', { phone: PHONE }, '')).status).toBe(
      401,
    );
    const plain = await fetch(`${api.url}/api/sessions/mdcode/pair-code`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ phone: PHONE }),
    });
    expect(plain.status).toBe(415);
    // Nothing to type yet.
    expect((await http(api.url, 'POST', '/api/sessions/mdcode/type-code')).status).toBe(409);

    // The code comes once the server accepted companion_hello; the view shows it with its expiry.
    const before = Date.now();
    const code = await http(api.url, 'POST', '/api/sessions/mdcode/pair-code', { phone: `+${PHONE}` });
    expect(code.status).toBe(200);
    expect(code.body.code).toMatch(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/);
    expect(code.body).toMatchObject({ phone: PHONE, ttl: 180_000 });
    expect(code.body.expiresAt).toBeGreaterThanOrEqual(before + 180_000);
    const waiting = await inState(api, 'mdcode', 'needsCode');
    expect(waiting.pairCode).toEqual(code.body);

    // The emulator's phone of that number types it: paired, 515, login, ready.
    const typed = await http(api.url, 'POST', '/api/sessions/mdcode/type-code');
    expect(typed.body).toEqual({ typed: 'mdcode', phone: PHONE, wid: `${PHONE}:1@s.whatsapp.net` });
    const ready = await inState(api, 'mdcode', 'ready');
    expect(ready).toMatchObject({ wid: `${PHONE}:1@s.whatsapp.net`, pairCode: null, qr: null });
    const file = join(dir.path, 'sessions', 'mdcode.md.json');
    await until(() => (existsSync(file) ? true : undefined));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The event log saw the pairing and keeps the secrets out.
    const events = (await http(api.url, 'GET', '/api/sessions/mdcode/events')).body.events as {
      type: string;
      payload: unknown;
    }[];
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['server.pairSuccess', 'server.success']),
    );
    expect(JSON.stringify(events)).not.toMatch(/"(privateKey|advSecret)":"(?!\[redacted\])/);

    // A code for a session that is no longer pairing is refused with the machine's reason.
    const late = await http(api.url, 'POST', '/api/sessions/mdcode/pair-code', { phone: PHONE });
    expect(late).toMatchObject({ status: 409, body: { error: 'no pair code: notPairing' } });

    const out = await http(api.url, 'POST', '/api/sessions/mdcode/logout');
    expect(out.status).toBe(200);
    const rested = await inState(api, 'mdcode', 'resting');
    expect(rested).toMatchObject({ state: 'loggedOut', failure: 'loggedOut' });
    const phone = await fetch(`${server.url}/md/phones/${PHONE}`).then((r) => r.json());
    expect(phone.devices).toEqual([]);
  }, 40_000);

  it("pairs an MD session by the emulator phone's scan, restores it by login after a restart", async () => {
    const server = await mdEmulator();
    const dir = tempDir('walink-md-api-');
    cleanups.push(() => dir.remove());
    const first = await serviceAt(dir.path, server);

    await http(first.api.url, 'POST', '/api/sessions', { name: 'mdqr', protocol: 'md' });
    await inState(first.api, 'mdqr', 'needsScan');
    const scanned = await http(first.api.url, 'POST', '/api/sessions/mdqr/scan', { phone: PHONE });
    expect(scanned.body).toEqual({ scanned: 'mdqr', phone: PHONE, wid: `${PHONE}:1@s.whatsapp.net` });
    await inState(first.api, 'mdqr', 'ready');
    // The MD machine is drawn like the legacy one, its resting states named.
    const structure = (await http(first.api.url, 'GET', '/api/machines/md-session/structure')).body;
    expect(structure.states.map((s: { path: string }) => s.path)).toEqual(
      expect.arrayContaining(['online.pairing.qr', 'online.pairing.code', 'online.ready', 'pairFailed']),
    );
    const svg = await http(first.api.url, 'GET', '/api/machines/md-session/diagram.svg');
    expect(svg.body).toContain('id="state:online.ready"');
    const ready = await viewOf(first.api, 'mdqr');
    for (const state of ready.active) expect(svg.body).toContain(`id="state:${state}"`);
    await first.api.close();
    await first.service.close();

    const second = await serviceAt(dir.path, server);
    expect(await second.service.restoreAll()).toEqual({ restored: ['mdqr'], skipped: [] });
    const restored = await inState(second.api, 'mdqr', 'ready');
    expect(restored).toMatchObject({ protocol: 'md', wid: `${PHONE}:1@s.whatsapp.net` });
    const types = second.service.events('mdqr').map((e) => e.type);
    expect(types).toContain('server.success');
    expect(types).not.toContain('server.pairDevice');
  }, 40_000);

  it('refuses MD sessions when the service has no MD server', async () => {
    const server = await mdEmulator();
    const dir = tempDir('walink-md-api-');
    cleanups.push(() => dir.remove());
    const queue = new InProcessMediaQueue({ mediaDir: join(dir.path, 'media') });
    const service = new SessionService({
      wsUrl: server.wsUrl,
      sessionsDir: join(dir.path, 'sessions'),
      queue,
    });
    cleanups.push(async () => {
      await service.close();
      await queue.close();
    });
    await expect(service.create({ name: 'm', protocol: 'md' })).rejects.toMatchObject({ status: 409 });
    expect(service.mdAvailable).toBe(false);
  });

  it('walink serve checks --md-root-key (64 hex digits, only with --md-url) before it starts anything', () => {
    const dir = tempDir('walink-md-serve-cli-');
    cleanups.push(() => dir.remove());
    const home = join(dir.path, 'home');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [...walinkArgs(), 'serve', '--port', '0', '--home', home, ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    const alone = run('--md-root-key', 'ab'.repeat(32));
    expect(alone.status).toBe(2);
    expect(alone.stderr.trim()).toBe(
      'walink serve: --md-root-key names the root of the --md-url server; give --md-url too',
    );
    const short = run('--md-url', 'ws://127.0.0.1:1/ws/chat', '--md-root-key', 'abcd');
    expect(short.status).toBe(2);
    expect(short.stderr.trim()).toBe(
      'walink serve: --md-root-key is the server root public key as 64 hex digits',
    );
    expect(existsSync(home)).toBe(false);
  });
});
