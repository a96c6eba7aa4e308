// Interop: the public npm client @whiskeysockets/baileys@6.17.16 (nobody here wrote it), run unmodified in
// a child process, pairs with the emulator by QR and by pair code, receives a text, and restores with its
// saved credentials (docs/protocol-md.md §6-§13; docs/emulator.md). It runs with the default first-frame
// delay (100 ms): Baileys 6.17.16 loses an earlier frame (§3.2).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../emulator/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
// The peer and its overrides (its two GitHub dependencies, as published on npm: docs/protocol-md.md §17).
const PEER = (
  JSON.parse(readFileSync(join(import.meta.dirname, 'peers.json'), 'utf8')) as {
    name: string;
    spec: string;
  }[]
).find((peer) => peer.name === 'baileys-6.17.16')!;
const PEER_DIR = join(ROOT, '.cache', 'peers', PEER.name);
const PEER_SCRIPT = join(import.meta.dirname, 'baileys-md-peer.mjs');
const PHONE = '15550001111';
const CONTACT = '15550002222@s.whatsapp.net';
const RUN_TIMEOUT_MS = 90_000;

interface Step {
  step: string;
  at: number;
  [key: string]: unknown;
}

/** The peer, installed by scripts/install-peer.mjs (scripts/test.sh runs it first; this is the fallback). */
function ensurePeer(): void {
  if (existsSync(join(PEER_DIR, '.installed.json'))) return;
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts', 'install-peer.mjs'), '--manifest', join(import.meta.dirname, 'peers.json')],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 240_000 },
  );
  if (result.status !== 0) throw new Error(`could not install ${PEER.spec} (is the npm registry reachable?)`);
}

/** Runs one flow of the peer script to its end (bounded) and returns its steps. */
function runPeer(
  config: Record<string, unknown>,
): Promise<{ code: number | null; steps: Step[]; stderr: string }> {
  return new Promise((resolvePeer) => {
    const child = spawn(process.execPath, [PEER_SCRIPT, JSON.stringify({ peerDir: PEER_DIR, ...config })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const steps = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Step);
      resolvePeer({ code, steps, stderr });
    });
  });
}

function stepOf(steps: Step[], name: string): Step {
  const found = steps.find((s) => s.step === name);
  if (!found) throw new Error(`no "${name}" step in ${JSON.stringify(steps)}`);
  return found;
}

let emulator: Emulator;
let work: string;

beforeAll(async () => {
  ensurePeer();
  work = mkdtempSync(join(tmpdir(), 'walink-baileys-'));
  emulator = await startEmulator({ port: 0 });
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Baileys 6.17.16 against the MD emulator', () => {
  it('pairs by QR, restarts after 515, opens, receives a text, and restores from saved credentials', async () => {
    const started = Date.now();
    const run = await runPeer({
      mode: 'qr',
      wsUrl: emulator.mdWsUrl,
      httpUrl: emulator.url,
      phone: PHONE,
      authDir: join(work, 'qr-auth'),
      from: CONTACT,
      text: 'hello from the emulated contact',
      reply: 'hello back from Baileys',
    });
    const seconds = (Date.now() - started) / 1000;
    expect(
      run.steps.map((s) => s.step),
      run.stderr,
    ).toEqual(['qr', 'scanned', 'closed', 'open', 'sent', 'message', 'replied', 'restored', 'done']);
    expect(run.code).toBe(0);
    // Baileys 6.17.16 shows the 4-field QR (§6.2).
    expect(stepOf(run.steps, 'qr').fields).toBe(4);
    expect(stepOf(run.steps, 'scanned')).toMatchObject({
      status: 200,
      json: { jid: `${PHONE}:1@s.whatsapp.net`, device: 1 },
    });
    expect(stepOf(run.steps, 'closed').status).toBe(515);
    const open = stepOf(run.steps, 'open');
    expect(open.me).toBe(`${PHONE}:1@s.whatsapp.net`);
    expect(open.lid).toMatch(/^\d{15}:1@lid$/);
    const sent = stepOf(run.steps, 'sent') as Step & { json: { id: string; devices: string[] } };
    expect(sent.json.devices).toEqual([`${PHONE}:1@s.whatsapp.net`]);
    expect(stepOf(run.steps, 'message')).toMatchObject({ id: sent.json.id, from: CONTACT, type: 'notify' });
    expect(stepOf(run.steps, 'restored').me).toBe(`${PHONE}:1@s.whatsapp.net`);
    // Every IQ Baileys sent was answered as modelled: none fell through to 501.
    const stats = emulator.md.stats;
    expect(stats.unhandledIqs).toEqual({});
    expect(stats.internalErrors).toBe(0);
    expect(Object.keys(stats.iqs).sort()).toEqual(
      expect.arrayContaining([
        'encrypt get count',
        'encrypt set registration',
        'passive set active',
        'w get props',
        'blocklist get -',
        'privacy get privacy',
        'w:sync:app:state set sync',
      ]),
    );
    // The receipts Baileys sent for the phone's and the contact's messages are recorded.
    const phone = (await (await fetch(`${emulator.url}/md/phones/${PHONE}`)).json()) as {
      receipts: { id: string; type: string }[];
    };
    expect(phone.receipts.map((r) => r.type)).toEqual(expect.arrayContaining(['peer_msg', 'hist_sync']));
    expect(phone.receipts.some((r) => r.id === sent.json.id)).toBe(true);
    // Baileys' reply (usync, one <enc> per device, §12.7) was read by the contact and, as a
    // deviceSentMessage, by the phone.
    const replied = stepOf(run.steps, 'replied').id as string;
    const listed = (await (await fetch(`${emulator.url}/md/phones/${PHONE}/messages`)).json()) as {
      sent: { id: string; to: string; text: string; readBy: string }[];
    };
    expect(listed.sent.filter((s) => s.id === replied).map((s) => [s.readBy, s.to, s.text])).toEqual(
      expect.arrayContaining([[CONTACT, CONTACT, 'hello back from Baileys']]),
    );
    expect(stats.iqs['usync get usync']).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(RUN_TIMEOUT_MS / 1000);
  }, 120_000);

  it('pairs a second, fresh Baileys by pair code and opens', async () => {
    const run = await runPeer({
      mode: 'code',
      wsUrl: emulator.mdWsUrl,
      httpUrl: emulator.url,
      phone: PHONE,
      authDir: join(work, 'code-auth'),
    });
    expect(
      run.steps.map((s) => s.step),
      run.stderr,
    ).toEqual(['code', 'linked', 'closed', 'open', 'done']);
    expect(run.code).toBe(0);
    expect(stepOf(run.steps, 'code').length).toBe(8);
    expect(stepOf(run.steps, 'linked')).toMatchObject({
      status: 200,
      json: { jid: `${PHONE}:2@s.whatsapp.net`, device: 2 },
    });
    expect(stepOf(run.steps, 'open').me).toBe(`${PHONE}:2@s.whatsapp.net`);
    expect(emulator.md.stats.unhandledIqs).toEqual({});
    expect(emulator.md.stats.internalErrors).toBe(0);
  }, 120_000);
});
