// The session service behind `walink serve`: named sessions, the HTTP API with its live stream and page,
// diagrams as SVG, the Stately bridge, and the redaction everything shown goes through.
export {
  type HttpService,
  type HttpServiceOptions,
  type ServiceInfo,
  startHttpService,
} from './http-server.ts';
export { jsonSafe } from './json-safe.ts';
export { MACHINES, machineNames } from './machine-registry.ts';
export { DiagramRenderError, renderSvg } from './render-svg.ts';
export {
  type JobView,
  type LoggedEvent,
  type QrView,
  type ServiceUpdate,
  SessionService,
  SessionServiceError,
  type SessionServiceOptions,
  type SessionView,
} from './session-service.ts';
export { publicContext, type StatelyBridge, startStatelyBridge } from './stately.ts';
