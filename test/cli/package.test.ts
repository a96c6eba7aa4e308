// The package as npm ships it: `npm pack` of a fresh build, installed into an empty folder with its
// production dependencies only, runs `walink` from dist/ with no TypeScript loader anywhere.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, runtimeAssets } from '../../scripts/build.ts';
import { fixturePath, readFixture } from '../support/fixtures.ts';
import { tempDir } from '../support/media.ts';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function npm(args: string[], cwd: string): string {
  const run = spawnSync(NPM, [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

describe('the packed package', () => {
  let dir: ReturnType<typeof tempDir>;
  let app: string;
  let files: string[];
  let bin: string;

  beforeAll(async () => {
    dir = tempDir('walink-package-');
    // `npm test` type-checks on its own; the emitted JavaScript is the same either way.
    await build(false);
    const packed = JSON.parse(
      npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir.path], '.'),
    );
    const [{ filename, files: entries }] = packed as [{ filename: string; files: Array<{ path: string }> }];
    files = entries.map((entry) => entry.path);
    app = join(dir.path, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "scratch", "private": true }\n');
    npm(['install', '--omit=dev', '--prefer-offline', '--no-save', join(dir.path, filename)], app);
    bin = join(app, 'node_modules', '.bin', 'walink');
  }, 300_000);
  afterAll(() => dir?.remove());

  it('holds the compiled code, its declarations and run-time assets, and no sources or tests', () => {
    for (const file of [
      'dist/cli/main.js',
      'dist/cli/main.d.ts',
      'dist/service/static/index.html',
      'dist/codec/legacy/proto/whatsapp.proto',
      'README.md',
      'package.json',
    ]) {
      expect(files).toContain(file);
    }
    // Every file the code reads at run time (the page, schemas, JSON tables), in its place under dist/.
    const assets = runtimeAssets().map((file) => `dist/${relative(process.cwd(), file)}`);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    expect(files).toEqual(expect.arrayContaining(assets));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /^(test|bench|scripts|bin)\//.test(f))).toEqual([]);
    // Declarations import each other by their .js names, which every TypeScript setup resolves.
    const declarations = readFileSync(join(app, 'node_modules/walink/dist/actors/index.d.ts'), 'utf8');
    expect(declarations).toMatch(/from '\.\/session\.js'/);
    expect(declarations).not.toMatch(/\.ts'/);
  });

  it('installed its production dependencies only', () => {
    const installed = (name: string) => existsSync(join(app, 'node_modules', name, 'package.json'));
    expect(['commander', 'xstate', 'bullmq'].every(installed)).toBe(true);
    expect(['typescript', 'vitest', '@biomejs/biome', 'mermaid'].some(installed)).toBe(false);
  });

  it('walink --help runs from dist/ and loads no package but its own (commander is bundled in)', () => {
    const log = join(dir.path, 'imports.log');
    const hook = join(process.cwd(), 'test/support/import-log.mjs');
    const run = spawnSync(process.execPath, ['--import', hook, bin, '--help'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, WALINK_IMPORT_LOG: log },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: walink /);
    const urls = readFileSync(log, 'utf8').trim().split('\n');
    const modules = urls.filter((url) => url.startsWith('file:'));
    for (const url of modules) expect(url).toContain('/app/node_modules/');
    const packages = new Set(modules.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]));
    expect([...packages]).toEqual(['walink']);
    expect(
      modules.filter((url) => url.includes('/walink/')).every((url) => url.includes('/walink/dist/')),
    ).toBe(true);
  });

  it('walink media decrypt turns a sample into its original', () => {
    const out = join(dir.path, 'image.out');
    const run = spawnSync(
      bin,
      [
        'media',
        'decrypt',
        '--type',
        'image',
        '--key',
        Buffer.from(readFixture('media/IMAGE.key')).toString('base64'),
        '--in',
        fixturePath('media/IMAGE.encrypted'),
        '--out',
        out,
        '--json',
      ],
      { cwd: app, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFixture('media/IMAGE.original'))).toBe(0);
  });

  it('walink start pairs with its embedded emulator and reaches online.ready, then stops on SIGINT', async () => {
    const child = spawn(
      bin,
      ['start', '--json', '--scan-after', '100', '--session', join(app, 's/session.json')],
      {
        cwd: app,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const states: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as { type: string; state?: string };
        if (event.type === 'state') states.push(event.state!);
        if (event.state === 'online.ready') resolve();
      });
      void exited.then((code) => reject(new Error(`walink start exited ${code}: ${stderr}`)));
    });
    expect(states).toEqual(['online.connecting', 'online.initializing', 'online.qr.showing', 'online.ready']);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    clearTimeout(killer);
  }, 40_000);

  it.runIf(existsSync('index.ts'))('is importable as a library by its name, with types', async () => {
    const script = join(app, 'probe.mjs');
    writeFileSync(script, "const m = await import('walink'); console.log(Object.keys(m).length);\n");
    const run = spawnSync(process.execPath, [script], { cwd: app, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(Number(run.stdout)).toBeGreaterThan(0);
    expect(existsSync(join(app, 'node_modules/walink/dist/index.d.ts'))).toBe(true);
  });
});
