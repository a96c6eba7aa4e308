export { aesCbcDecrypt, aesCbcEncrypt, type CbcOptions } from './aes-cbc.ts';
export { aesGcmOpen, aesGcmSeal, GCM_IV_LENGTH, GCM_TAG_LENGTH } from './aes-gcm.ts';
export {
  beBytes,
  concatBytes,
  constantTimeEqual,
  fromBase64,
  fromHex,
  randomBytes,
  toBase64,
  toHex,
  utf8,
} from './bytes.ts';
export { challengeAnswer, offlineLogoutToken } from './challenge.ts';
export { CryptoError, type CryptoErrorCode, isCryptoError } from './errors.ts';
export { openFrame, sealFrame } from './frame-crypto.ts';
export { hmacSha256, sha256 } from './hash.ts';
export { hkdf, hkdfExpand, hkdfExtract } from './hkdf.ts';
export {
  decryptMedia,
  type EncryptedMedia,
  encryptMedia,
  expandMediaKey,
  isMediaType,
  MEDIA_CHECKS,
  MEDIA_FIELDS,
  MEDIA_HKDF_INFO,
  MEDIA_MAC_LENGTH,
  MEDIA_TYPES,
  type MediaExpectations,
  type MediaField,
  type MediaKeys,
  type MediaLocation,
  type MediaType,
  mediaFields,
  mediaMac,
  mediaSidecar,
  SIDECAR_CHUNK,
} from './media.ts';
export { buildPairingSecret, deriveSessionKeys, PAIRING_SECRET_LENGTH, type SessionKeys } from './pairing.ts';
export { SEAL_KEY_LENGTH, seal, unseal } from './seal.ts';
export { type X25519KeyPair, x25519KeyPair, x25519PublicKey, x25519SharedSecret } from './x25519.ts';
