// The legacy protocol's effects (docs/protocol.md parts 1-3): the socket actor with its receiver and
// sender, and a Session over the legacy machine.
export { ClientProtocol } from './client-protocol.ts';
export { type RequestKind, TagLedger } from './ledger.ts';
export { FrameDropped, Receiver } from './receiver.ts';
export { CLIENT_VERSION, Sender } from './sender.ts';
export { createLegacySession, newClientId } from './session.ts';
export { createSocketActor, type SocketOptions, WHATSAPP_ORIGIN } from './socket.ts';
