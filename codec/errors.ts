/** Bytes or text that do not follow the protocol. `offset` is where reading stopped (-1: not positional). */
export type CodecErrorCode =
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'BAD_LIST'
  | 'EMPTY_NODE'
  | 'BAD_TAG'
  | 'UNKNOWN_TOKEN'
  | 'DICTIONARY_TOKEN'
  | 'STREAM_END'
  | 'BAD_PACKED'
  | 'TOO_DEEP'
  | 'BAD_STRING'
  | 'BAD_NODE'
  | 'BAD_FRAME'
  | 'BAD_JSON'
  | 'BAD_QR'
  | 'BAD_JID'
  | 'BAD_PROTO'
  | 'UNKNOWN_VERSION'
  // multi-device framing (docs/protocol-md.md "Framing")
  | 'EMPTY_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'BAD_INTRO'
  // MD binary nodes (codec/md)
  | 'TOO_LARGE'
  | 'BAD_ZLIB'
  | 'MISSING_CHILD'
  | 'MISSING_ATTR'
  | 'BAD_ATTR'
  | 'BAD_CONTENT';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message);
  }
}

export function isCodecError(value: unknown): value is CodecError {
  return value instanceof CodecError;
}
