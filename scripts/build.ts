// `npm run build`: the sources compiled into dist/ (JavaScript and declarations, tsconfig.build.json),
// with the files the code reads at run time (the page under service/static, .proto schemas, JSON tables)
// copied to the same places beside it, so `new URL('./x', import.meta.url)` finds them from dist/ too.
// dist/cli/main.js, what every `walink` run loads first, is then bundled into one file with commander
// (see bundleCommandLine).
//   node bin/run-ts.js scripts/build.ts [--no-check]    (--no-check: emit without type checking; the
//   tests use it because `npm test` type-checks on its own)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as bundle } from 'esbuild';

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

// Every `walink` run resolves, reads and links dist/cli/main.js, its seven command modules, usage.js and
// commander's eight CommonJS files before it does anything; in one file that is ~15 ms less per run (a
// loop of `walink media decrypt`s pays it each time). What the commands load when they run stays outside
// as the compiled modules, so their assets are still found beside them: every dynamic import is left
// external, its path rewritten to be relative to the bundle.
async function bundleCommandLine(): Promise<void> {
  const entry = join(OUT, 'cli', 'main.js');
  await bundle({
    entryPoints: [entry],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    // commander is CommonJS: its require() calls need a real require in an ES module.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'lazy-imports-stay-outside',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind !== 'dynamic-import') return undefined;
            if (!args.path.startsWith('.')) return { path: args.path, external: true };
            const target = relative(dirname(entry), join(dirname(args.importer), args.path));
            return { path: target.startsWith('.') ? target : `./${target}`, external: true };
          });
        },
      },
    ],
  });
}

export async function build(check: boolean): Promise<void> {
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
  await bundleCommandLine();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `build: ${relative(ROOT, OUT)}/ with ${declarations} declaration files and ${assets.length} run-time assets in ${seconds} s`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await build(!process.argv.includes('--no-check'));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
