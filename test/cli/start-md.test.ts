// `walink start --md` as a user runs it: a child process with the embedded emulator, JSON lines on stdout.
// The embedded phone scans the QR code (or types the pair code), the session reaches ready, a text
// arrives, SIGINT exits 0, and a second run restores by login (docs/protocol-md.md §6-§8, §12).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.ts';
import { type JsonRun, type Line, runJsonLines } from '../support/cli-json.ts';
import { tempDir } from '../support/media.ts';
import { http } from '../support/raw-client.ts';

function start(args: string[]): JsonRun {
  return runJsonLines(['start', '--md', '--json', ...args], {
    stdin: true,
    killAfterMs: 40_000,
    waitMs: 15_000,
  });
}

const states = (lines: Line[]) => lines.filter((l) => l.type === 'state').map((l) => l.state as string);

describe('walink start --md', () => {
  let dir: ReturnType<typeof tempDir>;
  let running: ReturnType<typeof start>[] = [];
  beforeEach(() => {
    dir = tempDir('walink-start-md-');
    running = [];
  });
  afterEach(() => {
    for (const r of running) r.child.kill('SIGKILL');
    dir.remove();
  });
  const run = (args: string[]) => {
    const r = start(['--session', join(dir.path, 'md.json'), ...args]);
    running.push(r);
    return r;
  };

  it('shows the QR code, the embedded phone scans it, ready, a text arrives, and a second run logs in', async () => {
    const first = run(['--scan-after', '200']);
    const { emulator } = await first.next((l) => typeof l.emulator === 'string');
    const qr = await first.next((l) => l.type === 'qr');
    expect(qr.text).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
    expect(qr.expiresAt).toBeGreaterThan(Date.now());
    const ready = await first.next((l) => l.type === 'md.ready');
    const jid = ready.jid as string;
    expect(jid).toMatch(/^491511112222:\d+@s\.whatsapp\.net$/);
    await first.next((l) => l.type === 'state' && l.state === 'online.ready');
    // Every transition, printed as it happens: registration, pairing, the 515 restart, login (§6-§9).
    expect(states(first.lines)).toEqual([
      'online.connecting',
      'online.handshaking',
      'online.registering',
      'online.pairing',
      'online.verifying',
      'online.storing',
      'online.awaitingRestart',
      'online.connecting',
      'online.handshaking',
      'online.loggingIn',
      'online.countingPreKeys',
      'online.uploadingPreKeys',
      'online.activating',
      'online.ready',
    ]);
    const from = '491700000001@s.whatsapp.net';
    await http(emulator as string, 'POST', '/md/phones/491511112222/messages', { from, text: 'hello md' });
    const message = await first.next(
      (l) => l.type === 'md.message' && JSON.stringify(l).includes('hello md'),
    );
    expect(message.message).toMatchObject({ from, content: { kind: 'text', text: 'hello md' } });
    first.child.kill('SIGINT');
    expect(await first.exit()).toBe(0);
    expect(statSync(join(dir.path, 'md.json')).mode & 0o777).toBe(0o600);
    // No key of the stored device reaches the output.
    const stored = readFileSync(join(dir.path, 'md.json'), 'utf8');
    const printed = JSON.stringify(first.lines);
    for (const secret of stored.match(/"[A-Za-z0-9+/]{43}="/g) ?? []) {
      if (!qr.text || !(qr.text as string).includes(secret.slice(1, -1)))
        expect(printed).not.toContain(secret);
    }

    const second = run([]);
    await second.next((l) => l.type === 'md.ready');
    expect(second.lines.some((l) => l.type === 'qr')).toBe(false);
    expect(states(second.lines)).toContain('online.loggingIn');
    second.child.kill('SIGTERM');
    expect(await second.exit()).toBe(0);
  }, 45_000);

  it('--pair-code shows XXXX-XXXX and the embedded phone types it', async () => {
    const r = run(['--pair-code', '+49 151 1111 3333', '--scan-after', '100']);
    const code = await r.next((l) => l.type === 'pairCode');
    expect(code.code).toMatch(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/);
    const paired = await r.next((l) => l.type === 'md.paired');
    expect(paired).toMatchObject({
      method: 'code',
      jid: expect.stringMatching(/^4915111113333:\d+@s\.whatsapp\.net$/),
    });
    await r.next((l) => l.type === 'md.ready');
    r.child.kill('SIGINT');
    expect(await r.exit()).toBe(0);
  }, 45_000);

  it('--url and --root-key talk to another MD server; a wrong root ends in handshakeFailed with exit 1', async () => {
    const other = await startEmulator({ port: 0, host: '127.0.0.1', md: { firstFrameDelayMs: 1 } });
    try {
      const r = run(['--url', other.mdWsUrl, '--root-key', other.md.rootPublicKeyHex]);
      const qr = await r.next((l) => l.type === 'qr');
      expect(r.lines.some((l) => typeof l.emulator === 'string')).toBe(false);
      await http(other.url, 'POST', '/md/phones/15557654321/scan', { qr: qr.text });
      await r.next((l) => l.type === 'md.ready');
      r.child.kill('SIGINT');
      expect(await r.exit()).toBe(0);

      const wrong = start([
        '--session',
        join(dir.path, 'other.json'),
        '--url',
        other.mdWsUrl,
        '--root-key',
        'ab'.repeat(32),
      ]);
      running.push(wrong);
      await wrong.next((l) => l.type === 'state' && l.state === 'failed');
      expect(await wrong.next((l) => l.type === 'md.failed')).toMatchObject({ reason: 'handshakeFailed' });
      expect(await wrong.exit()).toBe(1);
    } finally {
      await other.close();
    }
  }, 45_000);

  it('--prompt: `send <jid> <text>` sends a text the contact decrypts, with md.sent and the receipt', async () => {
    const other = await startEmulator({ port: 0, host: '127.0.0.1', md: { firstFrameDelayMs: 1 } });
    try {
      const contact = '491700000042@s.whatsapp.net';
      await http(other.url, 'POST', '/md/contacts', { jid: contact });
      const r = run(['--url', other.mdWsUrl, '--root-key', other.md.rootPublicKeyHex, '--prompt']);
      const qr = await r.next((l) => l.type === 'qr');
      await http(other.url, 'POST', '/md/phones/15557654321/scan', { qr: qr.text });
      await r.next((l) => l.type === 'md.ready');
      r.child.stdin!.write(`send ${contact} hello from the prompt\n`);
      const sent = await r.next((l) => l.type === 'md.sent');
      expect(sent.to).toBe(contact);
      await r.next((l) => l.type === 'md.receipt' && l.id === sent.id);
      const listed = await http(other.url, 'GET', '/md/phones/15557654321/messages');
      expect(listed.body.sent).toContainEqual(
        expect.objectContaining({ id: sent.id, to: contact, readBy: contact, text: 'hello from the prompt' }),
      );
      r.child.stdin!.write('send 4917000000999@s.whatsapp.net nobody\n');
      expect(await r.next((l) => l.type === 'md.send.failed')).toMatchObject({ reason: 'noDevices' });
      r.child.kill('SIGINT');
      expect(await r.exit()).toBe(0);
    } finally {
      await other.close();
    }
  }, 45_000);

  it('refuses a malformed --root-key, and --root-key without --url, as usage errors', async () => {
    const bad = run(['--url', 'ws://127.0.0.1:1/ws/chat', '--root-key', 'xyz']);
    expect(await bad.exit()).toBe(2);
    const alone = run(['--root-key', 'ab'.repeat(32)]);
    expect(await alone.exit()).toBe(2);
  }, 20_000);

  it('gives up with exit 1 and the reason after --connect-attempts failed connects when nothing was established', async () => {
    const rootKey = 'ab'.repeat(32);
    const r = run(['--url', 'ws://127.0.0.1:1/ws/chat', '--root-key', rootKey, '--connect-attempts', '2']);
    expect(await r.exit()).toBe(1);
    const reconnects = r.lines.filter((l) => l.type === 'reconnecting');
    expect(reconnects.map((l) => l.attempt)).toEqual([1, 2]);
    const gaveUp = r.lines.find((l) => l.gaveUp === true)!;
    expect(gaveUp).toMatchObject({ type: 'note', attempts: 2 });
    expect(r.lines.indexOf(gaveUp)).toBeGreaterThan(r.lines.indexOf(reconnects[1]!));
    expect(gaveUp.text).toMatch(
      /^giving up: 2 connects to ws:\/\/127\.0\.0\.1:1\/ws\/chat failed \(last: .+\)/,
    );
  }, 30_000);
});
