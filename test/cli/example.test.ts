// The README's library example runs as printed.

import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { entryArgs } from '../support/compiled.ts';

it('examples/session.ts pairs, exchanges a message each way and logs out', () => {
  const run = spawnSync(process.execPath, entryArgs('examples/session.ts'), {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('state '))).toEqual([
    'state starting',
    'state online.connecting',
    'state online.initializing',
    'state online.qr.showing',
    'state online.ready',
    'state online.loggingOut',
    'state loggedOut',
  ]);
  expect(lines).toContain('message 491700000001@c.us hello from the phone');
  expect(lines.some((l) => /^acknowledged 3EB0[0-9A-F]{16} 200$/.test(l))).toBe(true);
});
