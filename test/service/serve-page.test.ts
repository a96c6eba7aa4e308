// The page in a real headless Chromium: create a session, see its QR image rotate, let the emulator's
// phone scan it, watch the inspector highlight move to ready, see a media job finish, log out.
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { tempDir } from '../support/media.ts';
import { http } from '../support/raw-client.ts';
import { type RunningServe, startServe } from '../support/serve.ts';

const ARTIFACTS = 'test-artifacts';
const PHONE = '491533334444';

describe('walink serve in a browser', () => {
  let browser: Browser;
  let serve: RunningServe;
  const home = tempDir('walink-serve-');

  beforeAll(async () => {
    [browser, serve] = await Promise.all([
      launchChromium(),
      startServe(['--home', home.path, '--qr-ttl', '2500']),
    ]);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    expect(await serve?.stop()).toBe(0);
    home.remove();
  });

  it('shows a session from QR code to ready in the inspector', async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    await page.goto(serve.url);
    await page.locator('#diagram[data-ready="true"] svg').waitFor();
    await page.locator('#live.on').waitFor();
    await page.fill('#new-session-name', 'browser');
    await page.click('#create-session');

    // The QR code is an image that loads, and it changes when the ref rotates (ttl 2.5 s here).
    const qr = page.locator('li[data-session="browser"] img.qr-image');
    await qr.waitFor({ timeout: 10_000 });
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
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
    await page.screenshot({ path: `${ARTIFACTS}/serve-qr.png` });

    // The emulator's phone scans the code the page shows.
    const info = (await http(serve.url, 'GET', '/api/info')).body as { emulator: string };
    // The code shown right now (it rotates every 2 s here, so read it again just before scanning).
    const shown = await page.locator('li[data-session="browser"] img.qr-image').getAttribute('data-qr-text');
    const scan = await http(info.emulator, 'POST', `/phones/${PHONE}/scan`, { qr: shown });
    expect(scan.status).toBe(200);

    await page.locator('g[id="state:online.ready"].active').waitFor({ timeout: 10_000 });
    expect(await page.locator('g[id="state:online.qr"].active').count()).toBe(0);
    expect(await page.locator('li[data-session="browser"]').getAttribute('data-state')).toBe('online.ready');
    await expect.poll(() => page.locator('g[id="state:online.ready.phone.known"].active').count()).toBe(1);

    // The event log shows what the machine received, with the secrets redacted.
    const log = page.locator('#event-log');
    await expect.poll(() => log.textContent()).toContain('server.conn');
    const logText = (await log.textContent()) ?? '';
    expect(logText).toContain('"secret":"[redacted]"');
    expect(logText).toContain('"clientToken":"[redacted]"');

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

    // Log out from the page.
    await page.click('li[data-session="browser"] button:text("Log out")');
    await page.locator('g[id="state:loggedOut"].active').waitFor({ timeout: 10_000 });

    // Everything the page loaded came from walink itself.
    const origin = new URL(serve.url).origin;
    expect(requests.filter((url) => !url.startsWith(origin))).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
