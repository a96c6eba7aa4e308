// `walink emulator`: the legacy server, the multi-device server, the phone APIs and the media CDN on one port.
import type { Command } from 'commander';
import { integer, portNumber } from '../usage.ts';

interface EmulatorCliOptions {
  host: string;
  port: number;
  refTtl: number;
  state?: string;
  firstFrameDelay: number;
  mdMaxConnections: number;
  latency?: number;
  idleTimeout: number;
  maxPhones: number;
  verbose?: boolean;
}

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'run the emulated WhatsApp Web servers (legacy /ws, multi-device /ws/chat), phone API and media CDN',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', portNumber, 0)
    .option('--ref-ttl <ms>', 'lifetime of a QR ref in milliseconds (≥ 1000)', integer(1000), 20_000)
    .option('--state <file>', 'keep phones, linked devices, keys and tokens in this file across restarts')
    .option(
      '--first-frame-delay <ms>',
      'multi-device: wait before the first encrypted frame (0..10000)',
      integer(0, 10_000),
      100,
    )
    .option(
      '--md-max-connections <n>',
      'multi-device: sockets open at once at most; more are refused at the upgrade (≥ 1)',
      integer(1),
      1000,
    )
    .option(
      '--latency <ms>',
      'legacy: answer every request after this many ms instead of the per-kind defaults (0..60000)',
      integer(0, 60_000),
    )
    .option(
      '--idle-timeout <ms>',
      'legacy: close a socket that sent nothing for this long (≥ 1000)',
      integer(1000),
      75_000,
    )
    .option(
      '--max-phones <n>',
      'legacy: phones kept at most; past it the oldest unlinked one goes, and a scan is 503 when all are linked (≥ 1)',
      integer(1),
      10_000,
    )
    .option('-v, --verbose', 'log every connection event')
    .action(runEmulator);
}

async function runEmulator(options: EmulatorCliOptions): Promise<void> {
  const [{ default: pino }, { startEmulator }] = await Promise.all([
    import('pino'),
    import('../../emulator/index.ts'),
  ]);
  const logger = pino({ level: options.verbose ? 'info' : 'warn' }, pino.destination(2));
  const emulator = await startEmulator({
    host: options.host,
    port: options.port,
    refTtlMs: options.refTtl,
    stateFile: options.state,
    logger,
    md: { firstFrameDelayMs: options.firstFrameDelay, maxConnections: options.mdMaxConnections },
    legacy: {
      idleTimeoutMs: options.idleTimeout,
      maxPhones: options.maxPhones,
      ...(options.latency !== undefined ? { latencyMs: options.latency } : {}),
    },
  });
  process.stdout.write(`walink emulator listening on ${emulator.url} (WebSocket ${emulator.wsUrl})\n`);
  // The multi-device endpoint and the root its certificate chain is signed with (GET /md/root-key).
  process.stdout.write(
    `multi-device WebSocket ${emulator.mdWsUrl}, certificate root ${emulator.md.rootPublicKeyHex}\n`,
  );
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
