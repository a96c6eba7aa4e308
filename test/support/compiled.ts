// Where a test finds the programs it spawns: the compiled copy test/support/global-setup.ts made for
// this run (plain `node file.js`), or the sources through tsx with WALINK_TEST_FROM_SOURCE=1 (and when a
// file runs outside Vitest's global setup).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function compiledRoot(): string | null {
  if (process.env.WALINK_TEST_FROM_SOURCE === '1') return null;
  try {
    return inject('compiledRoot') ?? null;
  } catch {
    return null;
  }
}

/** The node arguments that run `walink`: `spawn(process.execPath, [...walinkArgs(), 'start', …])`. */
export function walinkArgs(): string[] {
  const root = compiledRoot();
  return [root ? join(root, 'cli/main.js') : join(ROOT, 'bin/walink.js')];
}

/** The node arguments that run one TypeScript entry point of the repository (a path from its root). */
export function entryArgs(file: string): string[] {
  const root = compiledRoot();
  return root ? [join(root, file.replace(/\.ts$/, '.js'))] : [join(ROOT, 'bin/run-ts.js'), join(ROOT, file)];
}
