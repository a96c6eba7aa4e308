// One client frame off the wire (docs/protocol.md §1), read into the connection machine's event: a binary
// frame, an admin command (commands.ts checks its shape), a command that is none (BAD_COMMAND), or a frame
// that is no frame (MALFORMED: it does not parse, or its tag is empty or holds anything but printable ASCII,
// and is never echoed). What each gets is the machine's decision. A ping (`?,,`) is the transport's own.
import { parseClientFrame } from '../../codec/index.ts';
import { parseAdminCommand } from './commands.ts';
import type { ConnectionEvent } from './connection-types.ts';

/** A tag is 1-128 printable ASCII characters (docs/protocol.md §1); anything else is no frame. */
const TAG = /^[\x21-\x7e]{1,128}$/;

export type ClientFrame = { kind: 'ping' } | { kind: 'event'; event: ConnectionEvent };

const event = (e: ConnectionEvent): ClientFrame => ({ kind: 'event', event: e });

export function readFrame(data: Buffer, isBinary: boolean): ClientFrame {
  let frame: ReturnType<typeof parseClientFrame>;
  try {
    frame = parseClientFrame(data, isBinary);
  } catch (error) {
    return event({ type: 'MALFORMED', reason: `malformed frame: ${(error as Error).message}` });
  }
  if (frame.kind === 'ping') return { kind: 'ping' };
  if (!TAG.test(frame.tag))
    return event({ type: 'MALFORMED', reason: 'malformed frame: a tag is 1-128 printable ASCII characters' });
  if (frame.kind === 'binary') return event({ type: 'BINARY', tag: frame.tag, payload: frame.payload });
  return event(parseAdminCommand(frame.tag, frame.data) ?? { type: 'BAD_COMMAND', tag: frame.tag });
}
