// `walink serve`: the session service with its web page (sessions, QR codes, the live inspector, media
// jobs). Defaults as in `walink start`: the embedded emulator, and the in-process queue unless REDIS_URL.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Emulator } from '../../emulator/index.ts';
import type { StatelyBridge } from '../../service/stately.ts';
import { integer, portNumber } from '../usage.ts';

interface ServeCliOptions {
  port: number;
  host: string;
  url?: string;
  home: string;
  mediaDir?: string;
  stately?: string | boolean;
  qrTtl: number;
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
    .option('--home <dir>', 'credential files (sessions/<name>.json) and emulator state live here', '.walink')
    .option('--qr-ttl <ms>', "the embedded emulator's QR ref lifetime (≥ 1000)", integer(1000), 20_000)
    .option('--media-dir <dir>', 'where decrypted media goes (default: <home>/media)')
    .option(
      '--stately [ws-url]',
      `also stream inspection events to a Stately inspector (default ${STATELY_DEFAULT})`,
    )
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action(runServe);
}

async function runServe(options: ServeCliOptions): Promise<void> {
  // The service, the emulator and the queues load when `serve` runs, not when `walink` starts.
  const [{ startHttpService }, { SessionService }, { startStatelyBridge }, { openMediaQueue }, embedded] =
    await Promise.all([
      import('../../service/http-server.ts'),
      import('../../service/session-service.ts'),
      import('../../service/stately.ts'),
      import('../../workers/open-queue.ts'),
      import('../embedded-emulator.ts'),
    ]);
  const { port, qrTtl: refTtlMs } = options;
  const home = resolve(options.home);
  const sessionsDir = join(home, 'sessions');
  await mkdir(sessionsDir, { recursive: true, mode: 0o700 });

  let emulator: Emulator | undefined;
  if (!options.url) {
    emulator = await embedded.startEmbeddedEmulator({ home, verbose: options.verbose, refTtlMs });
  }
  const wsUrl = options.url ?? emulator!.wsUrl;
  const { queue, counts, kind, description } = await openMediaQueue({
    mediaDir: resolve(options.mediaDir ?? join(home, 'media')),
    redisUrl: process.env.REDIS_URL,
  });
  let stately: StatelyBridge | undefined;
  if (options.stately) {
    stately = startStatelyBridge(typeof options.stately === 'string' ? options.stately : STATELY_DEFAULT);
  }
  const service = new SessionService({ wsUrl, sessionsDir, queue, inspect: stately?.inspect });
  const http = await startHttpService({
    service,
    info: { server: wsUrl, emulator: emulator?.url ?? null, queue: kind },
    queueCounts: counts,
    host: options.host,
    port,
  });
  const restored = await service.restoreAll();

  console.log(`walink serve: open ${http.url}`);
  console.log(`  sessions talk to ${wsUrl}${emulator ? ' (embedded emulator)' : ''}`);
  console.log(
    `  credential files in ${sessionsDir}${restored.length ? ` (restoring ${restored.join(', ')})` : ''}`,
  );
  console.log(`  ${description}`);
  if (stately) console.log('  inspection events also go to the Stately inspector');
  if (!['127.0.0.1', 'localhost', '::1'].includes(options.host)) {
    console.log(
      '  warning: the page and its API have no authentication; anyone who reaches this address controls the sessions',
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
