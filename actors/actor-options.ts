// What both protocols' sessions hand XState and their effects alike: the tuning spread into a machine's
// input (timing, limits, random), the actor options (an inspect hook that cannot end the session, the
// clock), the `error` event an effect's failure becomes, and the media items put on the queue.
import type { InspectionEvent } from 'xstate';
import type { MediaReference } from '../codec/index.ts';
import { mediaFields } from '../crypto/index.ts';
import type { MediaQueue } from '../workers/index.ts';
import type { SessionEventStream } from './session-bridge.ts';

/** The session options both protocols take for their machine and actor. */
export interface ActorTuning<TTiming, TLimits> {
  timing?: TTiming;
  limits?: TLimits;
  random?: () => number;
  inspect?: (event: InspectionEvent) => void;
  clock?: {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => unknown;
    clearTimeout: (id: unknown) => void;
  };
}

export type ReportError = (where: 'store' | 'queue' | 'inspect', error: unknown) => void;

/** An error an effect threw, as one line for an `error` event. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure beside the protocol (a store write, a media job, the inspect hook) as an `error` event. */
export function errorReporter(events: SessionEventStream): ReportError {
  return (where, error) => events.tell({ type: 'error', where, message: messageOf(error) });
}

/** The machine input's tuning: only what the caller gave (the machine fills in its defaults). */
export function tuningInput<TTiming, TLimits>(
  options: ActorTuning<TTiming, TLimits>,
): { timing?: TTiming; limits?: TLimits; random?: () => number } {
  return {
    ...(options.timing ? { timing: options.timing } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.random ? { random: options.random } : {}),
  };
}

/** createActor's options beside the input: an inspect hook whose throw is reported, not fatal; the clock. */
export function actorOptions(
  options: ActorTuning<unknown, unknown>,
  reportError: ReportError,
): { inspect?: (event: InspectionEvent) => void; clock?: ActorTuning<unknown, unknown>['clock'] } {
  const inspect = options.inspect;
  return {
    ...(inspect
      ? {
          inspect: (event: InspectionEvent) => {
            try {
              inspect(event);
            } catch (error) {
              reportError('inspect', error);
            }
          },
        }
      : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  };
}

/** One media job a message asked for: the reference, the message and the chat it came in. */
export interface QueuedMedia {
  media: MediaReference;
  messageId: string;
  chat: string;
}

/**
 * Puts each item on the queue (none without one) and tells `media.queued` with the job's id. A queue that
 * throws at once must not reach the machine (it would end the session): its error is reported.
 */
export function enqueueMediaItems(
  queue: MediaQueue | undefined,
  items: readonly QueuedMedia[],
  events: SessionEventStream,
  reportError: ReportError,
): void {
  if (!queue) return;
  for (const { media, messageId, chat } of items) {
    Promise.resolve()
      .then(() =>
        queue.enqueue({
          type: media.type,
          mediaKey: media.mediaKey,
          ...mediaFields(media),
          messageId,
          chatJid: chat,
        }),
      )
      .then(({ id }) => events.tell({ type: 'media.queued', id, messageId }))
      .catch((error) => reportError('queue', error));
  }
}
