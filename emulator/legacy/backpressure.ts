// Backpressure for one socket (docs/emulator.md, "The WebSocket endpoint"): the server stops reading while
// its peer leaves more than highWaterBytes of output unread, or while more than maxQueuedFrames of the
// peer's frames wait to be handled, and drops a peer that leaves more than maxBufferedBytes unread. Either
// reason pauses reading; it resumes only when neither holds, so a client that floods and never reads
// cannot grow the server's memory.
import type { WebSocket } from 'ws';
import type { LegacyOptions } from './options.ts';

/** How often a socket whose reading is paused looks whether its peer read enough. */
const OUTPUT_POLL_MS = 50;

export type BackpressureLimits = Pick<
  LegacyOptions,
  'highWaterBytes' | 'maxBufferedBytes' | 'maxQueuedFrames'
>;

export class Backpressure {
  private outputPoll: NodeJS.Timeout | null = null;
  /** Frames read and not yet handled; past maxQueuedFrames reading pauses until half of them are done. */
  private queued = 0;
  private heldForQueue = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: BackpressureLimits,
    private readonly isClosed: () => boolean,
    /** The peer left more than maxBufferedBytes unread: the socket goes. */
    private readonly overflow: (buffered: number) => void,
  ) {}

  /** After a send: past maxBufferedBytes the peer is dropped, past highWaterBytes reading pauses. */
  wrote(): void {
    const { highWaterBytes, maxBufferedBytes } = this.limits;
    const buffered = this.ws.bufferedAmount;
    if (buffered > maxBufferedBytes) {
      this.overflow(buffered);
    } else if (buffered > highWaterBytes && !this.outputPoll) {
      if (!this.heldForQueue) this.ws.pause();
      this.outputPoll = setInterval(() => {
        if (this.ws.bufferedAmount > highWaterBytes / 2) return;
        clearInterval(this.outputPoll!);
        this.outputPoll = null;
        if (!this.isClosed() && !this.heldForQueue) this.ws.resume();
      }, OUTPUT_POLL_MS);
      this.outputPoll.unref?.();
    }
  }

  /** A frame was read and waits its turn. */
  frameQueued(): void {
    this.queued += 1;
    if (this.queued > this.limits.maxQueuedFrames && !this.heldForQueue) {
      this.heldForQueue = true;
      if (!this.outputPoll) this.ws.pause();
    }
  }

  /** A frame was handled. */
  frameDone(): void {
    this.queued -= 1;
    if (this.heldForQueue && this.queued <= this.limits.maxQueuedFrames / 2) {
      this.heldForQueue = false;
      if (!this.outputPoll && !this.isClosed()) this.ws.resume();
    }
  }

  /** The socket closed: no more looking at its output. */
  stop(): void {
    if (this.outputPoll) clearInterval(this.outputPoll);
    this.outputPoll = null;
  }
}
