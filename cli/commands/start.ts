// `walink start`: the main job. One session against the embedded emulator (or --url), the QR code in the
// terminal, every state transition as it happens, messages and media jobs, a clean exit on Ctrl-C.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Session } from '../../actors/index.ts';
import type { Emulator } from '../../emulator/index.ts';
import type { Printer } from '../session-printer.ts';
import { integer, matching } from '../usage.ts';

interface StartCliOptions {
  url?: string;
  session: string;
  autoScan: boolean;
  scanAfter: number;
  phone?: string;
  connectAttempts: number;
  json?: boolean;
  mediaDir?: string;
  verbose?: boolean;
}

/** What the terminal prompt understands; `help` prints this. */
const PROMPT_COMMANDS = [
  ['send <jid> <text>', 'send a text message (in ready)'],
  ['logout', 'log out: the phone unlinks this browser, the credentials are cleared'],
  ['restart', 'start over from a resting state (new QR codes, or a login)'],
  ['takeover', 'take the session back after a conflict'],
  ['quit', 'stop, keeping the credentials (like Ctrl-C)'],
  ['help', 'this list'],
] as const;

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
    .option('--scan-after <ms>', "how long the emulator's phone waits before it scans", integer(0), 3000)
    .option(
      '--phone <number>',
      "the emulator phone's number (default: the emulator's own phone)",
      matching(/^\d{5,20}$/, '5 to 20 digits'),
    )
    .option(
      '--connect-attempts <n>',
      'give up (exit 1) after this many failed connects when no session was ever established; 0: never',
      integer(0),
      5,
    )
    .option('--media-dir <dir>', 'where decrypted media goes (default: media/ beside the session file)')
    .option('--json', 'print events as JSON lines')
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action(runStart);
}

async function runStart(options: StartCliOptions): Promise<void> {
  // The session, the emulator and the queues load when `start` runs, not when `walink` starts.
  const [{ createSession, FileCredentialStore }, { DEFAULT_PHONE, scanAsPhone }, queues, embedded, printers] =
    await Promise.all([
      import('../../actors/index.ts'),
      import('../../emulator/index.ts'),
      import('../../workers/queues/index.ts'),
      import('../embedded-emulator.ts'),
      import('../session-printer.ts'),
    ]);
  const phone = options.phone ?? DEFAULT_PHONE;
  const sessionFile = resolve(options.session);
  const home = dirname(sessionFile);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const print: Printer = options.json ? printers.jsonPrinter() : printers.humanPrinter();

  let emulator: Emulator | undefined;
  if (!options.url) {
    const started = await embedded.startEmbeddedEmulator({ home, verbose: options.verbose });
    emulator = started;
    print.note(`embedded emulator at ${started.url} (state in ${started.stateFile})`, {
      emulator: started.url,
    });
  }
  const wsUrl = options.url ?? emulator!.wsUrl;
  const phoneApi = phoneApiBase(wsUrl);
  const { queue, description } = await queues.openMediaQueue({
    mediaDir: resolve(options.mediaDir ?? join(home, 'media')),
    redisUrl: process.env.REDIS_URL,
    serverUrl: wsUrl, // its own CDN (the emulator's) is allowed for media
  });
  print.note(description);
  queue.events$.subscribe((event) => print.media(event));

  const store = new FileCredentialStore(sessionFile);
  const session = await createSession({ url: wsUrl, store, queue, name: 'walink' });
  print.note(`session file ${sessionFile}`, { session: sessionFile });

  const scan = async (qr: string) => {
    try {
      const answer = await scanAsPhone(phoneApi, phone, qr);
      if (!answer.ok) print.note(`the phone could not scan: ${answer.status} ${answer.error ?? ''}`);
    } catch (error) {
      print.note(`the phone could not scan: ${(error as Error).message}`);
    }
  };

  let scanTimer: NodeJS.Timeout | undefined;
  // Keep the output in event order even though drawing a QR code is asynchronous.
  let printing: Promise<void> = Promise.resolve();
  const note = (text: string, fields?: Record<string, unknown>) => {
    printing = printing.then(() => print.note(text, fields));
  };
  // A session that never got as far as a QR code or a login is talking to nothing (a wrong --url, a
  // server that is down): after --connect-attempts failed connects it says why and exits.
  let established = false;
  session.events$.subscribe((event) => {
    printing = printing.then(() => print.session(event)).catch(() => undefined);
    if (event.type === 'qr' || event.type === 'ready') established = true;
    if (event.type === 'qr' && options.autoScan) {
      clearTimeout(scanTimer);
      if (event.index === 0)
        note(
          `the emulator's phone +${phone} scans in ${options.scanAfter / 1000} s (--no-auto-scan to scan yourself)`,
        );
      scanTimer = setTimeout(() => void scan(event.text), options.scanAfter);
    } else if (event.type === 'qr' && !options.json) {
      // Every rotation makes the previous text useless, so each code gets its own command line.
      const body = shellQuote(JSON.stringify({ qr: event.text }));
      note(
        `scan it: curl -X POST ${phoneApi}/phones/${phone}/scan -H 'content-type: application/json' -d ${body}`,
      );
    }
    if (event.type === 'ready' && event.wid) {
      note(
        `try: curl -X POST ${phoneApi}/phones/${phone}/messages -H 'content-type: application/json' -d '{"from": "491700000000@c.us", "text": "hi"}'`,
      );
    }
    if (event.type === 'state' && !session.state.tags.includes('needsScan')) clearTimeout(scanTimer);
    if (
      event.type === 'reconnecting' &&
      !established &&
      options.connectAttempts > 0 &&
      event.attempt >= options.connectAttempts
    ) {
      note(
        `giving up: ${event.attempt} connects to ${wsUrl} failed (last: ${event.reason}) and none got as far as a QR code or a login (--connect-attempts 0 keeps trying)`,
        { gaveUp: true, attempts: event.attempt, reason: event.reason },
      );
      void printing.then(() => shutdown(1));
    }
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

/** One shell word, whatever the text holds (a server chose the ref inside the QR text). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The prompt's command list, aligned, one command a line. */
export function promptHelp(): string[] {
  const width = Math.max(...PROMPT_COMMANDS.map(([usage]) => usage.length));
  return PROMPT_COMMANDS.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`);
}

function readCommands(session: Session, print: Printer): void {
  print.note(`commands: ${PROMPT_COMMANDS.map(([usage]) => usage).join(' | ')}`);
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
      case 'help':
      case '?':
        for (const text of promptHelp()) print.note(text);
        return;
      default:
        print.note(`unknown command ${command}; type "help" for the list`);
    }
  });
}
