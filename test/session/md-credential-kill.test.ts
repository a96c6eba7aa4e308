// An MD session killed with SIGKILL at pair-success (storing the device), after it (the 515 wait) and
// during the pre-key upload of the login that follows leaves a whole credential file, never loses a device
// the phone lists, never lets the server hold a pre-key the companion lacks, and the next run goes on from
// what the file says (docs/protocol-md.md §15).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCredentialStore, MD_CREDENTIAL_CODEC } from '../../actors/index.ts';
import { toHex } from '../../crypto/index.ts';
import { type Emulator, startEmulator } from '../../emulator/index.ts';
import { http } from '../support/md-raw-client.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const WRITER = join(ROOT, 'test/support/md-session-writer.ts');

interface Run {
  child: ChildProcess;
  states: string[];
  /** Resolves at the first line that matches (state name or qr), rejects when the child exits first. */
  until(
    match: (line: { state?: string; qr?: string }) => boolean,
    timeoutMs?: number,
  ): Promise<{ state?: string; qr?: string }>;
  kill(): Promise<void>;
}

function run(emulator: Emulator, path: string): Run {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/run-ts.js'), WRITER, emulator.mdWsUrl, emulator.md.rootPublicKeyHex, path],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: { state?: string; qr?: string }[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.stdout!.on('data', (chunk) => {
    buffer += chunk;
    let at = buffer.indexOf('\n');
    while (at >= 0) {
      lines.push(JSON.parse(buffer.slice(0, at)));
      buffer = buffer.slice(at + 1);
      at = buffer.indexOf('\n');
    }
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    get states() {
      return lines.flatMap((l) => (l.state ? [l.state] : []));
    },
    until(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`not seen; states ${lines.map((l) => l.state ?? 'qr').join(' → ')}; ${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the session exited: ${stderr}`));
          }
        });
        check();
      });
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('an MD session under SIGKILL', () => {
  let emulator: Emulator;
  let dir: string;
  beforeAll(async () => {
    emulator = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      md: { firstFrameDelayMs: 1, streamErrorCloseMs: 5 },
    });
    dir = mkdtempSync(join(tmpdir(), 'walink-md-session-kill-'));
  });
  afterAll(async () => {
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([['online.storing'], ['online.awaitingRestart'], ['online.uploadingPreKeys']])(
    'killed at %s: a whole file, no lost device, no pre-key only the server has; the next run goes on',
    async (step) => {
      const phone = `1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      const path = join(dir, `${phone}.json`);
      const first = run(emulator, path);
      const qr = await first.until((l) => l.qr !== undefined);
      await http(emulator.url, 'POST', `/md/phones/${phone}/scan`, { qr: qr.qr });
      await first.until((l) => l.state === step).catch(() => undefined);
      await first.kill();

      const record = await new FileCredentialStore(path, MD_CREDENTIAL_CODEC).load();
      expect(record).not.toBeNull();
      const account = emulator.md.context.state.account(phone);
      const listed = [...account.devices.values()];
      // Never a lost device: a device the phone lists is the one in the file.
      for (const device of listed)
        expect(record!.credentials.me?.jid).toBe(`${phone}:${device.id}@s.whatsapp.net`);
      // Every pre-key the server could hand out is one the companion still has, with the same key.
      const mine = new Map(record!.signal.preKeys.map((k) => [k.keyId, toHex(k.keyPair.publicKey)]));
      for (const device of listed)
        for (const key of device.preKeys) expect(mine.get(key.keyId)).toBe(toHex(key.publicKey));

      // The next run: by login when the file has a device the server knows, else pairing again.
      const second = run(emulator, path);
      try {
        if (listed.length > 0) {
          await second.until((l) => l.state === 'online.ready');
          expect(second.states).not.toContain('online.pairing');
        } else {
          const next = await second.until((l) => l.qr !== undefined || l.state === 'loggedOut');
          if (next.qr) {
            await http(emulator.url, 'POST', `/md/phones/${phone}/scan`, { qr: next.qr });
            await second.until((l) => l.state === 'online.ready');
          }
        }
      } finally {
        await second.kill();
      }
    },
    60_000,
  );
});
