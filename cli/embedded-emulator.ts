// The emulator `walink start` and `walink serve` run in-process unless --url is given. Its state
// (phones, linked browsers, tokens) lives beside the credentials, so a restart restores by login.
import { join } from 'node:path';
import pino from 'pino';
import { type Emulator, startEmulator } from '../emulator/index.ts';

export function startEmbeddedEmulator(options: {
  home: string;
  verbose?: boolean;
  refTtlMs?: number;
}): Promise<Emulator & { stateFile: string }> {
  const stateFile = join(options.home, 'emulator-state.json');
  return startEmulator({
    host: '127.0.0.1',
    port: 0,
    stateFile,
    ...(options.refTtlMs !== undefined ? { refTtlMs: options.refTtlMs } : {}),
    logger: pino({ level: options.verbose ? 'info' : 'silent' }, pino.destination(2)),
  }).then((emulator) => Object.assign(emulator, { stateFile }));
}
