// JIDs: `user[.agent][:device]@server`. The JSON side and node attributes use `@c.us`; protobuf
// messages use `@s.whatsapp.net` (docs/protocol.md §3).
import { CodecError } from '../errors.ts';

export interface JidParts {
  user: string;
  server: string;
  agent?: number;
  device?: number;
}

const USER_RE = /^([^.:@]*)(?:\.(\d+))?(?::(\d+))?$/;
/**
 * Whether `text` can be a user or a server of a JID: no `@`, `,` or control character (Unicode Cc: U+0000-U+001F
 * and U+007F-U+009F), any of which would read as another JID, a frame field, or a terminal command. A loop over
 * the character codes: the decoder asks this of every JID part, and it measured faster than the regular
 * expression /[@,\p{Cc}]/u it replaces.
 */
export function isJidPart(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x40 || code === 0x2c || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}

export function parseJid(jid: string): JidParts {
  if (typeof jid !== 'string' || jid.length === 0)
    throw new CodecError('BAD_JID', 'a JID is a non-empty string');
  const at = jid.indexOf('@');
  if (at < 0) {
    if (!isJidPart(jid)) throw new CodecError('BAD_JID', `malformed JID ${JSON.stringify(jid)}`);
    return { user: '', server: jid };
  }
  const server = jid.slice(at + 1);
  const match = USER_RE.exec(jid.slice(0, at));
  if (!match || server.length === 0 || !isJidPart(server) || !isJidPart(match[1]!))
    throw new CodecError('BAD_JID', `malformed JID ${JSON.stringify(jid)}`);
  const parts: JidParts = { user: match[1]!, server };
  if (match[2] !== undefined) parts.agent = Number(match[2]);
  if (match[3] !== undefined) parts.device = Number(match[3]);
  return parts;
}

export function formatJid(parts: JidParts): string {
  if (!parts.user) return parts.server;
  const agent = parts.agent ? `.${parts.agent}` : '';
  const device = parts.device ? `:${parts.device}` : '';
  return `${parts.user}${agent}${device}@${parts.server}`;
}

export function toProtoJid(jid: string): string {
  return jid.endsWith('@c.us') ? `${jid.slice(0, -'c.us'.length)}s.whatsapp.net` : jid;
}

export function fromProtoJid(jid: string): string {
  return jid.endsWith('@s.whatsapp.net') ? `${jid.slice(0, -'s.whatsapp.net'.length)}c.us` : jid;
}

/** `<number>@c.us` for a phone number (digits only). */
export function userJid(phoneNumber: string): string {
  if (!/^\d{5,20}$/.test(phoneNumber)) throw new CodecError('BAD_JID', `not a phone number: ${phoneNumber}`);
  return `${phoneNumber}@c.us`;
}
