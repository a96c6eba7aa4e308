// The client's admin commands (docs/protocol.md §2), checked for shape: a well-formed one becomes the
// machine's request event, anything else null (frame-reader.ts makes it BAD_COMMAND, answered 400 by the
// machine). Whether a command is welcome now is the connection machine's decision, not this parser's.
import { fromBase64 } from '../../crypto/index.ts';
import type { AdminRequest } from './connection-types.ts';

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isClientId(value: unknown): value is string {
  try {
    return typeof value === 'string' && fromBase64(value).length === 16;
  } catch {
    return false;
  }
}

/** `["admin", …]` sent with `tag`, as a request; null when it is not a well-formed admin command. */
export function parseAdminCommand(tag: string, message: unknown): AdminRequest | null {
  if (!Array.isArray(message) || message[0] !== 'admin') return null;
  switch (message[1]) {
    case 'init': {
      const [, , version, description, clientId] = message;
      const validVersion = Array.isArray(version) && version.length === 3 && version.every(Number.isInteger);
      if (!validVersion || !isStringArray(description) || !isClientId(clientId)) return null;
      return { type: 'INIT', tag, version: version as number[], description, clientId };
    }
    case 'Conn':
      if (message[2] === 'reref') return { type: 'REREF', tag };
      if (message[2] === 'disconnect') return { type: 'LOGOUT', tag };
      return null;
    case 'login': {
      const [, , clientToken, serverToken, clientId, mode] = message;
      if (
        typeof clientToken !== 'string' ||
        typeof serverToken !== 'string' ||
        typeof clientId !== 'string' ||
        (mode !== 'takeover' && mode !== 'reconnect')
      )
        return null;
      return { type: 'LOGIN', tag, clientToken, serverToken, clientId, mode };
    }
    case 'challenge': {
      const [, , answer, , clientId] = message;
      if (typeof answer !== 'string' || typeof clientId !== 'string') return null;
      return { type: 'CHALLENGE_ANSWER', tag, answer, clientId };
    }
    case 'test':
      return { type: 'TEST', tag };
    default:
      return null;
  }
}
