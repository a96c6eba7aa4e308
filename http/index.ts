// HTTP helpers shared by the emulator and the service: typed errors, JSON bodies and answers, a route
// table. Imports nothing of ours.
export { HttpError } from './errors.ts';
export { readJson, requireObject, sendJson } from './json.ts';
export { dispatch, otherMethods, type Route, type RouteHandler, type RouteRequest, route } from './router.ts';
