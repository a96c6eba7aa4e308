// Why the MD emulator refused a peer's input. Every refusal inside a connection is one of these (or a
// CodecError / CryptoError / AdvError from the floors below): the connection closes with its code logged,
// and nothing untyped ever escapes to the socket layer.

export type MdEmulatorErrorCode =
  /** The connection header named a dictionary other than 2 or 3 (docs/protocol-md.md §1.2). */
  | 'BAD_DICTIONARY'
  /** A handshake frame that is not the HandshakeMessage expected at this step (§2.2). */
  | 'BAD_HANDSHAKE'
  /** The ClientPayload is neither a valid registration nor a login (§4). */
  | 'BAD_PAYLOAD'
  /** A frame arrived after the connection stopped reading (closing). */
  | 'CLOSED'
  /** The peer does not read what it is sent, or sends faster than the server handles (bounded memory). */
  | 'BACKPRESSURE'
  /** No complete handshake, or no frame at all, within the deadline. */
  | 'TIMEOUT'
  /** A stanza the server cannot act on (missing id, wrong shape). */
  | 'BAD_STANZA';

export class MdEmulatorError extends Error {
  override readonly name = 'MdEmulatorError';
  constructor(
    readonly code: MdEmulatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The typed errors of walink's floors and of this emulator: anything else reaching a catch is a bug. */
export function isTypedError(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    ['MdEmulatorError', 'CodecError', 'CryptoError', 'AdvError', 'CertChainError'].includes(error.name)
  );
}

/** An error the phone API turns into a 4xx/5xx JSON answer. */
export class MdPhoneError extends Error {
  override readonly name = 'MdPhoneError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
