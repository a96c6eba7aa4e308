// The tail both `walink start` and `walink start --md` share: output kept in event order, a clean stop
// (the session, the printing, the media queue, the embedded emulator) on Ctrl-C or SIGTERM — a second one
// does not wait — an exit when a session rests and nobody can type "restart", and the prompt.
import type { Session, SessionAppEvent, SessionState } from '../actors/index.ts';
import type { Printer } from './session-printer.ts';

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
