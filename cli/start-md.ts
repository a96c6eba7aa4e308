import type { Session } from '../actors/index.ts';
import type { Emulator } from '../emulator/index.ts';
import type { Printer } from './session-printer.ts';
import { shellQuote } from './terminal-text.ts';
import { UsageError } from './usage.ts';

export interface StartMdOptions {
  url?: string;
  rootKey?: string;
  session?: string;
  autoScan: boolean;
  scanAfter: number;
  phone?: string;
  pairCode?: string;
  json?: boolean;
  mediaDir?: string;
  verbose?: boolean;
  /** Read prompt commands from stdin even when it is not a terminal. */
  prompt?: boolean;
  /** Give up (exit 1) after this many failed connects while nothing was established; 0: never. */
  connectAttempts?: number;
}

/** The embedded emulator's own phone (`emulator/legacy/phone-client.ts` DEFAULT_PHONE, valid for MD too). */
const DEFAULT_MD_PHONE = '491511112222';

function rootKeyOf(options: StartMdOptions): Uint8Array | undefined {
  if (options.rootKey === undefined) return undefined;
  if (!options.url) throw new UsageError('--root-key names the root of the --url server; give --url too');
  if (!/^[0-9a-fA-F]{64}$/.test(options.rootKey)) {
    throw new UsageError('--root-key is the server root public key as 64 hex digits');
  }
  return new Uint8Array(Buffer.from(options.rootKey, 'hex'));
}

async function post(base: string, path: string, body: unknown): Promise<string | null> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.ok) return null;
  return `${res.status} ${(await res.text()).slice(0, 200)}`;
}

export async function runStartMd(options: StartMdOptions): Promise<void> {
  const rootPublicKey = rootKeyOf(options);
  const [actors, queues, embedded, printers] = await Promise.all([
    import('../actors/index.ts'),
    import('../workers/queues/index.ts'),
    import('./embedded-emulator.ts'),
    import('./session-printer.ts'),
  ]);
  const { openPrintedQueue, sessionHome, sessionLifecycle } = await import('./session-lifecycle.ts');
  let codePhone: string | undefined;
  if (options.pairCode !== undefined) {
    try {
      codePhone = actors.md.normalizePhone(options.pairCode);
    } catch (error) {
      throw new UsageError(`--pair-code: ${(error as Error).message}`);
    }
  }
  const { sessionFile, home } = await sessionHome(options.session ?? '.walink/md-session.json');
  const print: Printer = options.json ? printers.jsonPrinter() : printers.humanPrinter();

  let emulator: Emulator | undefined;
  if (!options.url) {
    const started = await embedded.startEmbeddedEmulator({ home, verbose: options.verbose });
    emulator = started;
    print.note(`embedded emulator at ${started.url}, multi-device at ${started.mdWsUrl}`, {
      emulator: started.url,
      rootKey: started.md.rootPublicKeyHex,
    });
  }
  const url = options.url ?? emulator!.mdWsUrl;
  const queue = await openPrintedQueue(queues.openMediaQueue, print, {
    home,
    mediaDir: options.mediaDir,
    serverUrl: url,
  });

  const store = new actors.FileCredentialStore(sessionFile, actors.md.MD_CREDENTIAL_CODEC);
  const root = rootPublicKey ?? emulator?.md.rootPublicKey;
  const session: Session = await actors.createSession({
    protocol: 'md',
    url,
    ...(root ? { rootPublicKey: root } : {}),
    store,
    queue,
    name: 'walink',
  });
  print.note(`session file ${sessionFile}`, { session: sessionFile });

  // The embedded phone acts after --scan-after, as a person would.
  let phoneTimer: NodeJS.Timeout | undefined;
  const life = sessionLifecycle({
    session,
    print,
    queue,
    emulator,
    prompt: options.prompt,
    restingExit: (state) => (state.reason === 'loggedOut' ? 0 : 1),
    onStop: () => clearTimeout(phoneTimer),
  });
  const note = life.note;
  const phoneActs = (what: string, path: string, body: unknown) => {
    if (!emulator || !options.autoScan) return;
    clearTimeout(phoneTimer);
    phoneTimer = setTimeout(() => {
      post(emulator!.url, path, body)
        .then((problem) => problem && note(`the phone could not ${what}: ${problem}`))
        .catch((error: unknown) => note(`the phone could not ${what}: ${(error as Error).message}`));
    }, options.scanAfter);
  };
  const scanner = options.phone ?? DEFAULT_MD_PHONE;
  let codeRequested = false;
  // A session that never got as far as a QR code or a login is talking to nothing (a wrong --url, a
  // server that is down): after --connect-attempts failed connects it says why and exits, as legacy does.
  let established = false;
  const connectAttempts = options.connectAttempts ?? 5;
  session.events$.subscribe((event) => {
    life.printEvent(event);
    if (event.type === 'qr' || event.type === 'md.ready') established = true;
    if (
      event.type === 'reconnecting' &&
      !established &&
      connectAttempts > 0 &&
      event.attempt >= connectAttempts
    ) {
      note(
        `giving up: ${event.attempt} connects to ${url} failed (last: ${event.reason}) and none got as far as a QR code or a login (--connect-attempts 0 keeps trying)`,
        { gaveUp: true, attempts: event.attempt, reason: event.reason },
      );
      void life.printed().then(() => life.shutdown(1));
    }
    if (event.type === 'qr') {
      // A pair code is asked for once the registration socket is up (docs/protocol-md.md §7.3).
      if (codePhone && !codeRequested) {
        codeRequested = true;
        session.requestPairingCode(codePhone);
      }
      if (!codePhone && event.index === 0 && emulator && options.autoScan) {
        note(
          `the emulator's phone +${scanner} scans in ${options.scanAfter / 1000} s (--no-auto-scan to scan yourself)`,
        );
      }
      if (!codePhone) phoneActs('scan', `/md/phones/${scanner}/scan`, { qr: event.text });
      if (!codePhone && emulator && !options.autoScan && !options.json) {
        const body = shellQuote(JSON.stringify({ qr: event.text }));
        note(
          `scan it: curl -X POST ${emulator.url}/md/phones/${scanner}/scan -H 'content-type: application/json' -d ${body}`,
        );
      }
    } else if (event.type === 'pairCode' && codePhone) {
      if (emulator && options.autoScan) {
        note(`the emulator's phone +${codePhone} types ${event.code} in ${options.scanAfter / 1000} s`);
      }
      phoneActs('type the code', `/md/phones/${codePhone}/link-code`, { code: event.code });
      if (emulator && !options.autoScan && !options.json) {
        const body = shellQuote(JSON.stringify({ code: event.code }));
        note(
          `type it: curl -X POST ${emulator.url}/md/phones/${codePhone}/link-code -H 'content-type: application/json' -d ${body}`,
        );
      }
    } else if (event.type === 'md.ready' && emulator) {
      note(
        `try: curl -X POST ${emulator.url}/md/phones/${event.jid.split(':')[0]}/messages -H 'content-type: application/json' -d '{"from": "491700000000@s.whatsapp.net", "text": "hi"}'`,
      );
    }
  });

  await life.run();
}
