// `walink serve`'s HTTP side: a JSON API over the session service (legacy and multi-device sessions, MD
// pair codes, the embedded emulator's phone scanning or typing a code), the page and its assets (all
// local), QR codes as SVG images, machine diagrams, and Server-Sent Events for live updates. Every request is
// checked by an AccessPolicy first (Host, Origin, token, JSON bodies): see service/access.ts.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { DEFAULT_PHONE, scanAsPhone } from '../emulator/index.ts';
import { HttpError, readJson, requireObject, sendJson } from '../http/index.ts';
import { describeMachine, diagramEdges, edgeId, toDot } from '../machines/index.ts';
import { AccessPolicy, urlHost } from './access.ts';
import { EventStreamHub, type EventStreamOptions } from './event-stream.ts';
import { machineNamed, restingStates } from './machine-registry.ts';
import { renderSvg } from './render-svg.ts';
import { type SessionService, SessionServiceError } from './session-service.ts';

export interface ServiceInfo {
  /** The WebSocket server the legacy sessions talk to. */
  server: string;
  /** The multi-device server (`/ws/chat`) MD sessions talk to, or null when the service makes none. */
  mdServer?: string | null;
  /** The embedded emulator's HTTP address (its phone API), when there is one. */
  emulator: string | null;
  /** 'in-process' or 'redis'. */
  queue: string;
}

export interface HttpServiceOptions {
  service: SessionService;
  info: ServiceInfo;
  /** Queue counts by state (BullMQ), for the dashboard; absent for the in-process queue. */
  queueCounts?: () => Promise<Record<string, number>>;
  host?: string;
  port?: number;
  /** The API token (loadOrCreateApiToken); null serves without one, on a loopback host only. */
  token: string | null;
  /** Host header values accepted besides the addresses it listens on: `name` (any port) or `name:port`. */
  allowedHosts?: readonly string[];
  /** Backpressure for the live stream's clients. */
  events?: EventStreamOptions;
  /** A request's headers (and an idle connection's first bytes) must arrive within this (default 10 s). */
  headersTimeoutMs?: number;
  /** A whole request must arrive within this (default 30 s; bodies here are a few bytes). */
  requestTimeoutMs?: number;
}

export interface HttpService {
  url: string;
  server: Server;
  /** The live stream's clients, and how many were dropped for not reading. */
  events: Pick<EventStreamHub, 'size' | 'dropped'>;
  close(): Promise<void>;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const STATIC_FILES = new Set(['index.html', 'app.js', 'app.css']);
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
// Every answer: no sniffing a JSON answer into a script, no framing by another page (clickjacking the
// buttons), nothing loaded from anywhere else.
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * One action of the emulator's multi-device phone (`POST /md/phones/<n>/<action>`, docs/emulator.md). It
 * answers once the pairing is done or refused (its own deadlines are 20 s); a refusal is a 502 with its reason.
 */
async function askMdPhone(
  emulatorUrl: string,
  phone: string,
  action: 'scan' | 'link-code',
  body: Record<string, string>,
): Promise<{ jid?: string }> {
  let response: Response;
  try {
    response = await fetch(`${emulatorUrl}/md/phones/${phone}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new HttpError(502, `the emulator's phone is unreachable: ${(error as Error).message}`);
  }
  const text = await response.text();
  let parsed: { jid?: string; error?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = { error: text.slice(0, 200) };
  }
  if (!response.ok) {
    const what = action === 'scan' ? 'scan' : 'type the code';
    throw new HttpError(502, `the phone could not ${what}: ${response.status} ${parsed.error ?? ''}`.trim());
  }
  return typeof parsed.jid === 'string' ? { jid: parsed.jid } : {};
}

function pathParts(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, 'the path has a malformed percent-encoding');
  }
}

