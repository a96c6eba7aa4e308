// Token rotation against crashes (issue 12, Medium 6; docs/protocol.md §2.5): the session keeps the pair a
// rotation replaced until a login with the new one succeeds, tries both after a 401, and only then calls
// itself logged out. The crashes are aimed: a store that never lands the rotated tokens (the process dies
// between the server's rotation and the client's own save), in-process and as a SIGKILLed child.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CredentialStore,
  createSession,
  FileCredentialStore,
  type Session,
} from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import type { Credentials } from '../../machines/index.ts';
import { entryArgs } from '../support/compiled.ts';
import { http } from '../support/raw-client.ts';
import { emulator, FAST_TIMING, PHONE, pairedStore, until } from '../support/session-harness.ts';

let dir: string;
let emu: Emulator;
const abandoned: Session[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'walink-rotation-'));
  emu = await emulator({ stateFile: join(dir, 'emulator.json') });
});

afterEach(async () => {
  for (const session of abandoned.splice(0)) void session.stop();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Where a run dies: before the rotated tokens are written, after, or not at all. */
type Aim = 'beforeSave' | 'afterSave' | 'none';

/** A file store that dies at `aim`: its process is gone, so nothing it had not written is kept. */
function aimedStore(path: string, aim: Aim, died: () => void): CredentialStore {
  const file = new FileCredentialStore(path);
  return {
    location: file.location,
    load: () => file.load(),
    clear: () => file.clear(),
    save: async (credentials: Credentials) => {
      if (aim === 'beforeSave') {
        died();
        return new Promise<void>(() => undefined);
      }
      await file.save(credentials);
      if (aim === 'afterSave') died();
    },
  };
}

/** One run of a "process": restores from the file; returns the states it went through and how it ended. */
async function run(url: string, path: string, aim: Aim): Promise<{ states: string[]; end: string }> {
  let dead = false;
  const session = await createSession({
    url,
    store: aimedStore(path, aim, () => {
      dead = true;
    }),
    timing: FAST_TIMING,
  });
  const states: string[] = [];
  session.events$.subscribe((e) => {
    if (e.type === 'state') states.push(e.state);
  });
  session.start();
  if (aim !== 'none') {
    await until(() => dead, 5_000);
    // SIGKILL: the process stops here, its pending write never lands, its socket goes away.
    abandoned.push(session);
    void session.stop();
    return { states, end: 'killed' };
  }
  const end = await session.waitFor((s) => s.name === 'online.ready' || s.resting, 5_000);
  await session.stop();
  return { states, end: end.name };
}

/** Pairs, then restores once so that the file holds a current and a previous pair. */
async function pairedFile(): Promise<string> {
  const path = join(dir, 'session.json');
  const store = await pairedStore(emu);
  await new FileCredentialStore(path).save((await store.load())!);
  expect((await run(emu.wsUrl, path, 'none')).end).toBe('online.ready');
  expect((await new FileCredentialStore(path).load())?.previous).toBeDefined();
  return path;
}

describe('the previous tokens', () => {
  it('a server restored from before its rotation: the current pair gets 401, the previous one logs in', async () => {
    const path = await pairedFile();
    const before = join(dir, 'emulator-before.json');
    copyFileSync(join(dir, 'emulator.json'), before);
    // A login rotates the tokens; the client stores the new pair and keeps the one it replaced.
    expect((await run(emu.wsUrl, path, 'none')).end).toBe('online.ready');
    const saved = (await new FileCredentialStore(path).load())!;
    // The server comes back from the state it had before that rotation.
    await emu.close();
    copyFileSync(before, join(dir, 'emulator.json'));
    emu = await emulator({ stateFile: join(dir, 'emulator.json') });

    const restored = await run(emu.wsUrl, path, 'none');
    expect(restored.end).toBe('online.ready');
    // 401 to the current pair, then a fresh socket with the previous one (usingPreviousTokens is transient).
    expect(restored.states).toEqual([
      'online.connecting',
      'online.initializing',
      'online.loggingIn',
      'online.connecting',
      'online.initializing',
      'online.loggingIn',
      'online.ready',
    ]);
    const after = (await new FileCredentialStore(path).load())!;
    expect(after.previous).toMatchObject({
      clientToken: saved.previous!.clientToken,
      serverToken: saved.previous!.serverToken,
    });
    expect(after.clientToken).not.toBe(saved.clientToken);
  });

  it('an old credential file (version 1, no previous pair) still restores', async () => {
    const path = join(dir, 'session.json');
    const { previous: _previous, ...v1 } = (await (await pairedStore(emu)).load())!;
    await new FileCredentialStore(path).save(v1);
    expect((await run(emu.wsUrl, path, 'none')).end).toBe('online.ready');
  });
});

describe('aimed crashes between the server rotation and the client save', () => {
  const sequences: { kills: Aim[]; end: string }[] = [
    { kills: ['beforeSave'], end: 'online.ready' },
    { kills: ['afterSave'], end: 'online.ready' },
    { kills: ['beforeSave', 'afterSave'], end: 'online.ready' },
    { kills: ['afterSave', 'beforeSave'], end: 'online.ready' },
    { kills: ['afterSave', 'afterSave'], end: 'online.ready' },
    // Rotations in a row the client never learnt: the emulator keeps as previous the pair the client last
    // logged in with, until the new one is used (docs/protocol.md §2.5), so the pair in the file still works.
    { kills: ['beforeSave', 'beforeSave'], end: 'online.ready' },
    { kills: ['beforeSave', 'beforeSave', 'beforeSave'], end: 'online.ready' },
  ];
  for (const { kills, end } of sequences) {
    it(`killed ${kills.join(', then ')}: the next run ends in ${end}`, async () => {
      const path = await pairedFile();
      for (const aim of kills) expect((await run(emu.wsUrl, path, aim)).end).toBe('killed');
      const last = await run(emu.wsUrl, path, 'none');
      expect(last.end).toBe(end);
      expect(await new FileCredentialStore(path).load()).not.toBeNull();
    });
  }

  it('a SIGKILLed child between the rotation and its save: the next process restores', async () => {
    const path = await pairedFile();
    const child = spawn(
      process.execPath,
      [...entryArgs('test/support/rotation-client.ts'), emu.wsUrl, path],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        if (data.toString().includes('saving')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const health = await http(emu.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    const last = await run(emu.wsUrl, path, 'none');
    expect(last.end).toBe('online.ready');
    expect(last.states).toContain('online.challenged');
    expect((await new FileCredentialStore(path).load())?.wid).toBe(`${PHONE}@c.us`);
  }, 20_000);
});
