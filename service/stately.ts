// --stately: stream inspection events to a Stately inspector over WebSocket (@statelyai/inspect), for
// users who have the hosted one. Events and context are sanitized first: no keys, tokens or media keys.
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { jsonSafe } from '../codec/index.ts';

/** The parts of a session's context that are safe to show anywhere. */
export function publicContext(context: Record<string, unknown> | undefined): Record<string, unknown> {
  // Callback actors (the socket) have no context at all.
  if (!context || typeof context !== 'object') return {};
  const credentials = context.credentials as { wid?: string } | null | undefined;
  return {
    wid: credentials?.wid ?? null,
    hasCredentials: Boolean(credentials),
    loginMode: context.loginMode,
    ref: context.ref,
    ttl: context.ttl,
    qrIndex: context.qrIndex,
    reconnectAttempts: context.reconnectAttempts,
    lastDisconnect: context.lastDisconnect,
    failure: context.failure,
    droppedFrames: context.droppedFrames,
    phoneReachable: context.phoneReachable,
  };
}

export interface StatelyBridge {
  inspect: (event: InspectionEvent) => void;
  stop(): void;
}

export function startStatelyBridge(url: string): StatelyBridge {
  const inspector = createWebSocketInspector({
    url,
    sanitizeEvent: (event) => jsonSafe(event) as typeof event,
    sanitizeContext: (context) => publicContext(context as Record<string, unknown> | undefined),
  });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