export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { service } = options;
  const diagrams = new Map<string, Promise<string>>();
  const stream = new EventStreamHub(options.events);
  // Made once the port is bound: the Host check and the cookie's name need it.
  let access: AccessPolicy | undefined;

  const machineOr404 = (name: string) => {
    const machine = machineNamed(name);
    if (!machine) throw new HttpError(404, `no machine named ${name}`);
    return machine;
  };

  const diagramSvg = (name: string) => {
    const machine = machineOr404(name);
    let svg = diagrams.get(name);
    if (!svg) {
      svg = renderSvg(toDot(describeMachine(machine), { sameRank: restingStates(machine) }));
      diagrams.set(name, svg);
    }
    return svg;
  };

  const sendText = (res: ServerResponse, type: string, body: string, cache = 'no-store') => {
    res.writeHead(200, { 'content-type': type, 'cache-control': cache });
    res.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    if (!access) throw new HttpError(503, 'starting');
    access.checkHost(req);
    for (const [header, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(header, value);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = pathParts(url.pathname);
    const method = req.method ?? 'GET';

    // The page and its assets hold no data: anyone who may reach the host gets them, the API needs the token.
    if (method === 'GET' && (parts.length === 0 || (parts[0] === 'static' && parts.length === 2))) {
      const file = parts.length === 0 ? 'index.html' : parts[1]!;
      if (!STATIC_FILES.has(file)) throw new HttpError(404, 'no such file');
      const body = await readFile(join(STATIC_DIR, file));
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)]!, 'cache-control': 'no-cache' });
      res.end(body);
      return;
    }
    if (parts[0] !== 'api') throw new HttpError(404, 'not found');
    access.checkSite(req);
    access.checkBody(req);
    const [, resource, name, action] = parts;
    // The page trades the token it was opened with (`/#token=…`) for the cookie.
    if (resource === 'login' && !name && method === 'POST') return signIn(req, res, access);
    access.checkToken(req);

    if (resource === 'info' && method === 'GET') return sendJson(res, 200, options.info);
    if (resource === 'events' && method === 'GET') return openEventStream(req, res);
    if (resource === 'machines' && name && method === 'GET') {
      if (action === 'diagram.svg') return sendText(res, 'image/svg+xml', await diagramSvg(name));
      if (action === 'structure') {
        const structure = describeMachine(machineOr404(name));
        // Which transitions each drawn edge stands for: the page lights the edge a transition took.
        const edges = diagramEdges(structure).map((edge) => ({
          id: edgeId(edge),
          source: edge.source,
          target: edge.target,
          transitionIds: edge.transitionIds,
        }));
        return sendJson(res, 200, { ...structure, edges });
      }
    }
    if (resource === 'jobs' && method === 'GET') {
      const counts = options.queueCounts ? await options.queueCounts().catch(() => null) : null;
      return sendJson(res, 200, { jobs: service.jobList(), counts });
    }
    if (resource === 'sessions') {
      if (!name) {
        if (method === 'GET') return sendJson(res, 200, { sessions: service.list() });
        if (method === 'POST') {
          const body = requireObject(await readJson(req, 4_096));
          if (body.name !== undefined && typeof body.name !== 'string')
            throw new HttpError(400, 'name must be a string');
          if (body.protocol !== undefined && body.protocol !== 'legacy' && body.protocol !== 'md')
            throw new HttpError(400, 'protocol is "legacy" or "md"');
          return sendJson(
            res,
            201,
            await service.create({
              ...(body.name !== undefined ? { name: body.name as string } : {}),
              ...(body.protocol !== undefined ? { protocol: body.protocol as 'legacy' | 'md' } : {}),
            }),
          );
        }
      } else if (!action) {
        if (method === 'GET') return sendJson(res, 200, sessionOr404(name));
        if (method === 'DELETE') {
          await service.remove(name);
          return sendJson(res, 200, { removed: name });
        }
      } else if (action === 'events' && method === 'GET') {
        sessionOr404(name);
        return sendJson(res, 200, { events: service.events(name) });
      } else if (action === 'qr.svg' && method === 'GET') {
        const qr = sessionOr404(name).qr;
        if (!qr) throw new HttpError(404, `session ${name} is not showing a QR code`);
        // Asked for by its ref, the image never changes: the page's re-renders hit the browser's cache.
        const wanted = url.searchParams.get('ref');
        if (wanted !== null && wanted !== qr.ref)
          throw new HttpError(404, `ref ${wanted} is no longer shown`);
        const svg = await QRCode.toString(qr.text, { type: 'svg', margin: 2 });
        return sendText(
          res,
          'image/svg+xml',
          svg,
          wanted === null ? 'no-store' : 'private, max-age=600, immutable',
        );
      } else if (action === 'scan' && method === 'POST') {
        return sendJson(res, 200, await scanWithEmulatorPhone(name, await readJson(req, 1_024)));
      } else if (action === 'pair-code' && method === 'POST') {
        const { phone } = requireObject(await readJson(req, 1_024));
        if (typeof phone !== 'string') throw new HttpError(400, 'phone must be a string');
        return sendJson(res, 200, await service.requestPairingCode(name, phone));
      } else if (action === 'type-code' && method === 'POST') {
        return sendJson(res, 200, await typeCodeOnEmulatorPhone(name, await readJson(req, 1_024)));
      } else if (action === 'logout' && method === 'POST') {
        return sendJson(res, 200, service.logout(name));
      } else if (action === 'restart' && method === 'POST') {
        return sendJson(res, 200, service.restart(name));
      }
    }
    throw new HttpError(
      method === 'GET' || method === 'POST' ? 404 : 405,
      `no route ${method} ${url.pathname}`,
    );
  };

  const signIn = async (req: IncomingMessage, res: ServerResponse, policy: AccessPolicy) => {
    const { token } = requireObject(await readJson(req, 1_024));
    if (!policy.authRequired) return sendJson(res, 200, { signedIn: true });
    if (typeof token !== 'string' || !policy.matches(token)) throw new HttpError(401, 'wrong token');
    res.setHeader('set-cookie', policy.cookie());
    return sendJson(res, 200, { signedIn: true });
  };

  // The embedded emulator's phone scans the session's current QR code (a demo convenience): the legacy
  // phone API for a legacy session, the multi-device one (/md/phones/<n>/scan, docs/emulator.md) for MD.
  const scanWithEmulatorPhone = async (name: string, body: unknown) => {
    const phone = (requireObject(body).phone as string | undefined) ?? DEFAULT_PHONE;
    if (typeof phone !== 'string' || !/^\d{5,20}$/.test(phone))
      throw new HttpError(400, 'phone must be 5 to 20 digits');
    if (!options.info.emulator) throw new HttpError(409, 'there is no embedded emulator to scan with');
    const view = sessionOr404(name);
    const qr = view.qr;
    if (!qr) throw new HttpError(409, `session ${name} is not showing a QR code`);
    if (view.protocol === 'md') {
      const answer = await askMdPhone(options.info.emulator, phone, 'scan', { qr: qr.text });
      return { scanned: name, phone, wid: answer.jid ?? null };
    }
    const answer = await scanAsPhone(options.info.emulator, phone, qr.text);
    if (!answer.ok)
      throw new HttpError(502, `the phone could not scan: ${answer.status} ${answer.error ?? ''}`);
    return { scanned: name, phone, wid: answer.wid };
  };

  // The embedded emulator's phone types the session's pair code (docs/emulator.md, /md/phones/<n>/link-code):
  // the phone of the number the code was asked for, as a user would.
  const typeCodeOnEmulatorPhone = async (name: string, body: unknown) => {
    requireObject(body);
    if (!options.info.emulator) throw new HttpError(409, 'there is no embedded emulator to type the code');
    const view = sessionOr404(name);
    if (view.protocol !== 'md') throw new HttpError(409, `${name} is a legacy session: it has no pair code`);
    const code = view.pairCode;
    if (!code) throw new HttpError(409, `session ${name} is not showing a pair code`);
    const answer = await askMdPhone(options.info.emulator, code.phone, 'link-code', { code: code.code });
    return { typed: name, phone: code.phone, wid: answer.jid ?? null };
  };

  const sessionOr404 = (name: string) => {
    const view = service.view(name);
    if (!view) throw new HttpError(404, `no session named ${name}`);
    return view;
  };

  // The page first gets the whole picture, then every change.
  const openEventStream = (req: IncomingMessage, res: ServerResponse) =>
    stream.open(
      req,
      res,
      `event: hello\ndata: ${JSON.stringify({ sessions: service.list(), jobs: service.jobList() })}\n\n`,
    );

  const subscription = service.updates$.subscribe((update) => {
    if (stream.size === 0) return;
    stream.broadcast(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
  });

  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      // Node looks for overdue requests this often (30 s by default, which made 10 s into 40).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      route(req, res).catch((error: unknown) => {
        const status =
          error instanceof HttpError || error instanceof SessionServiceError ? error.status : 500;
        if (res.headersSent) res.end();
        else sendJson(res, status, { error: (error as Error).message });
      });
    },
  );
  const host = options.host ?? '127.0.0.1';
  const policy = (port: number) =>
    new AccessPolicy({ token: options.token, listenHost: host, port, allowedHosts: options.allowedHosts });
  policy(options.port ?? 0); // a wrong --no-auth or --allowed-host fails before anything listens
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  access = policy(address.port);
  return {
    url: `http://${urlHost(address.address)}:${address.port}`,
    server,
    events: stream,
    async close() {
      subscription.unsubscribe();
      stream.closeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
