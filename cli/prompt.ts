// The prompt of `walink start` (legacy and --md): one command a line on stdin while the session runs.
import { createInterface } from 'node:readline';
import type { Session } from '../actors/index.ts';
import type { Printer } from './session-printer.ts';

/** What the terminal prompt understands; `help` prints this. */
const PROMPT_COMMANDS = [
  ['send <jid> <text>', 'send a text message (in ready)'],
  ['logout', 'log out: the phone unlinks this browser, the credentials are cleared'],
  ['restart', 'start over from a resting state (new QR codes, or a login)'],
  ['takeover', 'take the session back after a conflict'],
  ['code <phone>', 'multi-device: link by phone number instead of the QR code'],
  ['quit', 'stop, keeping the credentials (like Ctrl-C)'],
  ['help', 'this list'],
] as const;

/** The prompt's command list, aligned, one command a line. */
export function promptHelp(): string[] {
  const width = Math.max(...PROMPT_COMMANDS.map(([usage]) => usage.length));
  return PROMPT_COMMANDS.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`);
}

export function readCommands(session: Session, print: Printer): void {
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
      case 'code':
        if (!jid) print.note('usage: code <phone>');
        else {
          try {
            session.requestPairingCode(jid);
          } catch (error) {
            print.note((error as Error).message);
          }
        }
        return;
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
