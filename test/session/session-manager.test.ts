// Many sessions in one process against the emulator, with a bound on concurrent connects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCredentialStore, SessionManager } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { http } from '../support/raw-client.ts';
import { emulator, FAST_TIMING } from '../support/session-harness.ts';

const COUNT = 30;
const BOUND = 5;

describe('SessionManager', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await emulator();
  });
  afterAll(() => emu.close());

  async function runAll(stores: MemoryCredentialStore[], scan: boolean) {
    const manager = new SessionManager({ concurrentConnects: BOUND, connectSlotMs: 10_000 });
    const connecting = new Set<string>();
    let most = 0;
    const paths = new Map<string, string[]>();
    manager.events$.subscribe(({ session, event }) => {
      if (event.type === 'qr' && scan)
        void http(emu.url, 'POST', `/phones/4915100${session.padStart(5, '0')}/scan`, { qr: event.text });
      if (event.type !== 'state') return;
      paths.set(session, [...(paths.get(session) ?? []), event.state]);
      if (event.state === 'online.connecting') connecting.add(session);
      // Showing a QR code waits for a human, not the network: the connect slot is free again.
      if (event.state === 'online.ready' || event.state.startsWith('online.qr')) connecting.delete(session);
      most = Math.max(most, connecting.size);
    });
    const sessions = await Promise.all(
      stores.map((store, i) => manager.add(String(i), { url: emu.wsUrl, store, timing: FAST_TIMING })),
    );
    await Promise.all(sessions.map((s) => s.waitFor((state) => state.name === 'online.ready', 15_000)));
    await manager.stopAll();
    return { most, paths, size: manager.size };
  }

  it(`runs ${COUNT} sessions with at most ${BOUND} connecting at once, then restores them all by login`, async () => {
    const stores = Array.from({ length: COUNT }, () => new MemoryCredentialStore());
    const paired = await runAll(stores, true);
    expect(paired.most).toBeLessThanOrEqual(BOUND);
    expect(paired.most).toBeGreaterThan(1);
    expect(paired.size).toBe(0);
    for (const store of stores) expect((await store.load())?.wid).toMatch(/^4915100\d{5}@c\.us$/);
    expect(new Set(await Promise.all(stores.map(async (s) => (await s.load())?.wid))).size).toBe(COUNT);

    const restored = await runAll(stores, false);
    expect(restored.most).toBeLessThanOrEqual(BOUND);
    expect(restored.most).toBeGreaterThan(1);
    for (const path of restored.paths.values())
      expect(path).toEqual(['online.connecting', 'online.initializing', 'online.loggingIn', 'online.ready']);
  }, 40_000);

  it('refuses a second session under the same name', async () => {
    const manager = new SessionManager();
    await manager.add('a', { url: emu.wsUrl, timing: FAST_TIMING });
    await expect(manager.add('a', { url: emu.wsUrl })).rejects.toThrow('a session named a exists');
    await manager.stopAll();
  });
});
