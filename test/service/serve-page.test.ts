// The page in a real headless Chromium at 1400×1000: sign in with the printed link's token, create a
// session, see its QR image rotate and only the edge taken lit, let the emulator's phone scan it, watch
// the inspector follow it to ready, see a media job finish, survive a page on another origin that tries
// to log it out, log out and find the active state in view with nothing lit. A multi-device session
// made from the same form shows its QR image and, after "link with phone number", its XXXX-XXXX code,
// which the emulator's MD phone types from a button: the inspector draws the MD machine and follows it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { tempDir } from '../support/media.ts';
import { http } from '../support/raw-client.ts';
import { type RunningServe, startServe } from '../support/serve.ts';

const ARTIFACTS = 'test-artifacts';
const PHONE = '491533334444';
const MD_PHONE = '15557654321';
const VIEWPORT = { width: 1400, height: 1000 };

/** The page that another origin serves: it tries to log the session out and delete it. */
function attackPage(target: string): string {
  const session = `${target}/api/sessions/browser`;
  return `<!doctype html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="form" method="POST" action="${session}/logout" target="sink1"><input name="x" value="1"></form>
<form id="plain" method="POST" action="${session}/logout" target="sink2" enctype="text/plain"><input name='{"a":"' value='"}'></form>
<script>
const results = {};
const attempt = (name, run) => run().then((r) => { results[name] = r; }, (e) => { results[name] = 'error: ' + e.message; });
const loaded = (name) => new Promise((resolve) => document.querySelector('iframe[name=' + name + ']').addEventListener('load', resolve, { once: true }));
window.attack = async () => {
  const sunk = Promise.all([loaded('sink1'), loaded('sink2')]);
  document.getElementById('form').submit();
  document.getElementById('plain').submit();
  const all = Promise.all([
    sunk,
    attempt('text/plain logout', () => fetch('${session}/logout', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' }).then((r) => r.type)),
    attempt('text/plain delete', () => fetch('${session}', { method: 'DELETE', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' }).then((r) => r.type)),
    attempt('json logout', () => fetch('${session}/logout', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)),
    attempt('json delete', () => fetch('${session}', { method: 'DELETE', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)),
    attempt('read sessions', () => fetch('${target}/api/sessions', { credentials: 'include' }).then((r) => r.text())),
  ]);
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 5000))]);
  return results;
};
</script></body>`;
}

async function startAttacker(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackPage(target));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

/** Ids of the edges the inspector lights. */
const litEdges = (page: Page) =>
  page.locator('#diagram g.edge.taken').evaluateAll((edges) => edges.map((edge) => edge.id));

/** How many of the elements lie inside both the diagram's visible box and the window. */
const inView = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll(
    (nodes) =>
      nodes.filter((node) => {
        const box = node.getBoundingClientRect();
        const view = document.querySelector('#diagram')!.getBoundingClientRect();
        return (
          box.width > 0 &&
          box.left >= Math.max(view.left, 0) &&
          box.top >= Math.max(view.top, 0) &&
          box.right <= Math.min(view.right, window.innerWidth) &&
          box.bottom <= Math.min(view.bottom, window.innerHeight)
        );
      }).length,
  );

