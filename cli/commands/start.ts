// `walink start`: the main job. One session against the embedded emulator (or --url), the QR code in the
// terminal, every state transition as it happens, messages and media jobs, a clean exit on Ctrl-C.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createSession, FileCredentialStore, type Session } from '../../actors/index.ts';
import { DEFAULT_PHONE, type Emulator, scanAsPhone } from '../../emulator/index.ts';
import { openMediaQueue } from '../../workers/index.ts';
import { startEmbeddedEmulator } from '../embedded-emulator.ts';
import { humanPrinter, jsonPrinter, type Printer } from '../session-printer.ts';
import { exitOnStartupError } from '../startup-error.ts';

interface StartCliOptions {
  url?: string;
  session: string;
  autoScan: boolean;
  scanAfter: string;
  phone: string;
  json?: boolean;
  mediaDir?: string;
  verbose?: boolean;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'run a session: QR code, pairing, login, messages (against the embedded emulator unless --url)',
    )
    .option('--url <ws-url>', 'a legacy server to talk to instead of the embedded emulator')
    .option(
      '--session <file>',
      'the credential file (mode 0600); the embedded emulator keeps its state beside it',
      '.walink/session.json',
    )
    .option('--no-auto-scan', "do not let the emulator's phone scan the QR code")
    .option('--scan-after <ms>', "how long the emulator's phone waits before it scans", '3000')
    .option('--phone <number>', "the emulator phone's number", DEFAULT_PHONE)
    .option('--media-dir <dir>', 'where decrypted media goes (default: media/ beside the session file)')
    .option('--json', 'print events as JSON lines')
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action((options: StartCliOptions) => runStart(options).catch(exitOnStartupError('start')));
}

async function runStart(options: StartCliOptions): Promise<void> {
  const scanAfter = Number(options.scanAfter);
  if (!Number.isInteger(scanAfter) || scanAfter < 0)
    throw new Error('--scan-after must be a number of milliseconds');
  if (!/^\d{5,20}$/.test(options.phone)) throw new Error('--phone must be 5 to 20 digits');
  const sessionFile = resolve(options.session);
  const home = dirname(sessionFile);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const print: Printer = options.json ? jsonPrinter() : humanPrinter();

  let emulator: Emulator | undefined;
  if (!options.url) {
    const embedded = await startEmbeddedEmulator({ home, verbose: options.verbose });
    emulator = embedded;
    print.note(`embedded emulator at ${embedded.url} (state in ${embedded.stateFile})`, {
      emulator: embedded.url,
    });
  }
  const wsUrl = options.url ?? emulator!.wsUrl;
  const phoneApi = phoneApiBase(wsUrl);
  const { queue, description } = await openMediaQueue({
    mediaDir: resolve(options.mediaDir ?? join(home, 'media')),
    redisUrl: process.env.REDIS_URL,
    serverUrl: wsUrl, // its own CDN (the emulator's) is allowed for media
  });
  print.note(description);
  queue.events$.subscribe((event) => print.media(event));

  const store = new FileCredentialStore(sessionFile);
  const session = await createSession({ url: wsUrl, store, queue, name: 'walink' });
  print.note(`session file ${sessionFile}`, { session: sessionFile });

  let scanTimer: NodeJS.Timeout | undefined;
  // Keep the output in event order even though drawing a QR code is asynchronous.
  let printing: Promise<void> = Promise.resolve();
  const note = (text: string) => {
    printing = printing.then(() => print.note(text));
  };
  session.events$.subscribe((event) => {
    printing = printing.then(() => print.session(event)).catch(() => undefined);
    if (event.type === 'qr' && options.autoScan) {
      clearTimeout(scanTimer);
      if (event.index === 0)
        note(
          `the emulator's phone +${options.phone} scans in ${scanAfter / 1000} s (--no-auto-scan to scan yourself)`,
        );
      scanTimer = setTimeout(() => void scan(phoneApi, options.phone, event.text, print), scanAfter);
    } else if (event.type === 'qr' && event.index === 0) {
      note(
        `scan it: curl -X POST ${phoneApi}/phones/${options.phone}/scan -H 'content-type: application/json' -d '{"qr": "…"}'`,
      );
    }
    if (event.type === 'ready' && event.wid) {
      note(
        `try: curl -X POST ${phoneApi}/phones/${options.phone}/messages -H 'content-type: application/json' -d '{"from": "491700000000@c.us", "text": "hi"}'`,
      );
    }
    if (event.type === 'state' && !session.state.tags.includes('needsScan')) clearTimeout(scanTimer);
  });

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(scanTimer);
    await session.stop();
    await printing;
    await queue.close();
    await emulator?.close();
    process.exit(code);
  };
  // A second Ctrl-C does not wait for the clean stop.
  const onSignal = () => (stopping ? process.exit(130) : void shutdown(0));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const interactive = process.stdin.isTTY === true;
  session.state$.subscribe((state) => {
    if (!state.resting || interactive) return;
    // Without a terminal nobody can type "restart": report the end and leave.
    void printing.then(() => shutdown(state.name === 'loggedOut' && state.reason === 'loggedOut' ? 0 : 1));
  });
  if (interactive) readCommands(session, print);
  session.start();
}

/** The emulator's HTTP API lives on the same host as its WebSocket. */
function phoneApiBase(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

async function scan(base: string, phone: string, qr: string, print: Printer): Promise<void> {
  try {
    const answer = await scanAsPhone(base, phone, qr);
    if (!answer.ok) print.note(`the phone could not scan: ${answer.status} ${answer.error ?? ''}`);
  } catch (error) {
    print.note(`the phone could not scan: ${(error as Error).message}`);
  }
}

function readCommands(session: Session, print: Printer): void {
  print.note('commands: send <jid> <text> | logout | restart | takeover | quit');
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, jid, ...words] = line.trim().split(/\s+/);
    switch (command) {
      case '':
        return;
      case 'send':
        if (!jid || words.length === 0) print.note('usage: send <jid> <text>');
        else if (!session.state.tags.includes('ready')) print.note(`cannot send in ${session.state.name}`);
        else print.note(`sending ${session.send(jid, words.join(' '))}`);
        return;
      case 'logout':
        return session.logout();
      case 'restart':
        return session.restart();
      case 'takeover':
        return session.takeOver();
      case 'quit':
        process.kill(process.pid, 'SIGINT');
        return;
      default:
        print.note(`unknown command ${command}`);
    }
  });
}
