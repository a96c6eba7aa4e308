// The multi-device companion's effects (docs/protocol-md.md): the transport (WebSocket, Noise XX, the
// certificate chain), the ClientPayload, the stanzas, the pairing procedures, the socket actor and the
// Session over the MD machine; md-store's credentials, their stored form, the Signal and app-state key
// stores and decryption (md-credential*.ts, signal-store.ts, decrypt*.ts).
export {
  createMdDecryptor,
  decryptMdMessage,
  type MdDecrypted,
  type MdDecryptStore,
  type MdEnc,
  type MdEnvelope,
  mdSenderJid,
  mdSignalAddress,
  parseMdEnvelope,
  senderKeyName,
} from './decrypt.ts';
export {
  MD_CREDENTIAL_CODEC,
  MD_CREDENTIAL_FORMAT_VERSION,
  parseMdRecord,
  serializeMdRecord,
} from './md-credential-codec.ts';
export {
  generateMdCredentials,
  generatePreKeys,
  MAX_PRE_KEY_ID,
  MAX_REGISTRATION_ID,
  type MdAppStateKey,
  type MdCredentialRecord,
  type MdCredentials,
  type MdSignalState,
  newMdCredentialRecord,
  SIGNED_PRE_KEY_ID,
} from './md-credentials.ts';
export {
  asMachineContent,
  type MdDecryptedContent,
  type MdHistoryDownload,
  type MdUndecryptableReason,
  mdMessageContent,
} from './message-content.ts';
export {
  type FinishedPairCode,
  finishPairCode,
  formatPairCode,
  normalizePhone,
  PairingError,
  type PairingErrorCode,
  type PairSuccessInput,
  type PairVerdict,
  type PreparedPairCode,
  type PreparePairCodeOptions,
  type PrimaryHelloInput,
  preparePairCode,
  verifyPairSuccess,
} from './pairing.ts';
export {
  type IqKind,
  isStanzaError,
  type MessageEnc,
  type MessageEnvelope,
  type ParsedStanza,
  parseStanza,
  StanzaError,
  type StanzaErrorCode,
} from './parse.ts';
export {
  DEFAULT_DEVICE_OS,
  loginPayload,
  MD_APP_VERSION,
  type PayloadOptions,
  type RegistrationKeys,
  registrationPayload,
} from './payload.ts';
export {
  isMdSendError,
  MdDeviceCache,
  type MdSendContext,
  MdSendError,
  type MdSendResult,
  type MdSendStore,
  recipientUser,
  sendMdText,
} from './send.ts';
export { createMdSession, newMdMessageId, translateMdEvent } from './session.ts';
export type { CreateMdSessionOptions, MdDecryptorFactory } from './session-options.ts';
export { AppStateKeyStore, MdDeviceStore, type MdDeviceStoreOptions, MdSignalStore } from './signal-store.ts';
export { createMdSocketActor, type DecryptedMessage, type MdSocketOptions } from './socket.ts';
export * as stanzas from './stanzas.ts';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_PAYLOAD,
  isMdTransportError,
  MD_ORIGIN,
  type MdTransport,
  MdTransportError,
  type MdTransportErrorCode,
  type MdTransportEvent,
  type MdTransportOptions,
  openMdTransport,
} from './transport.ts';
