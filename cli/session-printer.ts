// What `walink start` shows: every state transition, the QR code with its remaining lifetime, messages,
// media jobs, faults. Human lines by default, JSON lines with --json; never a secret either way, and
// nothing a remote party wrote reaches the terminal with its control characters.
import type { SessionAppEvent } from '../actors/index.ts';
import { jsonSafe } from '../codec/index.ts';
import type { MediaJobEvent } from '../workers/index.ts';
import { mdLine } from './md-lines.ts';
import { qrArt } from './qr-art.ts';
import { terminalSafe, terminalSafeJson } from './terminal-text.ts';

export interface Printer {
  session(event: SessionAppEvent): Promise<void>;
  media(event: MediaJobEvent): void;
  note(text: string, fields?: Record<string, unknown>): void;
}

const clock = () => new Date().toISOString().slice(11, 23);

export function jsonPrinter(out: NodeJS.WritableStream = process.stdout): Printer {
  const line = (value: object) =>
    out.write(`${terminalSafeJson(JSON.stringify(jsonSafe({ at: new Date().toISOString(), ...value })))}\n`);
  return {
    async session(event) {
      line(event);
    },
    media(event) {
      if (event.type !== 'progress') line({ ...event, type: `media.${event.type}` });
    },
    note(text, fields = {}) {
      line({ type: 'note', text, ...fields });
    },
  };
}

export interface HumanPrinterOptions {
  /** ANSI colours in the QR code; default: only on a terminal, and never with NO_COLOR set. */
  color?: boolean;
  /**
   * A terminal: the QR code is drawn after the lines of the same moment and without a line end, so a
   * 24-row screen shows all of it. Default: whether `out` is one.
   */
  terminal?: boolean;
}

/** Colours only for a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function wantsColor(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return (out as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR;
}

export function humanPrinter(
  out: NodeJS.WritableStream = process.stdout,
  options: HumanPrinterOptions = {},
): Printer {
  const terminal = options.terminal ?? (out as { isTTY?: boolean }).isTTY === true;
  const color = options.color ?? wantsColor(out);
  // After a QR code the cursor waits at the end of its last row; the next line starts with a line end.
  let midLine = false;
  const write = (text: string) => {
    if (midLine) out.write('\n');
    midLine = false;
    out.write(text);
  };
  // Every line goes through terminalSafe: message texts, push names, JIDs and reasons come from outside.
  const say = (text: string) => write(`${clock()}  ${terminalSafe(text)}\n`);
  let pendingQr: string[] | undefined;
  const drawQr = () => {
    if (!pendingQr) return;
    write(pendingQr.join('\n'));
    pendingQr = undefined;
    midLine = true;
  };
  return {
    async session(event) {
      switch (event.type) {
        case 'state':
          say(`state     ${event.state}${event.previous ? `   (from ${event.previous})` : ''}`);
          return;
        case 'qr': {
          const seconds = Math.max(0, (event.expiresAt - Date.now()) / 1000);
          say(
            `qr        #${event.index + 1}, valid for ${seconds.toFixed(1)} s (until ${new Date(event.expiresAt).toISOString().slice(11, 19)} UTC)`,
          );
          const rows = qrArt(event.text, { color });
          if (!terminal) {
            write(`${rows.join('\n')}\n`);
            return;
          }
          // The state change and notes of this moment print first, so the code ends the screen.
          pendingQr = rows;
          setImmediate(drawQr);
          return;
        }
        case 'qr.exhausted':
          say('qr        no more QR codes: the server allows 6 per socket; type "restart" for new ones');
          return;
        case 'paired':
          say(`paired    with ${event.wid}`);
          return;
        case 'ready':
          say(`ready     as ${event.wid}`);
          return;
        case 'credentials.updated':
          say('saved     credentials (tokens rotated)');
          return;
        case 'credentials.cleared':
          say(`cleared   credentials (${event.reason})`);
          return;
        case 'message': {
          const m = event.message;
          const who = m.fromMe ? 'me' : (m.pushName ?? m.sender);
          say(`message   ${who} in ${m.chat}: ${m.text ?? (m.media ? `[${m.media.type}]` : '[no text]')}`);
          return;
        }
        case 'media': {
          const { media } = event;
          const size = media.fileLength === undefined ? '' : `, ${media.fileLength} bytes`;
          say(
            `media     ${media.type}${media.mimetype ? ` (${media.mimetype}${size})` : ''} in message ${event.message.id}`,
          );
          return;
        }
        case 'media.queued':
          say(`queued    media job ${event.id}`);
          return;
        case 'receipt':
          say(`receipt   ${JSON.stringify(jsonSafe(event.receipt))}`);
          return;
        case 'contacts':
          say(`contacts  ${event.contacts.length}`);
          return;
        case 'chats':
          say(`chats     ${event.chats.length}`);
          return;
        case 'message.ack':
          say(`sent      ${event.id}: status ${event.status}`);
          return;
        case 'phone':
          say(
            `phone     ${event.reachable ? 'reachable' : 'not reachable'}${event.asleep ? ' (asleep)' : ''}`,
          );
          return;
        case 'frame.dropped':
          say(`dropped   a frame (${event.reason}); ${event.count} so far`);
          return;
        case 'reconnecting':
          say(`reconnect attempt ${event.attempt} in ${event.delay} ms (${event.reason})`);
          return;
        case 'conflict':
          say('conflict  another browser took this session over; type "takeover" to take it back');
          return;
        case 'failed':
          say(`failed    ${event.reason}; type "restart" to try again`);
          return;
        case 'loggedOut':
          say(`logged out (${event.reason})`);
          return;
        case 'error':
          say(`error     ${event.where}: ${event.message}`);
          return;
        default: {
          const line = mdLine(event);
          if (line) say(line);
        }
      }
    },
    media(event) {
      if (event.type === 'done') say(`media     saved ${event.outPath} (${event.bytes} bytes)`);
      else if (event.type === 'failed') say(`media     job ${event.id} failed: ${event.reason}`);
    },
    note(text) {
      say(text);
    },
  };
}
