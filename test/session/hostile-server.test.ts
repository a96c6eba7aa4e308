// No server input may crash the process (issue 12, High 1): a hostile server's answers become typed
// failures or dropped frames, and an exception inside one session's own code ends that session in
// `failed` (internalError) while every other session in the process carries on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSession, type Session, SessionManager } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { SessionService } from '../../service/index.ts';
import { InProcessMediaQueue } from '../../workers/queues/index.ts';
import { hostileAnswers, hostileScript, startHostileServer } from '../support/hostile-server.ts';
import { http } from '../support/raw-client.ts';
import {
  emulator,
  FAST_TIMING,
  fault,
  PHONE,
  pairedStore,
  settle,
  until,
} from '../support/session-harness.ts';

let emu: Emulator;
const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeEach(async () => {
  crashes.length = 0;
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  emu = await emulator({ refTtlMs: 1_000 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await emu.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

async function started(options: Parameters<typeof createSession>[0]): Promise<Session> {
  const session = await createSession({ timing: FAST_TIMING, ...options });
  cleanups.push(() => session.stop());
  // An application that subscribes without an error handler: an error on the stream would be thrown.
  session.events$.subscribe(() => undefined);
  return session.start();
}

describe('hostile answers are typed, and the process lives', () => {
  it('a ref with a comma in the init answer: failed (badServerAnswer), nothing uncaught', async () => {
    await fault(emu, { kind: 'answer', at: 'init', body: { status: 200, ref: '1@abc,def', ttl: 20_000 } });
    const session = await started({ url: emu.wsUrl });
    const state = await session.waitFor((s) => s.resting, 5_000);
    expect(state).toMatchObject({ name: 'failed', reason: 'badServerAnswer' });
    await settle(50);
    expect(crashes).toEqual([]);
  });

  it('a ref with a comma in the reref answer: the frame is dropped (FRAME_BAD_ANSWER), then a new socket', async () => {
    await fault(emu, { kind: 'answer', at: 'reref', body: { status: 200, ref: '2@abc,def', ttl: 1_000 } });
    const session = await started({ url: emu.wsUrl, timing: { ...FAST_TIMING, rerefTimeout: 300 } });
    const dropped: string[] = [];
    session.events$.subscribe((e) => {
      if (e.type === 'frame.dropped') dropped.push(e.code);
    });
    await session.waitFor((s) => s.name === 'reconnecting', 5_000);
    expect(dropped).toEqual(['FRAME_BAD_ANSWER']);
    await session.waitFor((s) => s.name === 'online.qr.showing', 5_000);
    expect(crashes).toEqual([]);
  });
});

describe('one session cannot take the others down', () => {
  it('in a SessionManager: a hostile server and a session whose own code throws; the third stays ready', async () => {
    const hostile = await startHostileServer({ script: hostileAnswers });
    cleanups.push(() => hostile.close());
    const manager = new SessionManager();
    cleanups.push(() => manager.stopAll());
    const store = await pairedStore(emu);
    let draws = 0;
    const [honest, attacked, buggy] = await Promise.all([
      manager.add('honest', { url: emu.wsUrl, store, timing: FAST_TIMING }),
      manager.add('attacked', { url: hostile.url, timing: FAST_TIMING }),
      // Its jitter source throws on the first reconnect: an exception inside the machine's own action.
      manager.add('buggy', {
        url: emu.wsUrl,
        store: await pairedStore(emu),
        timing: FAST_TIMING,
        random: () => {
          draws += 1;
          throw new Error('the jitter source broke');
        },
      }),
    ]);
    const errors: string[] = [];
    manager.events$.subscribe(({ session, event }) => {
      if (event.type === 'error') errors.push(`${session}: ${event.message}`);
    });
    expect(attacked.state).toMatchObject({ name: 'failed', reason: 'badServerAnswer' });
    await fault(emu, { kind: 'closeSocket', at: 'now' });
    await until(() => buggy.state.name === 'failed' || draws > 0);
    await buggy.waitFor((s) => s.resting, 5_000);
    expect(buggy.state).toMatchObject({ name: 'failed', reason: 'internalError', resting: true });
    expect(errors).toContainEqual(expect.stringMatching(/^buggy: machine: Error: the jitter source broke/));
    // The honest session lost its socket to the same fault, reconnected and is ready again.
    await honest.waitFor((s) => s.name === 'online.ready', 5_000);
    await settle(100);
    expect(honest.state.name).toBe('online.ready');
    expect(crashes).toEqual([]);
  });

  it('a session that failed inside its own code restarts from its last credentials', async () => {
    let broken = true;
    const session = await started({
      url: emu.wsUrl,
      store: await pairedStore(emu),
      random: () => {
        if (broken) throw new Error('broken once');
        return 0.5;
      },
    });
    await session.waitFor((s) => s.name === 'online.ready', 5_000);
    await fault(emu, { kind: 'closeSocket', at: 'now' });
    await session.waitFor((s) => s.name === 'failed', 5_000);
    expect(session.state.reason).toBe('internalError');
    expect(session.state.me).toBe(`${PHONE}@c.us`);
    broken = false;
    session.restart();
    await session.waitFor((s) => s.name === 'online.ready', 5_000);
    expect(crashes).toEqual([]);
  });

  it('in one SessionService (walink serve): a hostile server for one session, the other pairs and stays ready', async () => {
    const hostileIds = new Set<string>();
    const hostile = await startHostileServer({
      script: hostileAnswers,
      // The first session to say init is the attacked one; every later one goes to the emulator.
      hostile: (clientId) => {
        if (hostileIds.size === 0) hostileIds.add(clientId);
        return hostileIds.has(clientId);
      },
      pipeTo: emu.wsUrl,
    });
    cleanups.push(() => hostile.close());
    const dir = mkdtempSync(join(tmpdir(), 'walink-hostile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const service = new SessionService({
      wsUrl: hostile.url,
      sessionsDir: dir,
      queue: new InProcessMediaQueue({ mediaDir: join(dir, 'media') }),
    });
    cleanups.push(() => service.close());
    await service.create('attacked');
    await until(() => service.view('attacked')?.state === 'failed', 5_000);
    await service.create('honest');
    await until(() => service.view('honest')?.qr !== null, 5_000);
    const scan = await http(emu.url, 'POST', `/phones/${PHONE}/scan`, {
      qr: service.view('honest')!.qr!.text,
    });
    expect(scan.status).toBe(200);
    await until(() => service.view('honest')?.state === 'online.ready', 5_000);
    await settle(100);
    expect(service.view('attacked')).toMatchObject({ state: 'failed', failure: 'badServerAnswer' });
    expect(service.view('honest')?.state).toBe('online.ready');
    expect(crashes).toEqual([]);
  });
});

describe('a server that stores nothing it should not', () => {
  it('hostile Conn pushes on a restore are dropped with FRAME_BAD_CONN and reach no store', async () => {
    const hostile = await startHostileServer({ script: hostileScript({ initRef: '1@fine' }) });
    cleanups.push(() => hostile.close());
    const store = await pairedStore(emu);
    const before = await store.load();
    const saves = store.saves;
    const session = await started({ url: hostile.url, store });
    const codes: string[] = [];
    session.events$.subscribe((e) => {
      if (e.type === 'frame.dropped') codes.push(e.code);
    });
    const state = await session.waitFor((s) => s.resting, 5_000);
    await session.stop();
    // The login's answer had no status that is a number: a bad request, the credentials kept.
    expect(state).toMatchObject({ name: 'failed', reason: 'badRequest' });
    expect(codes).toEqual([
      'FRAME_BAD_CONN',
      'FRAME_BAD_CONN',
      'FRAME_BAD_CONN',
      'FRAME_BAD_PUSH',
      'FRAME_BAD_PUSH',
    ]);
    expect(store.saves).toBe(saves);
    expect(await store.load()).toEqual(before);
    expect(crashes).toEqual([]);
  });
});
