import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Most files spend their time waiting on sockets, child processes and Redis, not on the CPU, so more
// workers than cores shortens the run; WALINK_TEST_WORKERS overrides it (1 to debug a flaky order).
const WORKERS = Number(process.env.WALINK_TEST_WORKERS) || 3;

// The files that take longest start first, so the run does not end waiting on one of them alone.
// Vitest orders by the durations it cached, but a clean clone (CI) has no cache.
const SLOW_FIRST = [
  'test/model/',
  'test/emulator/md/hostile.test.ts',
  'test/codec/properties.test.ts',
  'test/cli/start-md.test.ts',
  'test/workers/bullmq.test.ts',
  'test/service/serve-page.test.ts',
  'test/actors/credential-store.test.ts',
  'test/cli/start.test.ts',
  'test/actors/md/md-credential-kill.test.ts',
  'test/session/md-credential-kill.test.ts',
  'test/session/session-e2e.test.ts',
  'test/workers/media-cli.test.ts',
  'test/emulator/md/conformance.test.ts',
  'test/workers/redis-outage.test.ts',
];

function rank(spec: TestSpecification): number {
  const index = SLOW_FIRST.findIndex((prefix) => spec.moduleId.includes(prefix));
  return index === -1 ? SLOW_FIRST.length : index;
}

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return sorted
      .map((spec, order) => ({ spec, order }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.order - b.order)
      .map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    isolate: false,
    maxWorkers: WORKERS,
    sequence: { sequencer: SlowFirstSequencer },
    reporters: ['default'],
  },
});
