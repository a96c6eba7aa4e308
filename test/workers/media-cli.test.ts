// `walink media decrypt` as a user runs it: exit 0 only when every check passed, nothing written otherwise.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encryptMedia, sha256, toBase64 } from '../../crypto/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { fixturePath, MEDIA_SAMPLES, readFixture } from '../support/fixtures.ts';
import { cdnJob, tempDir } from '../support/media.ts';
import { emulator, fault } from '../support/session-harness.ts';
import { slowCdn } from '../support/slow-cdn.ts';

function walink(
  args: string[],
  options: { stdin?: Uint8Array; started?: (child: ChildProcess) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...walinkArgs(), ...args], {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (options.stdin) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.stdin);
    }
    options.started?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
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

/** `walink media decrypt` with the options every run needs, then any others. */
function decrypt(type: string, key: string, input: string, out: string, ...more: string[]) {
  return walink(['media', 'decrypt', '--type', type, '--key', key, '--in', input, '--out', out, ...more]);
}

describe('walink media decrypt', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it.each(MEDIA_SAMPLES)(
    'turns the $name sample (.encrypted) into exactly its .original',
    async ({ name, type }) => {
      const original = readFixture(`media/${name}.original`);
      const out = join(dir.path, `${name}.out`);
      const run = await decrypt(
        type,
        toBase64(readFixture(`media/${name}.key`)),
        fixturePath(`media/${name}.encrypted`),
        out,
        '--sha256',
        toBase64(sha256(original)),
        '--enc-sha256',
        toBase64(sha256(readFixture(`media/${name}.encrypted`))),
        '--length',
        String(original.length),
        '--json',
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        bytes: original.length,
        sha256: toBase64(sha256(original)),
      });
      expect(Buffer.compare(readFileSync(out), original)).toBe(0);
    },
  );

  it.each(MEDIA_SAMPLES)(
    'rejects the $name sample with one flipped byte: exit 1, no output file',
    async ({ name, type }) => {
      const object = Buffer.from(readFixture(`media/${name}.encrypted`));
      object[Math.floor(object.length / 2)]! ^= 0x01;
      const input = join(dir.path, 'flipped.enc');
      writeFileSync(input, object);
      const run = await decrypt(
        type,
        toBase64(readFixture(`media/${name}.key`)),
        input,
        join(dir.path, 'out'),
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('MAC_MISMATCH');
      expect(run.stdout).toBe('');
      expect(dir.files()).toEqual(['flipped.enc']);
    },
  );

  it('answers a usage mistake with exit 2 and a message, never a stack trace', async () => {
    const run = await decrypt('image', 'c2hvcnQ=', 'x', 'y');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('walink media decrypt: --key must be 32 bytes, got 5\n');
    // "A" passes the alphabet check but is no base64 at all: it used to end in a stack trace.
    expect(await decrypt('image', 'A', 'x', 'y')).toMatchObject({
      code: 2,
      stderr: 'walink media decrypt: --key is not base64\n',
    });
  });

  it('refuses an impossible --length before reading a 2 GiB input, and leaves nothing behind', async () => {
    const input = join(dir.path, 'huge.enc');
    closeSync(openSync(input, 'w'));
    execFileSync('truncate', ['-s', '2G', input]); // sparse: no disk, but 2 GiB to read
    const run = await decrypt(
      'video',
      toBase64(new Uint8Array(32)),
      input,
      join(dir.path, 'out'),
      '--length',
      '5',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'walink media decrypt: LENGTH_MISMATCH: a plaintext of 5 bytes (fileLength) is an object of 26 bytes; this one is 2147483648 bytes\n',
    );
    expect(dir.files()).toEqual(['huge.enc']);
  });

  it('reads standard input with `--in -`, and stops reading it as soon as it outgrows --length', async () => {
    const { name, type } = MEDIA_SAMPLES[1];
    const object = readFixture(`media/${name}.encrypted`);
    const original = readFixture(`media/${name}.original`);
    const key = toBase64(readFixture(`media/${name}.key`));
    const out = join(dir.path, 'from-stdin');
    const ok = await walink(['media', 'decrypt', '--type', type, '--key', key, '--in', '-', '--out', out], {
      stdin: object,
    });
    expect(ok.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), original)).toBe(0);

    const flood = await walink(
      [
        ...['media', 'decrypt', '--type', type, '--key', key, '--in', '-'],
        ...['--out', join(dir.path, 'no'), '--length', '100'],
      ],
      { stdin: new Uint8Array(8 * 1024 * 1024) },
    );
    expect(flood.code).toBe(1);
    expect(flood.stderr).toBe(
      'walink media decrypt: LENGTH_MISMATCH: a plaintext of 100 bytes (fileLength) is an object of 122 bytes; this one is longer\n',
    );
    expect(dir.files()).toEqual(['from-stdin']);
  });

  it('refuses a FIFO as input instead of hanging on it', async () => {
    const fifo = join(dir.path, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const run = await decrypt('image', toBase64(new Uint8Array(32)), fifo, join(dir.path, 'out'));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `walink media decrypt: NOT_A_FILE: ${fifo} is a FIFO, not a regular file (use --in - to read standard input)\n`,
    );
    expect(dir.files()).toEqual(['in.fifo']);
  });

  it('on SIGINT mid-download removes its temporary file and exits 130', async () => {
    const mediaKey = new Uint8Array(32).fill(3);
    const encrypted = encryptMedia(new Uint8Array(3_000_000).fill(1), mediaKey, 'document');
    const served = await slowCdn(encrypted.object, 16 * 1024, 20);
    try {
      const run = await walink(
        [
          'media',
          'decrypt',
          '--type',
          'document',
          '--key',
          toBase64(mediaKey),
          '--in',
          served.url,
          '--out',
          join(dir.path, 'doc'),
        ],
        {
          started: (child) => {
            const poll = setInterval(() => {
              if (!dir.files().some((f) => f.endsWith('.part'))) return;
              clearInterval(poll);
              child.kill('SIGINT');
            }, 5);
            child.on('exit', () => clearInterval(poll));
          },
        },
      );
      expect(run.code).toBe(130);
      expect(run.stderr).toBe('walink media decrypt: interrupted by SIGINT; nothing was written\n');
      expect(dir.files()).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('names a missing input file as an IO failure', async () => {
    const run = await decrypt(
      'image',
      toBase64(new Uint8Array(32)),
      join(dir.path, 'absent.enc'),
      join(dir.path, 'out'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^walink media decrypt: IO: ENOENT/);
    expect(dir.files()).toEqual([]);
  });

  it('says clearly when Redis is not there, and exits instead of hanging', async () => {
    const run = await walink([
      'media',
      'status',
      '--redis',
      'redis://127.0.0.1:1',
      '--connect-timeout',
      '1000',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^walink media status: REDIS_UNREACHABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/? within 1000 ms \(connect ECONNREFUSED 127\.0\.0\.1:1\)\n$/,
    );
    expect(run.stderr).not.toContain('    at ');
  });

  describe('from the emulator CDN', () => {
    let emu: Emulator;
    beforeAll(async () => {
      emu = await emulator();
    });
    afterAll(() => emu.close());

    it('retries a 500 and then succeeds; a 404 is "media expired" with no retry', async () => {
      const plaintext = new Uint8Array(100_000).map((_, i) => i * 7);
      const job = cdnJob(emu, plaintext);
      await fault(emu, { kind: 'cdn', status: 500, times: 1 });
      const out = join(dir.path, 'ok');
      const args = ['media', 'decrypt', '--type', 'image', '--key', toBase64(job.mediaKey), '--out', out];
      const ok = await walink([...args, '--in', job.url!, '--sha256', toBase64(job.fileSha256!)]);
      expect(ok.stderr).toContain('try 1 failed (HTTP_5XX)');
      expect(ok.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), plaintext)).toBe(0);

      const gone = await walink([...args, '--in', `${emu.url}/d/f/${'0'.repeat(32)}.enc`]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^walink media decrypt: MEDIA_EXPIRED: .* 404/);
      expect(gone.stderr).not.toContain('try 1 failed');
    });
  });
});
