// The multi-device companion's effects (docs/protocol-md.md): the transport (WebSocket, Noise XX, the
// certificate chain), the ClientPayload, the stanzas, the pairing procedures, the socket actor and the
// Session over the MD machine.

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
