// createSession: a session of the protocol asked for, as the protocol-neutral Session (session-types.ts):
// legacy by default, multi-device with `protocol: 'md'` (its code, libsignal included, loads only then).
import { createLegacySession } from './legacy/index.ts';
import type { CreateMdSessionOptions } from './md/index.ts';
import type { CreateSessionOptions, Session } from './session-types.ts';

export async function createSession(
  options: (CreateSessionOptions & { protocol?: 'legacy' }) | CreateMdSessionOptions,
): Promise<Session> {
  if (options.protocol === 'md') {
    const { createMdSession } = await import('./md/index.ts');
    return createMdSession(options);
  }
  return createLegacySession(options);
}
