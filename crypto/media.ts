// docs/protocol.md §4: media keys, the encrypted CDN object (ct ‖ mac10) and the streaming sidecar.
// In memory, for small objects and for the emulator; the workers stream the same checks.
import { aesCbcDecrypt, aesCbcEncrypt } from './aes-cbc.ts';
import { concatBytes, constantTimeEqual, requireLength, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { hmacSha256, sha256 } from './hash.ts';
import { hkdf } from './hkdf.ts';

export type MediaType = 'image' | 'sticker' | 'video' | 'gif' | 'audio' | 'ptt' | 'document' | 'history';

export const MEDIA_HKDF_INFO: Readonly<Record<MediaType, string>> = {
  image: 'WhatsApp Image Keys',
  sticker: 'WhatsApp Image Keys',
  video: 'WhatsApp Video Keys',
  gif: 'WhatsApp Video Keys',
  audio: 'WhatsApp Audio Keys',
  ptt: 'WhatsApp Audio Keys',
  document: 'WhatsApp Document Keys',
  history: 'WhatsApp History Keys',
};

export const MEDIA_TYPES = Object.keys(MEDIA_HKDF_INFO) as readonly MediaType[];

export function isMediaType(value: unknown): value is MediaType {
  return typeof value === 'string' && Object.hasOwn(MEDIA_HKDF_INFO, value);
}

export const MEDIA_MAC_LENGTH = 10;
export const SIDECAR_CHUNK = 65536;

export interface MediaKeys {
  iv: Uint8Array;
  cipherKey: Uint8Array;
  macKey: Uint8Array;
  refKey: Uint8Array;
}

export function expandMediaKey(mediaKey: Uint8Array, type: MediaType): MediaKeys {
  requireLength('mediaKey', mediaKey, 32);
  if (!isMediaType(type)) throw new CryptoError('BAD_LENGTH', `unknown media type ${String(type)}`);
  const exp = hkdf(mediaKey, new Uint8Array(32), utf8(MEDIA_HKDF_INFO[type]), 112);
  return {
    iv: exp.slice(0, 16),
    cipherKey: exp.slice(16, 48),
    macKey: exp.slice(48, 80),
    refKey: exp.slice(80, 112),
  };
}

/** The 10-byte truncated HMAC-SHA256(macKey, iv ‖ ciphertext) that ends every CDN object. */
export function mediaMac(macKey: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return hmacSha256(macKey, iv, ciphertext).slice(0, MEDIA_MAC_LENGTH);
}

export interface EncryptedMedia {
  /** What the CDN serves: ciphertext ‖ mac10. */
  object: Uint8Array;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
  fileLength: number;
}

export function encryptMedia(plaintext: Uint8Array, mediaKey: Uint8Array, type: MediaType): EncryptedMedia {
  const { iv, cipherKey, macKey } = expandMediaKey(mediaKey, type);
  const ciphertext = aesCbcEncrypt(cipherKey, iv, plaintext);
  const object = concatBytes(ciphertext, mediaMac(macKey, iv, ciphertext));
  return {
    object,
    fileSha256: sha256(plaintext),
    fileEncSha256: sha256(object),
    fileLength: plaintext.length,
  };
}

export interface MediaExpectations {
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
}

/** docs/protocol.md §4.3, in order: object hash, MAC, decrypt, plaintext hash and length. */
export function decryptMedia(
  object: Uint8Array,
  mediaKey: Uint8Array,
  type: MediaType,
  expect: MediaExpectations = {},
): Uint8Array {
  if (object.length <= MEDIA_MAC_LENGTH) {
    throw new CryptoError('MEDIA_DELETED', 'the media object is empty: it was deleted from the server');
  }
  const keys = expandMediaKey(mediaKey, type);
  if (expect.fileEncSha256 && !constantTimeEqual(sha256(object), expect.fileEncSha256)) {
    throw new CryptoError('HASH_MISMATCH', 'SHA-256 of the encrypted object differs from fileEncSha256');
  }
  const ciphertext = object.subarray(0, object.length - MEDIA_MAC_LENGTH);
  const mac = object.subarray(object.length - MEDIA_MAC_LENGTH);
  if (ciphertext.length % 16 !== 0) {
    throw new CryptoError('BAD_LENGTH', 'the media ciphertext is not whole AES blocks (length ≢ 10 mod 16)');
  }
  if (!constantTimeEqual(mediaMac(keys.macKey, keys.iv, ciphertext), mac)) {
    throw new CryptoError('BAD_MAC', 'media MAC does not verify');
  }
  const plaintext = aesCbcDecrypt(keys.cipherKey, keys.iv, ciphertext);
  if (expect.fileSha256 && !constantTimeEqual(sha256(plaintext), expect.fileSha256)) {
    throw new CryptoError('HASH_MISMATCH', 'SHA-256 of the plaintext differs from fileSha256');
  }
  if (expect.fileLength !== undefined && plaintext.length !== expect.fileLength) {
    throw new CryptoError(
      'HASH_MISMATCH',
      `plaintext is ${plaintext.length} bytes, fileLength says ${expect.fileLength}`,
    );
  }
  return plaintext;
}

/**
 * docs/protocol.md §4.5: S = iv ‖ object; for each 64 KiB step i while 65536·i < |S| − 16, the chunk
 * S[65536·i, 65536·(i+1) + 16) is MACed and its first 10 bytes appended. Each chunk starts with its own CBC IV.
 */
export function mediaSidecar(object: Uint8Array, mediaKey: Uint8Array, type: MediaType): Uint8Array {
  const { iv, macKey } = expandMediaKey(mediaKey, type);
  const stream = concatBytes(iv, object);
  const parts: Uint8Array[] = [];
  for (let start = 0; start < stream.length - 16; start += SIDECAR_CHUNK) {
    const chunk = stream.subarray(start, Math.min(stream.length, start + SIDECAR_CHUNK + 16));
    parts.push(hmacSha256(macKey, chunk).subarray(0, MEDIA_MAC_LENGTH));
  }
  return concatBytes(...parts);
}

/** What a downloaded object must match (docs/protocol.md §4.3): each one present is checked. */
export const MEDIA_CHECKS = ['fileSha256', 'fileEncSha256', 'fileLength'] as const;

/**
 * What a media message carries beside its key and type, the one list of them for both protocols: where
 * the object lives, what it must match, what it is. Sessions hand these to the media queue, the queue to
 * its worker.
 */
export const MEDIA_FIELDS = ['url', 'directPath', ...MEDIA_CHECKS, 'mimetype'] as const;

/** The values of MEDIA_FIELDS. */
export interface MediaLocation {
  url?: string;
  directPath?: string;
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
  mimetype?: string;
}

export type MediaField = (typeof MEDIA_FIELDS)[number];

/** The media fields (or the ones in `keys`) that `source` has, copied; absent ones stay absent. */
export function mediaFields<K extends MediaField = MediaField>(
  source: { readonly [P in K]?: MediaLocation[P] },
  keys: readonly K[] = MEDIA_FIELDS as readonly MediaField[] as readonly K[],
): Pick<MediaLocation, K> {
  const picked = {} as Pick<MediaLocation, K>;
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key] as MediaLocation[K];
  return picked;
}
