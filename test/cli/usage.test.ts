// `walink` as a user mistypes it: every usage mistake exits 2 with one line on stderr and no stack
// trace; `--help` loads commander and none of the heavy dependencies.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walinkArgs } from '../support/compiled.ts';
import { tempDir } from '../support/media.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function walink(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...walinkArgs(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const KEY = Buffer.alloc(32, 7).toString('base64');

// One of each kind of mistake, across commands. Each prints `walink <command>: …` and nothing else.
const MISTAKES: Array<{ args: string[]; says: RegExp }> = [
  {
    args: ['emulator', '--port', 'abc'],
    says: /^walink emulator: option '--port <port>' argument 'abc' is invalid\. expected an integer 0\.\.65535\.$/,
  },
  {
    args: ['serve', '--port', '70000'],
    says: /^walink serve: .*'70000' is invalid\. expected an integer 0\.\.65535/,
  },
  {
    args: ['start', '--phone', '12ab'],
    says: /^walink start: .*'12ab' is invalid\. expected 5 to 20 digits\.$/,
  },
  { args: ['worker', '--concurrency', '0'], says: /^walink worker: .*expected an integer 1\.\.256\.$/ },
  {
    args: ['media', 'decrypt', '--type', 'image', '--in', 'x', '--out', 'y'],
    says: /^walink media decrypt: required option '--key <base64>' not specified$/,
  },
  {
    args: ['media', 'decrypt', '--type', 'gif89', '--key', KEY, '--in', 'x', '--out', 'y'],
    says: /^walink media decrypt: option '--type <type>' argument 'gif89' is invalid. must be one of/,
  },
  {
    args: ['media', 'decrypt', '--type', 'image', '--key', 'A', '--in', 'x', '--out', 'y'],
    says: /^walink media decrypt: --key is not base64$/,
  },
  { args: ['media', 'enqueue', '--type', 'image', '--key', KEY], says: /^walink media enqueue: give --url/ },
  {
    args: ['emulator', '--prot', '1'],
    says: /^walink emulator: unknown option '--prot' \(Did you mean --port\?\)$/,
  },
  { args: ['diagram', 'nothing'], says: /^walink diagram: unknown machine "nothing" \(known: session, / },
  { args: ['nonsense'], says: /^walink: unknown command 'nonsense'$/ },
];

describe('usage mistakes', () => {
  it.concurrent.each(MISTAKES)('walink $args.0 … exits 2 with one line', async ({ args, says }) => {
    const run = await walink(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([expect.stringMatching(says), '']);
  });

  it('--help and --version exit 0 on stdout', async () => {
    const [help, version, subHelp] = await Promise.all([
      walink(['--help']),
      walink(['--version']),
      walink(['media', 'decrypt', '--help']),
    ]);
    expect([help.code, version.code, subHelp.code]).toEqual([0, 0, 0]);
    expect(help.stdout).toMatch(/^Usage: walink /);
    expect(version.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
    expect(subHelp.stdout).toContain('--enc-sha256 <base64>');
  });

  it('a failure after parsing (a port in use) exits 1 with one line and leaves nothing running', async () => {
    const first = spawn(process.execPath, [...walinkArgs(), 'emulator', '--port', '0'], { stdio: 'pipe' });
    try {
      const url = await new Promise<string>((resolve) =>
        first.stdout.on('data', (d: Buffer) => {
          const match = /listening on (http:\/\/\S+)/.exec(d.toString());
          if (match) resolve(match[1]!);
        }),
      );
      const run = await walink(['emulator', '--port', new URL(url).port]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^walink emulator: EADDRINUSE: .*\n$/);
    } finally {
      first.kill('SIGKILL');
    }
  });
});

describe('walink --help', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir('walink-usage-');
  });
  afterEach(() => dir.remove());

  it('loads commander and no other package: no BullMQ, ioredis, XState, pino, protobufjs, ws', async () => {
    const log = join(dir.path, 'imports.log');
    const run = await walink(['--help'], { WALINK_IMPORT_LOG: log }, [
      '--import',
      './test/support/import-log.mjs',
    ]);
    expect(run.code).toBe(0);
    const urls = readFileSync(log, 'utf8').trim().split('\n');
    // The loader (tsx) belongs to running from source; the compiled package has none.
    const packages = new Set(
      urls
        .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
        .filter((name): name is string => name !== undefined && name !== 'tsx' && name !== 'esbuild'),
    );
    expect([...packages]).toEqual(['commander']);
    // Our own modules: the command line's surface, and the light front doors its option parsers check
    // values with (crypto/ and workers/ without their md/ and queues/ rooms: node built-ins only).
    const ours = urls.filter((url) => url.startsWith('file:') && !url.includes('/node_modules/'));
    expect(ours.length).toBeGreaterThan(3);
    for (const url of ours)
      expect(url).toMatch(
        /\/(bin\/walink\.js|cli\/(main|usage|commands\/[a-z-]+)\.[jt]s|crypto\/[a-z0-9-]+\.[jt]s|workers\/[a-z-]+\.[jt]s)$/,
      );
  });
});