describe('walink serve in a browser', () => {
  let browser: Browser;
  let serve: RunningServe;
  let token: string;
  const home = tempDir('walink-serve-');
  const api = async (method: string, path: string) => {
    const response = await fetch(`${serve.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    [browser, serve] = await Promise.all([
      launchChromium(),
      startServe(['--home', home.path, '--qr-ttl', '2500']),
    ]);
    token = readFileSync(join(home.path, 'api-token'), 'utf8').trim();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    expect(await serve?.stop()).toBe(0);
    home.remove();
  });

  it('asks for the token when opened without it', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    await page.goto(serve.url);
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('main').isHidden()).toBe(true);
    await page.fill('#token', 'wrong');
    await page.click('#sign-in button');
    await page.locator('#sign-in-error:not([hidden])').waitFor();
    await page.fill('#token', token);
    await page.click('#sign-in button');
    await page.locator('#live.on').waitFor();
    expect(await page.locator('#sign-in').isHidden()).toBe(true);
    await context.close();
  });

  it('shows a session from QR code to ready in the inspector, and another origin cannot touch it', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The Content-Security-Policy lets the page load nothing it does not need: nothing it needs is blocked.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    // The printed link carries the token in its fragment; the page trades it for a cookie and drops it.
    await page.goto(`${serve.url}/#token=${token}`);
    await page.locator('#diagram[data-ready="true"] svg').waitFor();
    await page.locator('#live.on').waitFor();
    expect(page.url()).toBe(`${serve.url}/`);
    await page.fill('#new-session-name', 'browser');
    await page.click('#create-session');

    // The QR code is an image that loads, and it changes when the ref rotates (ttl 2.5 s here).
    const qr = page.locator('li[data-session="browser"] img.qr-image');
    await qr.waitFor({ timeout: 10_000 });
    // It loads (a busy machine may still be fetching it right after it appears).
    await expect
      .poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), {
        timeout: 10_000,
      })
      .toBe(true);
    const firstText = await qr.getAttribute('data-qr-text');
    const firstSrc = await qr.getAttribute('src');
    await page
      .locator('li[data-session="browser"] img.qr-image[data-qr-index="1"]')
      .waitFor({ timeout: 10_000 });
    const rotated = page.locator('li[data-session="browser"] img.qr-image');
    const qrText = await rotated.getAttribute('data-qr-text');
    expect(qrText).not.toBe(firstText);
    expect(await rotated.getAttribute('src')).not.toBe(firstSrc);
    await expect.poll(() => page.locator('g[id="state:online.qr.showing"].active').count()).toBe(1);
    // The reref's answer took rerefing → showing: that edge is lit, not the other two out of rerefing.
    await expect
      .poll(() => litEdges(page), { timeout: 10_000 })
      .toEqual(['edge:online.qr.rerefing~online.qr.showing']);
    await page.screenshot({ path: `${ARTIFACTS}/serve-qr.png` });

    // The emulator's phone scans the code the page shows.
    const info = (await api('GET', '/api/info')) as { emulator: string };
    // The code shown right now (it rotates every 2 s here, so read it again just before scanning).
    const shown = await page.locator('li[data-session="browser"] img.qr-image').getAttribute('data-qr-text');
    const scan = await http(info.emulator, 'POST', `/phones/${PHONE}/scan`, { qr: shown });
    expect(scan.status).toBe(200);

    await page.locator('g[id="state:online.ready"].active').waitFor({ timeout: 10_000 });
    expect(await page.locator('g[id="state:online.qr"].active').count()).toBe(0);
    expect(await page.locator('li[data-session="browser"]').getAttribute('data-state')).toBe('online.ready');
    await expect.poll(() => page.locator('g[id="state:online.ready.phone.known"].active').count()).toBe(1);
    // The three regions' leaves do not all fit: the view shows where the active ones begin.
    await page.screenshot({ path: `${ARTIFACTS}/serve-ready-diagram.png` });
    await expect.poll(() => inView(page, '#diagram g.node.active')).toBeGreaterThan(0);

    // The event log shows what the machine received, once each, with the secrets redacted.
    const log = page.locator('#event-log');
    await expect.poll(() => log.textContent()).toContain('server.conn');
    const logText = (await log.textContent()) ?? '';
    expect(logText).toContain('"secret":"[redacted]"');
    expect(logText).toContain('"clientToken":"[redacted]"');
    const seqs = (await log
      .locator('li')
      .evaluateAll((lines) => lines.map((l) => Number(l.dataset.seq)))) as number[];
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const history = ((await api('GET', '/api/sessions/browser/events')).events as { seq: number }[]).map(
      (e) => e.seq,
    );
    expect(history.slice(0, seqs.length)).toEqual(seqs);

    // A media message becomes a job with progress and an outcome.
    const image = Buffer.alloc(300_000, 7).toString('base64');
    const sent = await http(info.emulator, 'POST', `/phones/${PHONE}/messages`, {
      from: '491700000001@c.us',
      media: { type: 'image', base64: image, mimetype: 'image/jpeg' },
    });
    expect(sent.status).toBe(200);
    await page.locator('#jobs tr[data-state="done"]').waitFor({ timeout: 10_000 });
    const done = page.locator('#jobs tr[data-state="done"] td');
    expect(await done.nth(1).textContent()).toBe('browser');
    expect(await done.nth(4).textContent()).toMatch(
      new RegExp(`^${home.path}/media/media-[0-9a-f]{64}\\.jpg$`),
    );
    await page.screenshot({ path: `${ARTIFACTS}/serve-ready.png`, fullPage: true });

    // A page on another origin of the same host (same site: the SameSite cookie goes along) tries a
    // form POST, no-cors text/plain fetches and JSON fetches, and a read.
    const attacker = await startAttacker(serve.url);
    try {
      const evil = await context.newPage();
      await evil.goto(attacker.url);
      const results = (await evil.evaluate('window.attack()')) as Record<string, string>;
      expect(results['json logout']).toMatch(/^error/);
      expect(results['json delete']).toMatch(/^error/);
      expect(results['read sessions']).toMatch(/^error/);
      await evil.close();
    } finally {
      attacker.server.closeAllConnections();
      await new Promise((resolve) => attacker.server.close(resolve));
    }
    expect(((await api('GET', '/api/sessions/browser')) as { state: string }).state).toBe('online.ready');
    expect(existsSync(join(home.path, 'sessions', 'browser.json'))).toBe(true);
    expect(await page.locator('li[data-session="browser"]').getAttribute('data-state')).toBe('online.ready');

    // Log out from the page: the inspector follows to loggedOut, in view, and lights nothing at rest.
    await page.click('li[data-session="browser"] button:text("Log out")');
    await page.locator('g[id="state:loggedOut"].active').waitFor({ timeout: 10_000 });
    await expect.poll(() => inView(page, 'g[id="state:loggedOut"]')).toBe(1);
    await expect.poll(() => litEdges(page)).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/serve-logged-out.png` });

    // Everything the page loaded came from walink itself.
    const origin = new URL(serve.url).origin;
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
  it('pairs a multi-device session by a pair code from the page, the inspector drawing the MD machine', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    await page.goto(`${serve.url}/#token=${token}`);
    await page.locator('#live.on').waitFor();
    await page.fill('#new-session-name', 'mdpage');
    await page.selectOption('#new-session-protocol', 'md');
    await page.click('#create-session');

    const card = page.locator('li[data-session="mdpage"]');
    expect(await card.locator('.protocol').textContent()).toBe('MD');
    // The QR image loads, and the inspector now draws the MD machine with the QR state lit.
    const qr = card.locator('img.qr-image');
    await qr.waitFor({ timeout: 10_000 });
    await expect
      .poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), {
        timeout: 10_000,
      })
      .toBe(true);
    expect(await qr.getAttribute('data-qr-text')).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#/);
    await page.locator('#diagram[data-machine="md-session"][data-ready="true"] svg').waitFor();
    expect(await page.locator('#machine-name').textContent()).toBe('md-session');
    await page.locator('g[id="state:online.pairing.qr.showing"].active').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('g[id="state:online.pairing.code.idle"].active').count()).toBe(1);

    // A bad number is refused with the reason; the right one shows the code with its lifetime.
    await card.locator('input.phone').fill('0123');
    await card.locator('button:text("Link with phone number")').click();
    await expect.poll(() => page.locator('#form-error').textContent()).toMatch(/^phone: /);
    await card.locator('input.phone').fill(`+${MD_PHONE}`);
    await card.locator('button:text("Link with phone number")').click();
    const code = card.locator('.pair-code');
    await code.waitFor({ timeout: 15_000 });
    expect(await code.textContent()).toMatch(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/);
    expect(await card.locator('.pair-code-part .countdown').textContent()).toMatch(
      new RegExp(`^type it on \\+${MD_PHONE}'s phone, 1[78]\\d s left$`),
    );
    await page.locator('g[id="state:online.pairing.code.pending.live.waitingForPhone"].active').waitFor();
    // The MD machine's transitions light their edges too (the code's answer, or the liveness restart after it).
    await expect
      .poll(async () => {
        const lit = await litEdges(page);
        return lit.length > 0 && lit.every((id) => id.startsWith('edge:online.pairing.'));
      })
      .toBe(true);
    expect(await page.locator('g[id="state:online.pairing.qr.showing"].active').count()).toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}/serve-md-pair-code.png` });

    // The emulator's phone of that number types the code: paired, 515, login, ready.
    await card.locator('button:text("Type the code on the emulator\'s phone")').click();
    await page.locator('g[id="state:online.ready"].active').waitFor({ timeout: 15_000 });
    await expect.poll(() => card.getAttribute('data-state'), { timeout: 10_000 }).toBe('online.ready');
    expect(await card.locator('.pair-code').count()).toBe(0);
    expect(await card.textContent()).toContain(`${MD_PHONE}:1@s.whatsapp.net`);
    const phone = (await (
      await fetch(
        `${((await api('GET', '/api/info')) as { emulator: string }).emulator}/md/phones/${MD_PHONE}`,
      )
    ).json()) as {
      devices: { platform: string }[];
    };
    expect(phone.devices).toHaveLength(1);
    // The event log shows the pairing, secrets redacted.
    const log = page.locator('#event-log');
    await expect.poll(() => log.textContent()).toContain('server.pairSuccess');
    expect(await log.textContent()).not.toMatch(/"(privateKey|advSecret)":"(?!\[redacted\])/);
    await page.screenshot({ path: `${ARTIFACTS}/serve-md-ready.png` });

    // Back on a legacy session the legacy machine is drawn again.
    if ((await page.locator('li[data-session="browser"]').count()) > 0) {
      await page.click('li[data-session="browser"] .name');
      await page.locator('#diagram[data-machine="session"][data-ready="true"] svg').waitFor();
    }
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
