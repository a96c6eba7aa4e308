// docs/protocol.md §2.5: a client re-sends its login when the answer is slow, and again when it lost the
// answer. Which of the two a re-sent login is depends on the order of frames and answers on this socket,
// which only the socket knows: this counts the frames that arrived, notes how many had when a login's answer
// went out, and stamps a later login with its tag as `afterAnswer`. What a re-send gets is the connection
// machine's decision (its `sameLoginAnswerLost` guard).
import type { ConnectionEvent } from './connection-types.ts';

export class LoginResends {
  /** Frames that arrived so far. */
  private arrivals = 0;
  /** The tag of the last login answered, and how many frames had arrived when its answer went out. */
  private answered: { tag: string; arrivals: number } | null = null;

  /** A frame arrived: its number on this socket. */
  arrived(): number {
    this.arrivals += 1;
    return this.arrivals;
  }

  /** The answer to the login tagged `tag` went out now. */
  loginAnswered(tag: string): void {
    this.answered = { tag, arrivals: this.arrivals };
  }

  /** Marks a login that arrived (as frame `arrival`) after the answer to a login with its tag went out. */
  stamp(request: ConnectionEvent, arrival: number): void {
    if (request.type !== 'LOGIN') return;
    const answered = this.answered;
    request.afterAnswer = answered !== null && answered.tag === request.tag && arrival > answered.arrivals;
  }
}
