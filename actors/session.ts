// createSession: a session of the protocol asked for, as the protocol-neutral Session (session-types.ts).
// Only the legacy protocol exists so far; the multi-device one will be chosen by a `protocol` option.
import { createLegacySession } from './legacy/index.ts';
import type { CreateSessionOptions, Session } from './session-types.ts';

export async function createSession(options: CreateSessionOptions): Promise<Session> {
  return createLegacySession(options);
}
