/** Why a cryptographic operation refused its input. Nothing decrypted is ever returned with one. */
export type CryptoErrorCode =
  | 'BAD_KEY_LENGTH'
  | 'BAD_IV_LENGTH'
  | 'BAD_MAC'
  | 'BAD_PADDING'
  | 'BAD_LENGTH'
  | 'BAD_SECRET'
  | 'BAD_BASE64'
  | 'BAD_HEX'
  | 'HASH_MISMATCH'
  | 'MEDIA_DELETED'
  // multi-device (docs/protocol-md.md)
  | 'BAD_TAG'
  | 'BAD_PUBLIC_KEY'
  | 'NOISE_STATE'
  | 'COUNTER_EXHAUSTED'
  | 'BAD_INTRO'
  | 'BAD_PAIR_CODE'
  | 'BAD_KEY_BUNDLE'
  | 'SIGNAL_NO_SESSION'
  | 'SIGNAL_PREKEY'
  | 'SIGNAL_DUPLICATE'
  | 'SIGNAL_UNTRUSTED_IDENTITY'
  | 'SIGNAL_BAD_MESSAGE';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCryptoError(value: unknown): value is CryptoError {
  return value instanceof CryptoError;
}
