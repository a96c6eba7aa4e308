// The tail both `walink start` and `walink start --md` share: output kept in event order, a clean stop
// (the session, the printing, the media queue, the embedded emulator) on Ctrl-C or SIGTERM — a second one
// does not wait — an exit when a session rests and nobody can type "restart", and the prompt; and the setup
// they share before it: the session file's folder, the media queue with its jobs printed.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Session, SessionAppEvent, SessionState } from '../actors/index.ts';
import type { OpenedMediaQueue } from '../workers/queues/index.ts';
import type { Printer } from './session-printer.ts';

/** The session file (resolved) and its folder, made private (0700) if it is not there; the emulator keeps its state beside it. */
export async function sessionHome(file: string): Promise<{ sessionFile: string; home: string }> {
  const sessionFile = resolve(file);
  const home = dirname(sessionFile);
  await mkdir(home, { recursive: true, mode: 0o700 });
  return { sessionFile, home };
}

/**
 * The media queue (Redis when REDIS_URL is set) with media under --media-dir or `home`/media, its
 * description noted and its job events printed. `serverUrl`'s own CDN (the emulator's) is allowed for media.
 */
export async function openPrintedQueue(
  open: (options: {
    mediaDir: string;
    redisUrl?: string | undefined;
    serverUrl?: string | undefined;
  }) => Promise<OpenedMediaQueue>,
  print: Printer,
  where: { home: string; mediaDir?: string | undefined; serverUrl: string },
): Promise<OpenedMediaQueue['queue']> {
  const { queue, description } = await open({
    mediaDir: resolve(where.mediaDir ?? join(where.home, 'media')),
    redisUrl: process.env.REDIS_URL,
    serverUrl: where.serverUrl,
  });
  print.note(description);
  queue.events$.subscribe((event) => print.media(event));
  return queue;
}

export interface SessionLifecycleOptions {
  session: Session;
  print: Printer;
  queue: { close(): Promise<void> };
  emulator?: { close(): Promise<void> } | undefined;
  /** Read prompt commands from stdin even when it is not a terminal. */
  prompt?: boolean | undefined;
  /** The exit code of a session that rests with no terminal: the command's own rule. */
  restingExit(state: SessionState): number;
  /** Called once when the stop begins (the command clears its timers). */
  onStop?: () => void;
}

export interface SessionLifecycle {
  /** A note printed after everything before it (drawing a QR code is asynchronous). */
  note(text: string, fields?: Record<string, unknown>): void;
  /** A session event, printed in order. */
  printEvent(event: SessionAppEvent): void;
  /** Once all that is queued has printed. */
  printed(): Promise<void>;
  /** Stops everything and exits with `code`; a second call does nothing. */
  shutdown(code: number): Promise<void>;
  /** Installs the signals, the resting exit and the prompt, then starts the session. */
  run(): Promise<void>;
}

export function sessionLifecycle(options: SessionLifecycleOptions): SessionLifecycle {
  const { session, print } = options;
  let printing: Promise<void> = Promise.resolve();
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    options.onStop?.();
    await session.stop();
    await printing;
    await options.queue.close();
    await options.emulator?.close();
    process.exit(code);
  };
  return {
    note(text, fields) {
      printing = printing.then(() => print.note(text, fields));
    },
    printEvent(event) {
      printing = printing.then(() => print.session(event)).catch(() => undefined);
    },
    printed: () => printing,
    shutdown,
    async run() {
      // A second Ctrl-C does not wait for the clean stop.
      const onSignal = () => (stopping ? process.exit(130) : void shutdown(0));
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      const interactive = process.stdin.isTTY === true;
      session.state$.subscribe((state) => {
        if (!state.resting || interactive) return;
        // Without a terminal nobody can type "restart": report the end and leave.
        void printing.then(() => shutdown(options.restingExit(state)));
      });
      if (interactive || options.prompt) {
        const { readCommands } = await import('./prompt.ts');
        readCommands(session, print);
      }
      session.start();
    },
  };
}
