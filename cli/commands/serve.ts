// `walink serve`: the session service with its web page (legacy and multi-device sessions, QR codes, MD
// pair codes, the live inspector, media jobs). Defaults as in `walink start`: the embedded emulator (both
// protocols), and the in-process queue unless REDIS_URL.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Emulator } from '../../emulator/index.ts';
import type { StatelyBridge } from '../../service/index.ts';
import { integer, portNumber, UsageError } from '../usage.ts';

interface ServeCliOptions {
  port: number;
  host: string;
  url?: string;
  mdUrl?: string;
  mdRootKey?: string;
  home: string;
  mediaDir?: string;
  stately?: string | boolean;
  qrTtl: number;
  maxSessions?: number;
  allowedHost: string[];
  /** commander's `--no-auth`: false when given. */
  auth: boolean;
  verbose?: boolean;
}

const STATELY_DEFAULT = 'ws://localhost:8080';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('the session service with a web page: sessions, QR codes, a live inspector, media jobs')
    .option('-p, --port <port>', 'HTTP port (0 picks a free one)', portNumber, 7420)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--url <ws-url>', 'a legacy server to talk to instead of the embedded emulator')
    .option(
      '--md-url <ws-url>',
      "a multi-device server (…/ws/chat) for MD sessions (default: the embedded emulator's; none with --url)",
    )
    .option('--md-root-key <hex>', "the --md-url server's certificate root public key (64 hex digits)")
    .option('--home <dir>', 'credential files (sessions/<name>.json) and emulator state live here', '.walink')
    .option('--qr-ttl <ms>', "the embedded emulator's QR ref lifetime (≥ 1000)", integer(1000), 20_000)
    .option('--media-dir <dir>', 'where decrypted media goes (default: <home>/media)')
    .option('--max-sessions <n>', 'sessions open at once; one more is refused (default 100)', integer(1))
    .option(
      '--allowed-host <host>',
      'also accept this Host header (name: any port, name:port: that one), e.g. behind a proxy; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--no-auth', 'serve the API without its token (only on a loopback --host, for scripts)')
    .option(
      '--stately [ws-url]',
      `also stream inspection events to a Stately inspector (default ${STATELY_DEFAULT})`,
    )
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action(runServe);
}

async function runServe(options: ServeCliOptions): Promise<void> {
  // The service, the emulator and the queues load when `serve` runs, not when `walink` starts.
  const [
    {
      DEFAULT_MAX_SESSIONS,
      isLoopbackHost,
      loadOrCreateApiToken,
      SessionService,
      startHttpService,
      startStatelyBridge,
    },
    { openMediaQueue },
    { startEmbeddedEmulator },
  ] = await Promise.all([
    import('../../service/index.ts'),
    import('../../workers/queues/index.ts'),
    import('../embedded-emulator.ts'),
  ]);
  const { port, qrTtl: refTtlMs } = options;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const loopback = isLoopbackHost(options.host);
  if (!options.auth && !loopback) {
    throw new Error(
      `--no-auth is only for a loopback --host (127.0.0.1, ::1, localhost), not ${options.host}`,
    );
  }
  if (options.mdRootKey !== undefined && !options.mdUrl) {
    throw new UsageError('--md-root-key names the root of the --md-url server; give --md-url too');
  }
  if (options.mdRootKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(options.mdRootKey)) {
    throw new UsageError('--md-root-key is the server root public key as 64 hex digits');
  }
  const home = resolve(options.home);
  const sessionsDir = join(home, 'sessions');
  await mkdir(sessionsDir, { recursive: true, mode: 0o700 });
  const tokenFile = join(home, 'api-token');
  const token = options.auth ? await loadOrCreateApiToken(tokenFile) : null;

  let emulator: Emulator | undefined;
  if (!options.url) {
    emulator = await startEmbeddedEmulator({ home, verbose: options.verbose, refTtlMs });
  }
  const wsUrl = options.url ?? emulator!.wsUrl;
  const { queue, counts, kind, description } = await openMediaQueue({
    mediaDir: resolve(options.mediaDir ?? join(home, 'media')),
    redisUrl: process.env.REDIS_URL,
    serverUrl: wsUrl, // its own CDN (the emulator's) is allowed for media
  });
  let stately: StatelyBridge | undefined;
  if (options.stately) {
    stately = startStatelyBridge(typeof options.stately === 'string' ? options.stately : STATELY_DEFAULT);
  }
  // Multi-device sessions talk to --md-url, or to the embedded emulator's /ws/chat with its own root.
  const md = options.mdUrl
    ? {
        wsUrl: options.mdUrl,
        ...(options.mdRootKey
          ? { rootPublicKey: new Uint8Array(Buffer.from(options.mdRootKey, 'hex')) }
          : {}),
      }
    : emulator
      ? { wsUrl: emulator.mdWsUrl, rootPublicKey: emulator.md.rootPublicKey }
      : undefined;
  const service = new SessionService({
    wsUrl,
    ...(md ? { md } : {}),
    sessionsDir,
    queue,
    inspect: stately?.inspect,
    maxSessions,
  });
  const http = await startHttpService({
    service,
    info: { server: wsUrl, mdServer: md?.wsUrl ?? null, emulator: emulator?.url ?? null, queue: kind },
    queueCounts: counts,
    host: options.host,
    port,
    token,
    allowedHosts: options.allowedHost,
  });
  const { restored, skipped } = await service.restoreAll();

  // The sign-in link carries the token in its fragment (never sent to a server); it goes to a terminal
  // only, so a log file or a journal gets the file's name instead.
  const link = token && process.stdout.isTTY ? `${http.url}/#token=${token}` : `${http.url}/`;
  console.log(`walink serve: open ${link}`);
  if (token) {
    console.log(
      `  the API needs the token in ${tokenFile} (Authorization: Bearer …; the page signs in with it${process.stdout.isTTY ? ' from the link above' : ''})`,
    );
  } else console.log('  --no-auth: the API takes no token (loopback only)');
  console.log(`  sessions talk to ${wsUrl}${emulator ? ' (embedded emulator)' : ''}`);
  console.log(
    md
      ? `  multi-device sessions talk to ${md.wsUrl}${options.mdUrl ? '' : ' (embedded emulator)'}`
      : '  no multi-device server (--md-url): legacy sessions only',
  );
  console.log(
    `  credential files in ${sessionsDir}${restored.length ? ` (restoring ${restored.join(', ')})` : ''}`,
  );
  if (skipped.length) {
    console.log(`  not restored (more than --max-sessions ${maxSessions}): ${skipped.join(', ')}`);
  }
  console.log(`  ${description}`);
  if (stately) console.log('  inspection events also go to the Stately inspector');
  if (!loopback) {
    console.log(
      '  warning: plain HTTP beyond loopback: the token and the QR codes cross the network unencrypted (put TLS in front)',
    );
  }

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return process.exit(130);
    stopping = true;
    await http.close();
    await service.close();
    stately?.stop();
    await queue.close();
    await emulator?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}
