// The shapes walink accepts for the fields a server sends (docs/protocol.md §2): checked where they enter,
// in the receiver, so nothing later (the QR text, the credential file, a timer) meets a value it cannot
// take. Each reader answers with the value or null; the receiver turns null into a typed drop or failure.
import { fromProtoJid } from '../../codec/index.ts';
import { DEFAULT_LIMITS, type SessionLimits } from '../../machines/legacy/index.ts';

export type FieldLimits = Pick<SessionLimits, 'maxRefLength' | 'maxTokenLength'>;

export const DEFAULT_FIELD_LIMITS: FieldLimits = {
  maxRefLength: DEFAULT_LIMITS.maxRefLength,
  maxTokenLength: DEFAULT_LIMITS.maxTokenLength,
};

/** Printable ASCII without spaces: refs, tokens and base64 are made of these (docs/protocol.md §2.2-2.3). */
const PRINTABLE = /^[\x21-\x7e]+$/;
/** The account a Conn names: `<phone number>@c.us` (docs/protocol.md §2.3; `s.whatsapp.net` is the same). */
const ACCOUNT_JID = /^\d{5,20}@(?:c\.us|s\.whatsapp\.net)$/;
/** Short free texts (a Stream kind, a disconnect kind, a version): no control characters. */
const SHORT_TEXT = /^[^\p{Cc}]{0,64}$/u;
/** A display name: at most 256 characters, no control characters. */
const NAME_TEXT = /^[^\p{Cc}]{0,256}$/u;

/** A ref that can go into the QR text `<ref>,<public key>,<clientId>`: no comma, printable, bounded. */
export function readRef(value: unknown, limits: FieldLimits): string | null {
  return typeof value === 'string' &&
    value.length <= limits.maxRefLength &&
    PRINTABLE.test(value) &&
    !value.includes(',')
    ? value
    : null;
}

/** A token, secret or challenge: printable ASCII, bounded (a 5 MB token is refused). */
export function readToken(value: unknown, limits: FieldLimits): string | null {
  return typeof value === 'string' && value.length <= limits.maxTokenLength && PRINTABLE.test(value)
    ? value
    : null;
}

/** The account's JID, in the `@c.us` form the session keeps (a path like `../../x` is no JID). */
export function readAccount(value: unknown): string | null {
  return typeof value === 'string' && ACCOUNT_JID.test(value) ? fromProtoJid(value) : null;
}

/** A ttl in ms: a positive finite number (the machine caps it, SessionTiming.qrTtlMax). */
export function readTtl(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

export function readShortText(value: unknown): string | null {
  return typeof value === 'string' && SHORT_TEXT.test(value) ? value : null;
}

export function readName(value: unknown): string | null {
  return typeof value === 'string' && NAME_TEXT.test(value) ? value : null;
}

/** A message id or a JID in a push: printable ASCII up to 128 characters. */
export function readId(value: unknown): string | null {
  return typeof value === 'string' && value.length <= 128 && PRINTABLE.test(value) ? value : null;
}

/** A whole number (a status, a binVersion, a tos level, a timestamp). */
export function readInteger(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}
