// The lanes the emulator-backed model suites run their paths in: a few at a time, each lane on an
// emulator of its own (an emulator's faults are global to it, and most of a path's time is spent waiting
// on sockets, not the CPU); every path starts its world, runs, and stops it before the lane is free again.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Emulator } from '../../emulator/index.ts';

export const LANES = 4;

class EmulatorPool {
  private readonly idle: Emulator[] = [];
  private readonly waiting: ((emulator: Emulator) => void)[] = [];

  constructor(readonly all: Emulator[]) {
    this.idle.push(...all);
  }

  acquire(): Promise<Emulator> {
    const free = this.idle.pop();
    return free ? Promise.resolve(free) : new Promise((resolve) => this.waiting.push(resolve));
  }

  release(emulator: Emulator): void {
    const next = this.waiting.shift();
    if (next) next(emulator);
    else this.idle.push(emulator);
  }
}

export interface LaneWorld {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface LaneOptions<W extends LaneWorld> {
  /** One lane's emulator. */
  emulator: () => Promise<Emulator>;
  paths: readonly (readonly string[])[];
  /** The world a path runs in, on its lane's emulator. */
  world: (server: Emulator) => W;
  /** A path's steps and assertions, once its world has started. */
  run: (world: W, names: readonly string[]) => Promise<void>;
  timeoutMs?: number;
}

/**
 * Inside a describe: starts the lanes' emulators before its tests and closes them after, and runs every
 * path as a test of its own (`path N: a → b`) in a concurrent block named "every path".
 */
export function pathsInLanes<W extends LaneWorld>(options: LaneOptions<W>): void {
  let pool: EmulatorPool;

  beforeAll(async () => {
    pool = new EmulatorPool(await Promise.all(Array.from({ length: LANES }, () => options.emulator())));
  });

  afterAll(async () => {
    await Promise.all(pool?.all.map((server) => server.close()) ?? []);
  });

  describe.concurrent('every path', () => {
    it.each(options.paths.map((path, index) => [index + 1, path.join(' → '), path] as const))(
      'path %i: %s',
      async (_index, _label, names) => {
        const server = await pool.acquire();
        const world = options.world(server);
        try {
          await world.start();
          await options.run(world, names);
        } finally {
          await world.stop();
          pool.release(server);
        }
      },
      options.timeoutMs ?? 30_000,
    );
  });
}
