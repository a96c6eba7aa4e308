// `walink serve`: the session service with its web page (sessions, QR codes, the live inspector, media
// jobs). Defaults as in `walink start`: the embedded emulator, and the in-process queue unless REDIS_URL.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Emulator } from '../../emulator/index.ts';
import { startHttpService } from '../../service/http-server.ts';
import { SessionService } from '../../service/session-service.ts';
import { type StatelyBridge, startStatelyBridge } from '../../service/stately.ts';
import { openMediaQueue } from '../../workers/open-queue.ts';
import { startEmbeddedEmulator } from '../embedded-emulator.ts';
import { exitOnStartupError } from '../startup-error.ts';

interface ServeCliOptions {
  port: string;
  host: string;
  url?: string;
  home: string;
  mediaDir?: string;
  stately?: string | boolean;
  qrTtl: string;
  verbose?: boolean;
}

const STATELY_DEFAULT = 'ws://localhost:8080';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('the session service with a web page: sessions, QR codes, a live inspector, media jobs')
    .option('-p, --port <port>', 'HTTP port (0 picks a free one)', '7420')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--url <ws-url>', 'a legacy server to talk to instead of the embedded emulator')
    .option('--home <dir>', 'credential files (sessions/<name>.json) and emulator state live here', '.walink')
    .option('--qr-ttl <ms>', "the embedded emulator's QR ref lifetime", '20000')
    .option('--media-dir <dir>', 'where decrypted media goes (default: <home>/media)')
    .option(
      '--stately [ws-url]',
      `also stream inspection events to a Stately inspector (default ${STATELY_DEFAULT})`,
    )
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action((options: ServeCliOptions) => runServe(options).catch(exitOnStartupError('serve')));
}

async function runServe(options: ServeCliOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error('--port must be 0..65535');
  const refTtlMs = Number(options.qrTtl);
  if (!Number.isInteger(refTtlMs) || refTtlMs < 1000) throw new Error('--qr-ttl must be at least 1000 ms');
  const home = resolve(options.home);
  const sessionsDir = join(home, 'sessions');
  await mkdir(sessionsDir, { recursive: true, mode: 0o700 });

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
