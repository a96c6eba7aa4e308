// Where media may come from: only http(s), only allowed hosts (redirects included), a directPath only as a
// path on the media host, and a download that ends within a deadline and above a minimum rate. The url
// and directPath come from whoever sent the message, so each refusal here is an attack that must fail.
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encryptMedia, randomBytes } from '../../crypto/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import {
  DEFAULT_MEDIA_HOSTS,
  directPathUrl,
  MediaError,
  MediaHostPolicy,
  type MediaJobInput,
  openStreamSource,
  type ProcessOptions,
  processMediaJob,
} from '../../workers/index.ts';
import { openMediaQueue } from '../../workers/queues/index.ts';
import { cdnJob, tempDir } from '../support/media.ts';
import { emulator } from '../support/session-harness.ts';
import { slowCdn } from '../support/slow-cdn.ts';

interface CountingServer {
  origin: string;
  hits: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records every request it gets (404 unless `handler` answers). */
async function countingServer(
  handler: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Promise<CountingServer> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (!handler(req, res)) res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function refusal(promise: Promise<unknown>, guardMs = 5_000): Promise<MediaError> {
  let timer: NodeJS.Timeout | undefined;
  const error = await Promise.race([
    promise.then(
      () => new Error('it was not refused'),
      (e: unknown) => e,
    ),
    new Promise<Error>((resolve) => {
      timer = setTimeout(() => resolve(new Error(`no answer within ${guardMs} ms (a hang)`)), guardMs);
    }),
  ]).finally(() => clearTimeout(timer));
  expect(error).toBeInstanceOf(MediaError);
  return error as MediaError;
}

const KEY = randomBytes(32);
const job = (where: Partial<MediaJobInput>): MediaJobInput => ({ type: 'image', mediaKey: KEY, ...where });

describe('the media host allow-list', () => {
  const policy = MediaHostPolicy.default();
  const allowed = (url: string) => policy.allows(new URL(url));

  it('allows the WhatsApp media hosts over https and nothing else', () => {
    expect(DEFAULT_MEDIA_HOSTS).toContain('mmg.whatsapp.net');
    for (const url of [
      'https://mmg.whatsapp.net/d/f/AbC.enc',
      'https://mmg-fallback.whatsapp.net/v/t62.7118-24/1_2_n.enc?ccb=11-4',
      'https://media-fra3-1.cdn.whatsapp.net/v/t62.7119-24/x.enc',
      'https://media.fdel1-2.fna.whatsapp.net/v/t62/x.enc',
      'https://MMG.WhatsApp.NET:443/d/f/x.enc',
    ])
      expect(allowed(url), url).toBe(true);
    for (const url of [
      'http://mmg.whatsapp.net/d/f/x.enc', // not https
      'https://mmg.whatsapp.net:8443/d/f/x.enc', // another port
      'https://whatsapp.net/x',
      'https://cdn.whatsapp.net/x', // a wildcard needs a name below it
      'https://web.whatsapp.com/x',
      'https://mmg.whatsapp.net.evil.example/x',
      'https://evilmmg.whatsapp.net.example/x',
      'https://media-fra3-1.cdn.whatsapp.net.evil.example/x',
      'http://127.0.0.1:6379/',
      'https://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/',
    ])
      expect(allowed(url), url).toBe(false);
  });

  it('refuses every host outside whatsapp.net (property)', () => {
    fc.assert(
      fc.property(fc.domain(), fc.webPath(), (domain, path) => {
        fc.pre(!domain.endsWith('whatsapp.net'));
        expect(allowed(`https://${domain}${path}`)).toBe(false);
        expect(allowed(`https://mmg.whatsapp.net.${domain}${path}`)).toBe(false);
      }),
    );
  });

  it('takes names, *.suffixes, origins and "default"; refuses what is none of them', () => {
    const custom = MediaHostPolicy.parse([
      'default,cdn.example.org',
      '*.media.example',
      'http://127.0.0.1:7000',
    ]);
    expect(custom.allows(new URL('https://mmg.whatsapp.net/x'))).toBe(true);
    expect(custom.allows(new URL('https://cdn.example.org/x'))).toBe(true);
    expect(custom.allows(new URL('https://a.b.media.example/x'))).toBe(true);
    expect(custom.allows(new URL('http://127.0.0.1:7000/d/f/x.enc'))).toBe(true);
    expect(custom.allows(new URL('http://127.0.0.1:7001/d/f/x.enc'))).toBe(false);
    expect(custom.allows(new URL('http://cdn.example.org/x'))).toBe(false);
    for (const bad of ['ftp://files.example', 'http://host/with/path', 'not a host', '*.', 'http://u:p@host'])
      expect(() => MediaHostPolicy.parse([bad]), bad).toThrow(MediaError);
  });
});

describe('directPath', () => {
  it('is joined to the media host as a path, and only as one', () => {
    expect(directPathUrl('/d/f/AbC-_.enc', 'https://mmg.whatsapp.net').toString()).toBe(
      'https://mmg.whatsapp.net/d/f/AbC-_.enc',
    );
    expect(
      directPathUrl(
        '/v/t62.7118-24/1_2_n.enc?ccb=11-4&oh=01_Q5&oe=65F',
        'https://mmg.whatsapp.net',
      ).toString(),
    ).toBe('https://mmg.whatsapp.net/v/t62.7118-24/1_2_n.enc?ccb=11-4&oh=01_Q5&oe=65F');
    for (const bad of [
      '//evil.example/x.enc',
      '/\\evil.example/x.enc',
      'https://evil.example/x.enc',
      'd/f/x.enc',
      '/../etc/passwd',
      '/d/../../x',
      '/d/%2e%2e/x',
      '/d/%2E./x',
      '/d/%2f%2fevil.example/x',
      '/d/x y',
      '/d/x\u0000',
      '/d/x#frag',
      '/d/%zz',
      '',
    ])
      expect(() => directPathUrl(bad, 'https://mmg.whatsapp.net'), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'BAD_DIRECT_PATH' }),
      );
  });
});

