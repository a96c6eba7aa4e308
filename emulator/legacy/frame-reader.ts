// One client frame off the wire (docs/protocol.md §1), checked before the machine sees it. A frame that does
// not parse, or whose tag is empty or holds anything but printable ASCII, is no frame: the socket closes
// with 1002 and the tag is never echoed. A ping (`?,,`) is the transport's own. A binary frame and an
// admin command become the connection machine's events; what they get is the machine's decision.
import { parseClientFrame } from '../../codec/index.ts';
import { parseAdminCommand } from './commands.ts';
import type { AdminRequest, ConnectionEvent } from './connection-types.ts';

/** A tag is 1-128 printable ASCII characters (docs/protocol.md §1); anything else is no frame. */
const TAG = /^[\x21-\x7e]{1,128}$/;

export type ClientFrame =
  | { kind: 'malformed'; reason: string }
  | { kind: 'ping' }
  | { kind: 'binary'; event: Extract<ConnectionEvent, { type: 'BINARY' }> }
  /** An admin command, or null when it is not a well-formed one. */
  | { kind: 'command'; tag: string; request: AdminRequest | null };

export function readFrame(data: Buffer, isBinary: boolean): ClientFrame {
  let frame: ReturnType<typeof parseClientFrame>;
  try {
    frame = parseClientFrame(data, isBinary);
  } catch (error) {
    return { kind: 'malformed', reason: `malformed frame: ${(error as Error).message}` };
  }
  if (frame.kind === 'ping') return { kind: 'ping' };
  if (!TAG.test(frame.tag))
    return { kind: 'malformed', reason: 'malformed frame: a tag is 1-128 printable ASCII characters' };
  if (frame.kind === 'binary')
    return { kind: 'binary', event: { type: 'BINARY', tag: frame.tag, payload: frame.payload } };
  return { kind: 'command', tag: frame.tag, request: parseAdminCommand(frame.tag, frame.data) };
}
