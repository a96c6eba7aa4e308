// What the service API suites set up alike: cleanups run in reverse after each test, a SessionService
// and its HTTP API over a directory and an emulator (with the emulator's MD server too when asked), and a
// poll until a probe gives a value.
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Emulator } from '../../emulator/index.ts';
import { type HttpService, SessionService, startHttpService } from '../../service/index.ts';
import { InProcessMediaQueue } from '../../workers/queues/index.ts';

export type Cleanups = (() => Promise<void> | void)[];

/** A list the test pushes its cleanups to; after each test they run, the last pushed first. */
export function cleanupsAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

export interface ServiceAtOptions {
  cleanups: Cleanups;
  token: string;
  /** Give the service the emulator's MD server as well (and name it in the API's info). */
  md?: boolean;
}

/** The service with its sessions and media under `dir`, and its HTTP API; closed by the cleanups. */
export async function serviceAt(
  dir: string,
  server: Emulator,
  options: ServiceAtOptions,
): Promise<{ api: HttpService; service: SessionService }> {
  const queue = new InProcessMediaQueue({ mediaDir: join(dir, 'media') });
  const service = new SessionService({
    wsUrl: server.wsUrl,
    ...(options.md ? { md: { wsUrl: server.mdWsUrl, rootPublicKey: server.md.rootPublicKey } } : {}),
    sessionsDir: join(dir, 'sessions'),
    queue,
  });
  const api = await startHttpService({
    service,
    info: {
      server: server.wsUrl,
      ...(options.md ? { mdServer: server.mdWsUrl } : {}),
      emulator: server.url,
      queue: 'in-process',
    },
    token: options.token,
  });
  options.cleanups.push(async () => {
    await api.close();
    await service.close();
    await queue.close();
  });
  return { api, service };
}

/** Polls `probe` every 20 ms until it gives something other than undefined; throws after `timeoutMs`. */
export async function untilDefined<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
