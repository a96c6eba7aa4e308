// The narrow door from one socket to the shared server: a connection reads and changes shared state (refs,
// browsers, tokens, messages waiting, media) only through these calls. The hub, in turn, never writes a
// connection's fields; it asks the socket (pair, kick, push).
import type { Logger } from 'pino';
import type { WebMessageInfo } from '../../codec/index.ts';
import type { SessionKeys } from '../../crypto/index.ts';
import type { KnownBrowser, LoginRequest, Ref } from './connection-types.ts';
import type { FaultBook } from './faults.ts';
import type { LatencyKind, LegacyOptions } from './options.ts';
import type { Phone, SentMessage, Tokens } from './world.ts';

/**
 * What a connection (connection.ts and its parts, socket-parts.ts) asks of the server it belongs to.
 * hub.ts implements it and owns all shared state; `TConnection` is the asking socket, which the hub knows
 * it by.
 */
export interface ConnectionHost<TConnection> {
  readonly log: Logger;
  readonly faults: FaultBook;
  readonly refTtlMs: number;
  readonly options: LegacyOptions;
  /** What the server takes to answer each kind of request, in ms. */
  readonly latency: Readonly<Record<LatencyKind, number>>;
  now(): number;
  frameReceived(): void;
  frameDropped(): void;
  /** A fresh ref, not yet registered. */
  mintRef(): Ref;
  registerRef(connection: TConnection, ref: Ref): void;
  retireRef(value: string): void;
  /** Records a browser the phone just scanned, with fresh tokens; `connection` holds it now. */
  linkBrowser(
    connection: TConnection,
    draft: { clientId: string; phoneNumber: string; description: string[]; keys: SessionKeys },
  ): void;
  /**
   * `connection` holds the browser now; counts the login and rotates the browser's tokens. `presented`:
   * `clientToken serverToken` of the login, which decides which pair stays the previous one.
   */
  resumeSession(connection: TConnection, clientId: string, presented: string | null): void;
  /** What a Conn push says about a linked browser. */
  connView(clientId: string): { phone: Readonly<Phone>; tokens: Tokens };
  loginFacts(
    connection: TConnection,
    login: Pick<LoginRequest, 'clientId' | 'clientToken' | 'serverToken'>,
  ): { browser: KnownBrowser | null; heldElsewhere: boolean };
  challengeFacts(
    connection: TConnection,
    clientId: string,
  ): { browser: Pick<KnownBrowser, 'phoneNumber' | 'keys'> | null; heldElsewhere: boolean };
  /** Messages that waited for this browser, handed over once. */
  takePending(clientId: string): WebMessageInfo[];
  /**
   * Messages pushed to a socket that closed before it acknowledged them: first in line again, or pushed at
   * once to another socket holding the browser by now (unless `pushToHolder` is false).
   */
  requeue(clientId: string, messages: readonly WebMessageInfo[], how?: { pushToHolder: boolean }): void;
  forgetBrowser(clientId: string): void;
  phone(number: string): Readonly<Phone>;
  recordSent(phoneNumber: string, message: SentMessage): void;
  /** Fresh media attributes for a message whose media is asked for again, or undefined. */
  reuploadMedia(index: string): Record<string, string> | undefined;
  /** The socket is gone: drop its refs and holdings. */
  detach(connection: TConnection): void;
}
