// `walink start` as a user runs it: a child process with the embedded emulator, JSON lines on stdout.

import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JsonRun, type Line, runJsonLines } from '../support/cli-json.ts';
import { tempDir } from '../support/media.ts';
import { http } from '../support/raw-client.ts';
import { emulator, fault, until } from '../support/session-harness.ts';

type Running = JsonRun;

function start(args: string[]): Running {
  return runJsonLines(['start', '--json', ...args], { killAfterMs: 30_000, waitMs: 10_000 });
}

const states = (lines: Line[]) => lines.filter((l) => l.type === 'state').map((l) => l.state);

describe('walink start', () => {
  let dir: ReturnType<typeof tempDir>;
  let running: Running[] = [];
  beforeEach(() => {
    dir = tempDir('walink-start-');
    running = [];
  });
  afterEach(() => {
    for (const r of running) r.child.kill('SIGKILL');
    dir.remove();
  });
  const run = (args: string[]) => {
    const r = start(['--session', join(dir.path, 'session.json'), ...args]);
    running.push(r);
    return r;
  };

  it('pairs with the emulator phone, shows messages, decrypts media, exits on SIGINT, and restores by login', async () => {
    const first = run(['--scan-after', '300']);
    const { emulator } = await first.next((l) => typeof l.emulator === 'string');
    const qr = await first.next((l) => l.type === 'qr');
    expect(qr.text).toMatch(/^[^,]+,[^,]+,[^,]+$/);
    expect(qr.expiresAt).toBeGreaterThan(Date.now());
    await first.next((l) => l.type === 'state' && l.state === 'online.ready');
    expect(states(first.lines)).toEqual([
      'online.connecting',
      'online.initializing',
      'online.qr.showing',
      'online.ready',
    ]);
    expect(first.lines.find((l) => l.type === 'paired')).toMatchObject({ wid: '491511112222@c.us' });

    const base = emulator as string;
    const from = '491700000001@c.us';
    expect(
      (await http(base, 'POST', '/phones/491511112222/messages', { from, text: 'hello walink' })).status,
    ).toBe(200);
    const message = await first.next((l) => l.type === 'message');
    expect(message.message).toMatchObject({ text: 'hello walink', chat: from });

    const picture = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 13) & 0xff));
    const media = { type: 'image', base64: picture.toString('base64'), mimetype: 'image/png' };
    expect((await http(base, 'POST', '/phones/491511112222/messages', { from, media })).status).toBe(200);
    const announced = await first.next((l) => l.type === 'media');
    expect((announced.media as Record<string, unknown>).mediaKey).toBe('[redacted]');
    const done = await first.next((l) => l.type === 'media.done');
    expect(Buffer.compare(readFileSync(done.outPath as string), picture)).toBe(0);
    expect(done.outPath).toMatch(/\.png$/);

    first.child.kill('SIGINT');
    expect(await first.exit()).toBe(0);
    expect(statSync(join(dir.path, 'session.json')).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(join(dir.path, 'session.json'), 'utf8')) as Record<string, string>;
    const printed = JSON.stringify(first.lines);
    for (const secret of ['encKey', 'macKey', 'clientToken', 'serverToken']) {
      expect(stored[secret]?.length).toBeGreaterThan(8);
      expect(printed).not.toContain(stored[secret]);
    }

    const second = run([]);
    await second.next((l) => l.type === 'state' && l.state === 'online.ready');
    expect(states(second.lines)).toEqual([
      'online.connecting',
      'online.initializing',
      'online.loggingIn',
      'online.ready',
    ]);
    expect(second.lines.some((l) => l.type === 'qr')).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exit()).toBe(0);
  }, 40_000);

  it('with --no-auto-scan waits for a scan from outside, then pairs', async () => {
    const r = run(['--no-auto-scan']);
    const { emulator } = await r.next((l) => typeof l.emulator === 'string');
    const qr = await r.next((l) => l.type === 'qr');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(states(r.lines).at(-1)).toBe('online.qr.showing');
    const scan = await http(emulator as string, 'POST', '/phones/491511112233/scan', { qr: qr.text });
    expect(scan.status).toBe(200);
    await r.next((l) => l.type === 'ready');
    r.child.kill('SIGINT');
    expect(await r.exit()).toBe(0);
  }, 20_000);

  it('with --url talks to another emulator and survives a socket drop by reconnecting with takeover', async () => {
    const emu = await emulator();
    try {
      await fault(emu, { kind: 'closeSocket', at: 'ready' });
      const r = run(['--url', emu.wsUrl, '--scan-after', '100']);
      const reconnecting = await r.next((l) => l.type === 'reconnecting');
      expect(reconnecting.attempt).toBe(1);
      await r.next((l) => l.type === 'ready' && states(r.lines).includes('online.loggingIn'));
      expect(states(r.lines)).toEqual([
        'online.connecting',
        'online.initializing',
        'online.qr.showing',
        'online.ready',
        'reconnecting',
        'online.connecting',
        'online.initializing',
        'online.loggingIn',
        'online.ready',
      ]);
      expect(r.lines.some((l) => typeof l.emulator === 'string')).toBe(false);
      r.child.kill('SIGINT');
      expect(await r.exit()).toBe(0);
    } finally {
      await emu.close();
    }
  }, 20_000);

  it('a second process taking the session over: the first goes to conflict and exits without fighting back', async () => {
    const emu = await emulator();
    try {
      const first = run(['--url', emu.wsUrl, '--scan-after', '100']);
      await first.next((l) => l.type === 'ready');
      await until(() => existsSync(join(dir.path, 'session.json')));
      const copy = join(dir.path, 'copy.json');
      copyFileSync(join(dir.path, 'session.json'), copy);
      const second = start(['--url', emu.wsUrl, '--session', copy]);
      running.push(second);
      await second.next((l) => l.type === 'ready');
      await first.next((l) => l.type === 'conflict');
      expect(await first.exit()).toBe(1);
      expect(states(first.lines).slice(-1)).toEqual(['conflict']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(states(second.lines)).toEqual([
        'online.connecting',
        'online.initializing',
        'online.loggingIn',
        'online.ready',
      ]);
      second.child.kill('SIGINT');
      expect(await second.exit()).toBe(0);
    } finally {
      await emu.close();
    }
  }, 20_000);

  it('with --connect-attempts 0 keeps reconnecting to a server that is not there, and still stops cleanly', async () => {
    const r = run(['--url', 'ws://127.0.0.1:1/ws', '--connect-attempts', '0']);
    const line = await r.next((l) => l.type === 'reconnecting');
    expect(line.reason).toBeTruthy();
    r.child.kill('SIGINT');
    expect(await r.exit()).toBe(0);
  }, 20_000);

  it('gives up with exit 1 and the reason after --connect-attempts failed connects when nothing was established', async () => {
    const r = run(['--url', 'ws://127.0.0.1:1/ws', '--connect-attempts', '2']);
    expect(await r.exit()).toBe(1);
    const reconnects = r.lines.filter((l) => l.type === 'reconnecting');
    expect(reconnects.map((l) => l.attempt)).toEqual([1, 2]);
    const gaveUp = r.lines.find((l) => l.gaveUp === true)!;
    expect(gaveUp).toMatchObject({ type: 'note', attempts: 2 });
    expect(r.lines.indexOf(gaveUp)).toBeGreaterThan(r.lines.indexOf(reconnects[1]!));
    expect(gaveUp.text).toMatch(/^giving up: 2 connects to ws:\/\/127\.0\.0\.1:1\/ws failed \(last: .+\)/);
  }, 20_000);
});
