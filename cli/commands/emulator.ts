// `walink emulator`: the legacy server, the multi-device server, the phone APIs and the media CDN on one port.
import type { Command } from 'commander';
import pino from 'pino';
import { startEmulator } from '../../emulator/index.ts';

interface EmulatorCliOptions {
  host: string;
  port: string;
  refTtl: string;
  state?: string;
  firstFrameDelay: string;
  verbose?: boolean;
}

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'run the emulated WhatsApp Web servers (legacy /ws, multi-device /ws/chat), phone API and media CDN',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', '0')
    .option('--ref-ttl <ms>', 'lifetime of a QR ref in milliseconds', '20000')
    .option('--state <file>', 'keep phones, linked devices, keys and tokens in this file across restarts')
    .option('--first-frame-delay <ms>', 'multi-device: wait before the first encrypted frame', '100')
    .option('-v, --verbose', 'log every connection event')
    .action(async (options: EmulatorCliOptions) => {
      const port = Number(options.port);
      const refTtlMs = Number(options.refTtl);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port must be 0..65535, got ${options.port}`);
      if (!Number.isInteger(refTtlMs) || refTtlMs < 1000)
        throw new Error('--ref-ttl must be at least 1000 ms');
      const firstFrameDelayMs = Number(options.firstFrameDelay);
      if (!Number.isInteger(firstFrameDelayMs) || firstFrameDelayMs < 0 || firstFrameDelayMs > 10_000)
        throw new Error('--first-frame-delay must be 0..10000 ms');
      const logger = pino({ level: options.verbose ? 'info' : 'warn' }, pino.destination(2));
      const emulator = await startEmulator({
        host: options.host,
        port,
        refTtlMs,
        stateFile: options.state,
        logger,
        md: { firstFrameDelayMs },
      });
      process.stdout.write(`walink emulator listening on ${emulator.url} (WebSocket ${emulator.wsUrl})\n`);
      // md: the multi-device endpoint and the root its certificate chain is signed with (GET /md/root-key).
      process.stdout.write(
        `multi-device WebSocket ${emulator.mdWsUrl}, certificate root ${emulator.md.rootPublicKeyHex}\n`,
      );
      const stop = async () => {
        await emulator.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
