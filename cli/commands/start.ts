import type { Command } from 'commander';
import type { Emulator } from '../../emulator/index.ts';
import type { Printer } from '../session-printer.ts';
import { integer, matching, UsageError } from '../usage.ts';

interface StartCliOptions {
  url?: string;
  session?: string;
  md?: boolean;
  pairCode?: string;
  rootKey?: string;
  autoScan: boolean;
  scanAfter: number;
  phone?: string;
  connectAttempts: number;
  json?: boolean;
  mediaDir?: string;
  verbose?: boolean;
  prompt?: boolean;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'run a session: QR code, pairing, login, messages (against the embedded emulator unless --url)',
    )
    .option(
      '--url <ws-url>',
      'a server to talk to instead of the embedded emulator (legacy …/ws; with --md an MD server, …/ws/chat)',
    )
    .option('--md', 'multi-device: a companion device linked by QR code or pair code (docs/protocol-md.md)')
    .option(
      '--pair-code <phone>',
      'with --md: link by phone number: show the 8-character code for that phone to type (the embedded phone types it)',
      matching(/^\+?[\d\s-]{7,20}$/, 'a phone number with its country code'),
    )
    .option(
      '--root-key <hex>',
      "with --md and --url: the server certificate root's public key (default WhatsApp's)",
    )
    .option(
      '--session <file>',
      'the credential file (mode 0600, default .walink/session.json, with --md .walink/md-session.json); the embedded emulator keeps its state beside it',
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
    .option(
      '--prompt',
      'read prompt commands (send, logout, …) from stdin even when it is not a terminal (scripts, tests)',
    )
    .option('-v, --verbose', "log the embedded emulator's connection events to stderr")
    .action(runStart);
}

async function runStart(options: StartCliOptions): Promise<void> {
  if (options.md) {
    const { runStartMd } = await import('../start-md.ts');
    return runStartMd(options);
  }
  if (options.pairCode !== undefined || options.rootKey !== undefined) {
    throw new UsageError('--pair-code and --root-key are multi-device options: add --md');
  }
  // The session, the emulator and the queues load when `start` runs, not when `walink` starts.
  const { shellQuote } = await import('../terminal-text.ts');
  const [{ createSession, FileCredentialStore }, { DEFAULT_PHONE, scanAsPhone }, queues, embedded, printers] =
    await Promise.all([
      import('../../actors/index.ts'),
      import('../../emulator/index.ts'),
      import('../../workers/queues/index.ts'),
      import('../embedded-emulator.ts'),
      import('../session-printer.ts'),
    ]);
  const { openPrintedQueue, sessionHome, sessionLifecycle } = await import('../session-lifecycle.ts');
  const phone = options.phone ?? DEFAULT_PHONE;
  const { sessionFile, home } = await sessionHome(options.session ?? '.walink/session.json');
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
  const queue = await openPrintedQueue(queues.openMediaQueue, print, {
    home,
    mediaDir: options.mediaDir,
    serverUrl: wsUrl, // its own CDN (the emulator's) is allowed for media
  });

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
  const life = sessionLifecycle({
    session,
    print,
    queue,
    emulator,
    prompt: options.prompt,
    restingExit: (state) => (state.name === 'loggedOut' && state.reason === 'loggedOut' ? 0 : 1),
    onStop: () => clearTimeout(scanTimer),
  });
  const note = life.note;
  // A session that never got as far as a QR code or a login is talking to nothing (a wrong --url, a
  // server that is down): after --connect-attempts failed connects it says why and exits.
  let established = false;
  session.events$.subscribe((event) => {
    life.printEvent(event);
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
      void life.printed().then(() => life.shutdown(1));
    }
  });

  await life.run();
}

/** The emulator's HTTP API lives on the same host as its WebSocket. */
function phoneApiBase(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}
