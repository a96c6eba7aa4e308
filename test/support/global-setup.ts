// Vitest's global setup: the sources compiled once per run into .cache/test-build/<run>/ (esbuild, no
// type check: `npm test` runs tsc itself), so the CLI and helper processes the tests spawn start as
// compiled JavaScript, like the installed package, instead of paying tsx's loader (~0.5 s of CPU) each.
// test/support/compiled.ts gives the tests the paths; WALINK_TEST_FROM_SOURCE=1 spawns from the sources.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import type { TestProject } from 'vitest/node';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What spawned processes run: the package's folders (tsconfig.build.json), the examples, the test helpers. */
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const FOLDERS = [...PACKAGE.include, 'examples', 'test/support'];
// `./x.ts` → `./x.js` in static imports, re-exports and dynamic imports (what tsc's
// rewriteRelativeImportExtensions does for the package build).
const TS_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;
/** Build folders older than this belong to runs that ended without cleaning up. */
const STALE_MS = 60 * 60 * 1000;

function* filesUnder(path: string): Generator<string> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile()) yield full;
  }
}

async function compileInto(out: string): Promise<number> {
  const files = FOLDERS.flatMap((folder) => [...filesUnder(join(ROOT, folder))]);
  await Promise.all(
    files.map(async (file) => {
      const target = join(out, relative(ROOT, file));
      mkdirSync(dirname(target), { recursive: true });
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) {
        copyFileSync(file, target);
        return;
      }
      const source = readFileSync(file, 'utf8');
      const { code } = await transform(source, {
        loader: 'ts',
        format: 'esm',
        platform: 'node',
        target: 'node20.19', // the engines floor; an older target would drop JSON import attributes
        sourcefile: file,
        sourcemap: 'inline',
      });
      writeFileSync(target.replace(/\.ts$/, '.js'), code.replace(TS_SPECIFIER, '$1$2$3.js$2'));
    }),
  );
  return files.length;
}

function removeStale(base: string): void {
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const path = join(base, entry.name);
    if (entry.isDirectory() && Date.now() - statSync(path).mtimeMs > STALE_MS)
      rmSync(path, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const base = join(ROOT, '.cache/test-build');
  mkdirSync(base, { recursive: true });
  removeStale(base);
  const out = join(base, String(process.pid));
  rmSync(out, { recursive: true, force: true });
  await compileInto(out);
  project.provide('compiledRoot', out);
  return () => rmSync(out, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    compiledRoot: string;
  }
}
