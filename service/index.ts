// The session service behind `walink serve`: named sessions, the HTTP API with its live stream and page,
// diagrams as SVG, the Stately bridge, and the redaction everything shown goes through.
export {
  AccessConfigError,
  type AccessConfigErrorCode,
  AccessPolicy,
  isLoopbackHost,
} from './access.ts';
export { ApiTokenError, loadOrCreateApiToken } from './api-token.ts';
export { DEFAULT_SSE_MAX_BUFFERED_BYTES, EventStreamHub, type EventStreamOptions } from './event-stream.ts';
export {
  type HttpService,
  type HttpServiceOptions,
  type ServiceInfo,
  startHttpService,
} from './http-server.ts';
export { MACHINES, machineNamed, machineNames, restingStates } from './machine-registry.ts';
export { DiagramRenderError, renderSvg } from './render-svg.ts';
export {
  type CreateSessionRequest,
  DEFAULT_MAX_SESSIONS,
  type JobView,
  type LoggedEvent,
  MACHINE_OF,
  type PairCodeView,
  type QrView,
  type ServiceUpdate,
  type SessionProtocol,
  SessionService,
  SessionServiceError,
  type SessionServiceOptions,
  type SessionView,
} from './session-service.ts';
export { publicContext, type StatelyBridge, startStatelyBridge } from './stately.ts';
