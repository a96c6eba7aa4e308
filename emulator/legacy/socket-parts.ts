// The parts of one socket that carry out what the connection machine decides (socket-answers.ts,
// socket-pushes.ts, socket-steps.ts, wired to the machine in socket-bindings.ts). They work on this view of
// the socket, not on the Connection class, so none of them imports connection.ts, which imports them all.
import type { ConnectionHost } from './connection-host.ts';
import type { HeldSession } from './connection-types.ts';
import type { FaultBook } from './faults.ts';
import type { LoginResends } from './login-resends.ts';
import type { Outbox } from './outbox.ts';
import type { PushLedger } from './push-ledger.ts';

/** What a scan came to, as pair() reports it to the phone API. */
export type ScanOutcome = 'paired' | 'upgrade_md_prod' | 'closed';

export interface SocketParts<C> {
  /** The connection, as the hub knows it. */
  readonly owner: C;
  readonly host: ConnectionHost<C>;
  readonly faults: FaultBook;
  readonly outbox: Outbox;
  readonly ledger: PushLedger;
  readonly resends: LoginResends;
  /** What the scan being handled came to (set by the pushes that end it). */
  scanOutcome: ScanOutcome;
  /** Open for sending: a socket whose peer is gone, or that is closing, gets nothing more. */
  isOpen(): boolean;
  isClosed(): boolean;
  /** The browser the machine says this socket holds, if any. */
  heldSession(): HeldSession | null;
  close(reason: string, code?: number): void;
}
