// A route table: the first route whose method and path match handles the request; when none does, the
// answer is 404. A server made of several parts (the emulator's legacy and multi-device phone APIs)
// concatenates their tables.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.ts';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path pattern's capture groups (undefined for a group that took no part in the match). */
  params: (string | undefined)[];
}

export type RouteHandler = (request: RouteRequest) => Promise<void> | void;

export interface Route {
  /** An HTTP method, or '*' for any. */
  method: string;
  path: RegExp;
  handle: RouteHandler;
}

export function route(method: string, path: RegExp, handle: RouteHandler): Route {
  return { method, path, handle };
}

/** Any other method on `path` is answered 405 with the ones it takes ("use GET or PUT"). */
export function otherMethods(path: RegExp, allowed: readonly string[]): Route {
  const last = allowed.at(-1);
  const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${last}` : last;
  return route('*', path, () => {
    throw new HttpError(405, `use ${list}`);
  });
}

/** Runs the first matching route; throws HttpError 404 when none matches. */
export async function dispatch(
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const method = req.method ?? 'GET';
  for (const candidate of routes) {
    if (candidate.method !== '*' && candidate.method !== method) continue;
    const match = candidate.path.exec(url.pathname);
    if (match) return candidate.handle({ req, res, url, params: match.slice(1) });
  }
  throw new HttpError(404, `no route for ${method} ${url.pathname}`);
}
