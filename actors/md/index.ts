// The multi-device companion's effects (docs/protocol-md.md): the transport (WebSocket, Noise XX, the
// certificate chain), the ClientPayload, the stanzas, the pairing procedures, the socket actor and the
// Session over the MD machine.
export {
  DEFAULT_DEVICE_OS,
  loginPayload,
  MD_APP_VERSION,
  type PayloadOptions,
  type RegistrationKeys,
  registrationPayload,
} from './payload.ts';
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