describe('processMediaJob refuses where a message must not send it', () => {
  let dir: ReturnType<typeof tempDir>;
  let cdn: CountingServer;
  let other: CountingServer;
  let options: ProcessOptions;
  beforeEach(async () => {
    dir = tempDir();
    other = await countingServer();
    cdn = await countingServer((req, res) => {
      if (req.url === '/to-other') res.writeHead(302, { location: `${other.origin}/stolen` }).end();
      else if (req.url === '/to-self') res.writeHead(301, { location: '/gone.enc' }).end();
      else return false;
      return true;
    });
    // The CDN is the media host (as the emulator is when it is the server); `other` stands for anything
    // else a sender would like this machine to fetch: a metadata service, Redis, an intranet page.
    options = {
      mediaDir: dir.path,
      mediaHost: cdn.origin,
      mediaHosts: MediaHostPolicy.default(),
      minBytesPerSecond: 0,
    };
  });
  afterEach(async () => {
    await Promise.all([cdn.close(), other.close()]);
    dir.remove();
  });

  it('a url that is a local path, file:, data: or ftp: is never opened (not even a FIFO or /dev/zero)', async () => {
    const fifo = join(dir.path, 'stall.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const url of [
      '/etc/passwd',
      '/dev/zero',
      fifo,
      'file:///etc/passwd',
      'data:,abc',
      'ftp://x/y',
      'etc/x',
    ]) {
      const error = await refusal(processMediaJob('j', job({ url }), options));
      expect(error.code, url).toBe('BAD_URL');
      expect(error.retryable).toBe(false);
    }
    expect(dir.files()).toEqual(['stall.fifo']);
  });

  it('a url on a host off the list is refused and never requested (SSRF)', async () => {
    for (const url of [
      `${other.origin}/latest/meta-data/`,
      `${other.origin.replace('127.0.0.1', 'localhost')}/x`,
    ]) {
      const error = await refusal(processMediaJob('j', job({ url }), options));
      expect(error.code, url).toBe('HOST_NOT_ALLOWED');
      expect(error.message).toContain('not an allowed media host');
    }
    expect(other.hits).toEqual([]);
  });

  it('a directPath that names another host or climbs out is refused; a path is fetched from the media host', async () => {
    const host = other.origin.slice('http://'.length);
    for (const directPath of [
      `//${host}/stolen`,
      `/\\${host}/stolen`,
      `${other.origin}/stolen`,
      '/../x',
      '/d/%2e%2e/x',
    ]) {
      const error = await refusal(processMediaJob('j', job({ directPath }), options));
      expect(error.code, directPath).toBe('BAD_DIRECT_PATH');
    }
    expect(other.hits).toEqual([]);
    expect(cdn.hits).toEqual([]);
    const expired = await refusal(processMediaJob('j', job({ directPath: '/d/f/x.enc?ccb=1' }), options));
    expect(expired.code).toBe('MEDIA_EXPIRED');
    expect(cdn.hits).toEqual(['/d/f/x.enc?ccb=1']);
  });

  it('redirects are followed only to allowed hosts', async () => {
    const away = await refusal(processMediaJob('j', job({ directPath: '/to-other' }), options));
    expect(away.code).toBe('HOST_NOT_ALLOWED');
    expect(away.message).toContain('redirect');
    expect(other.hits).toEqual([]);
    const home = await refusal(processMediaJob('j', job({ directPath: '/to-self' }), options));
    expect(home.code).toBe('MEDIA_EXPIRED');
    expect(cdn.hits).toEqual(['/to-other', '/to-self', '/gone.enc']);
  });
});

