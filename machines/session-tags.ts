// The tags a session machine puts on its states (XState `tags`), whichever protocol it speaks: callers
// ask "is it resting?" or "is a QR code up?" instead of matching state names. actors/ copies them into
// the public SessionState; the page gets them with every session it is sent.
export const SESSION_TAGS = [
  /** A socket is open or opening; the protocol runs over it. */
  'online',
  /** A QR code is up: a phone has to scan it. */
  'needsScan',
  /** A multi-device pair code is up: the user has to type it on the phone (docs/protocol-md.md §7). */
  'needsCode',
  /** Logged in: messages flow and the session can send. */
  'ready',
  /** No socket: waiting to reconnect, or resting. */
  'offline',
  /** Stopped with a reason; the session does not leave on its own (restart, take over). */
  'resting',
] as const;

export type SessionTag = (typeof SESSION_TAGS)[number];
