export { aesCbcDecrypt, aesCbcEncrypt, type CbcOptions } from './aes-cbc.ts';
// ---- multi-device (docs/protocol-md.md) ----
export { aesGcmOpen, aesGcmSeal, GCM_IV_LENGTH, GCM_TAG_LENGTH } from './aes-gcm.ts';
export {
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
  buildConnectionIntro,
  type ConnectionIntro,
  connectionHeader,
  HEADER_LENGTH,
  MAX_ROUTING_INFO_LENGTH,
  parseConnectionIntro,
  WA_MAGIC,
} from './intro.ts';
export {
  decryptMedia,
  type EncryptedMedia,
  encryptMedia,
  expandMediaKey,
  isMediaType,
  MEDIA_HKDF_INFO,
  MEDIA_MAC_LENGTH,
  MEDIA_TYPES,
  type MediaExpectations,
  type MediaKeys,
  type MediaType,
  mediaMac,
  mediaSidecar,
  SIDECAR_CHUNK,
} from './media.ts';
export {
  type ClientFinishFields,
  NOISE_XX_PROTOCOL_NAME,
  NoiseInitiator,
  type NoiseKeyPair,
  NoiseResponder,
  type NoiseRoleOptions,
  NoiseSymmetricState,
  NoiseTransport,
  noiseIv,
  type ServerHelloFields,
} from './noise.ts';
export {
  ADV_SECRET_INFO,
  type CompanionKeyBundleInput,
  checkPairCode,
  companionKeyBundle,
  deriveAdvSecret,
  derivePairCodeKey,
  KEY_BUNDLE_INFO,
  type KeyBundleContents,
  type KeyBundleRandomness,
  keyBundleKey,
  normalizePairCode,
  openKeyBundle,
  PAIR_CODE_ALPHABET,
  PAIR_CODE_BYTES,
  PAIR_CODE_LENGTH,
  PAIR_CODE_PBKDF2_ITERATIONS,
  type PrimaryKeyBundleInput,
  pairCodeFromBytes,
  pairCodeToBytes,
  primaryOpenKeyBundle,
  randomPairCode,
  sealKeyBundle,
  unwrapPairingEphemeral,
  WRAPPED_EPHEMERAL_LENGTH,
  WRAPPED_KEY_BUNDLE_LENGTH,
  type WrapRandomness,
  wrapPairingEphemeral,
} from './pair-code.ts';
export { buildPairingSecret, deriveSessionKeys, PAIRING_SECRET_LENGTH, type SessionKeys } from './pairing.ts';
export { SEAL_KEY_LENGTH, seal, unseal } from './seal.ts';
export {
  djbPublicKey,
  MemorySignalKeyStore,
  padMessage,
  type SignalAddress,
  type SignalCiphertext,
  type SignalKeyStore,
  type SignalMessageType,
  type SignalPreKey,
  type SignalPreKeyBundle,
  type SignalSignedPreKey,
  signalDecrypt,
  signalEncrypt,
  signalStartSession,
  unpadMessage,
} from './signal.ts';
export { type X25519KeyPair, x25519KeyPair, x25519PublicKey, x25519SharedSecret } from './x25519.ts';
export { XEDDSA_SIGNATURE_LENGTH, xeddsaSign, xeddsaVerify } from './xeddsa.ts';
