// `npm run build`: the sources compiled into dist/ (JavaScript and declarations, tsconfig.build.json),
// with the files the code reads at run time (the page under service/static, .proto schemas, JSON tables)
// copied to the same places beside it, so `new URL('./x', import.meta.url)` finds them from dist/ too.
//   node bin/run-ts.js scripts/build.ts [--no-check]    (--no-check: emit without type checking; the
//   tests use it because `npm test` type-checks on its own)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(ROOT, 'tsconfig.build.json');
const config = JSON.parse(readFileSync(CONFIG, 'utf8')) as {
  compilerOptions: { outDir: string };
  include: string[];
};
const OUT = join(ROOT, config.compilerOptions.outDir);

function* filesUnder(path: string): Generator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return; // a folder of the list that this checkout does not have (yet)
  }
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile()) yield full;
  }
}

/** Everything under the compiled folders that is not TypeScript: the code reads these at run time. */
export function runtimeAssets(): string[] {
  return config.include
    .flatMap((folder) => [...filesUnder(join(ROOT, folder))])
    .filter((file) => !file.endsWith('.ts'));
}

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript but not in the declarations; consumers resolving
// dist/*.d.ts with any module setting expect `.js`.
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

function rewriteDeclarations(): number {
  let count = 0;
  for (const file of filesUnder(OUT)) {
    if (!file.endsWith('.d.ts')) continue;
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(TS_SPECIFIER, '$1$2$3.js$2');
    if (rewritten !== text) writeFileSync(file, rewritten);
    count++;
  }
  return count;
}

export function build(check: boolean): void {
  const started = performance.now();
  rmSync(OUT, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', CONFIG, ...(check ? [] : ['--noCheck'])];
  // tsc reports on stderr too: whoever runs the build may be printing JSON on stdout.
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`build: tsc failed (exit ${result.status ?? result.signal})`);
  const assets = runtimeAssets();
  for (const file of assets) {
    const target = join(OUT, relative(ROOT, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  const declarations = rewriteDeclarations();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `build: ${relative(ROOT, OUT)}/ with ${declarations} declaration files and ${assets.length} run-time assets in ${seconds} s`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    build(!process.argv.includes('--no-check'));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