describe('a download ends', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  async function slowJob(objectBytes: number, chunkBytes: number, everyMs: number) {
    const plaintext = new Uint8Array(objectBytes).map((_, i) => i & 0xff);
    const mediaKey = randomBytes(32);
    const encrypted = encryptMedia(plaintext, mediaKey, 'document');
    const served = await slowCdn(encrypted.object, chunkBytes, everyMs);
    const input: MediaJobInput = {
      type: 'document',
      mediaKey,
      url: served.url,
      fileLength: encrypted.fileLength,
    };
    const options: ProcessOptions = {
      mediaDir: dir.path,
      mediaHosts: MediaHostPolicy.parse([new URL(served.url).origin]),
    };
    return { input, options, served };
  }

  it('within the overall deadline, however steadily the body trickles', async () => {
    // 4 MiB at 16 KiB per 20 ms (~800 KiB/s): every gap is short, the whole takes ~5 s.
    const { input, options, served } = await slowJob(4 * 1024 * 1024, 16 * 1024, 20);
    try {
      const error = await refusal(
        processMediaJob('j', input, { ...options, deadlineMs: 300, minBytesPerSecond: 0 }),
      );
      expect(error.code).toBe('TIMEOUT');
      expect(error.message).toContain('deadline of 300 ms');
      expect(error.retryable).toBe(true);
      expect(dir.files()).toEqual([]);
    } finally {
      await served.close();
    }
  });

  it('when the body stays below the minimum rate for a whole window', async () => {
    // 1 KiB per 20 ms (~50 KiB/s) against a minimum of 200 KiB/s measured over 300 ms windows.
    const { input, options, served } = await slowJob(1024 * 1024, 1024, 20);
    try {
      const error = await refusal(
        processMediaJob('j', input, { ...options, minBytesPerSecond: 200 * 1024, rateWindowMs: 300 }),
      );
      expect(error.code).toBe('TOO_SLOW');
      expect(error.message).toMatch(/sent \d+ bytes in 300 ms, less than the minimum of 204800 bytes\/s/);
      expect(error.retryable).toBe(true);
      expect(dir.files()).toEqual([]);
    } finally {
      await served.close();
    }
  });
});

describe('standard input (`walink media decrypt --in -`)', () => {
  it('that goes quiet for longer than the gap deadline ends in TIMEOUT, not a wait without end', async () => {
    const input = new PassThrough();
    const source = openStreamSource(input, 100);
    input.write(Buffer.alloc(10));
    const read = (async () => {
      let bytes = 0;
      for await (const chunk of source.stream) bytes += chunk.length;
      return bytes;
    })();
    const error = await refusal(read);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'no input for 100 ms' });
  });
});

describe('the queue start and serve open', () => {
  let emu: Emulator;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    emu = await emulator();
  });
  afterAll(() => emu.close());
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it("allows the server's own CDN when told the server, and only then", async () => {
    const plaintext = new Uint8Array(5_000).map((_, i) => i * 3);
    for (const serverUrl of [emu.wsUrl, undefined]) {
      const { queue } = await openMediaQueue({ mediaDir: dir.path, serverUrl });
      try {
        const { id } = await queue.enqueue(cdnJob(emu, plaintext));
        const outcome = await firstValueFrom(
          queue.events$.pipe(filter((e) => e.id === id && (e.type === 'done' || e.type === 'failed'))),
        );
        if (serverUrl) expect(outcome).toMatchObject({ type: 'done', bytes: plaintext.length });
        else
          expect(outcome).toMatchObject({
            type: 'failed',
            reason: expect.stringMatching(/^HOST_NOT_ALLOWED/),
          });
      } finally {
        await queue.close();
      }
    }
  });
});
