// The human lines `walink start --md` prints for what only a multi-device session tells (the `md.*`
// events and the pair code); session-printer.ts prints the rest. Never a secret: keys, the QR text and
// app-state key bytes are not in these events, and message texts go through terminalSafe there.
import type { SessionAppEvent } from '../actors/index.ts';

function seconds(expiresAt: number): string {
  return `${Math.max(0, (expiresAt - Date.now()) / 1000).toFixed(0)} s`;
}

/** The line for an MD event, or null when it is not one. */
export function mdLine(event: SessionAppEvent): string | null {
  switch (event.type) {
    case 'pairCode':
      return `code      ${event.code}: type it on the phone (Linked devices → Link with phone number), valid for ${seconds(event.expiresAt)}`;
    case 'md.pairCode.failed':
      return `code      refused: ${event.reason}${event.status ? ` (${event.status})` : ''}${event.backoffMs ? `, try again in ${Math.ceil(event.backoffMs / 1000)} s` : ''}`;
    case 'md.pairCode.wrongCode':
      return `code      the phone could not link: a wrong code? ${event.attemptsLeft} attempts left`;
    case 'md.paired':
      return `paired    with ${event.jid} by ${event.method === 'code' ? 'pair code' : 'QR code'}${event.platform ? ` (${event.platform})` : ''}`;
    case 'md.ready':
      return `ready     as ${event.jid}`;
    case 'md.credentials.updated':
      return 'saved     credentials';
    case 'md.credentials.cleared':
      return `cleared   credentials (${event.reason})`;
    case 'md.message': {
      const { message } = event;
      const content = message.content;
      const body =
        content.kind === 'text' || content.kind === 'extendedText'
          ? content.text
          : content.kind === 'media'
            ? `[${content.media.type}]${content.caption ? ` ${content.caption}` : ''}`
            : content.kind === 'undecryptable'
              ? `[undecryptable: ${content.reason}]`
              : content.kind === 'appStateKeys'
                ? `[${content.count} app-state keys]`
                : `[${content.kind === 'historySync' ? 'history sync' : content.type}]`;
      return `message   ${message.participant ?? message.from}: ${body}`;
    }
    case 'md.receipt':
      return `receipt   ${event.receiptType ?? 'delivery'} for ${event.id} from ${event.from}`;
    case 'md.sent':
      return `sent      ${event.id} to ${event.to} (the server has it)`;
    case 'md.send.failed':
      return `not sent  ${event.id} to ${event.to}: ${event.reason}${event.detail ? ` (${event.detail})` : ''}`;
    case 'md.offline':
      return `offline   ${event.count} queued messages delivered`;
    case 'md.frame.dropped':
      return `dropped   a frame (${event.code}: ${event.reason}); ${event.count} so far`;
    case 'md.pairFailed':
      return `failed    pairing: ${event.reason}; type "restart" to try again`;
    case 'md.failed':
      return `failed    ${event.reason}; type "restart" to try again`;
    case 'md.loggedOut':
      return `logged out (${event.reason})`;
    default:
      return null;
  }
}
