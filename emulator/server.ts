// One HTTP server carrying the emulator: WebSocket endpoints by path (/ws: the legacy protocol, /ws/chat:
// multi-device), the phones' HTTP APIs (/phones/…, /md/…), the media CDN, fault injection and /healthz. Both
// are tables: each protocol adds its socket path and its phone routes, on the same port and state file.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import pino, { type Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  dispatch,
  HttpError,
  otherMethods,
  type Route,
  type RouteRequest,
  readJson,
  requireObject,
  route,
  sendJson,
} from '../http/index.ts';
import { FaultError, type FaultRule, parseFaultRule } from './legacy/faults.ts';
import { Hub } from './legacy/hub.ts';
import { type LegacyOptions, legacyOptions } from './legacy/options.ts';
import { legacyPhoneRoutes } from './legacy/phone-routes.ts';
import { World } from './legacy/world.ts';
import { createMdServer, MD_WS_PATH, type MdOptions, type MdServer } from './md/index.ts';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits, MediaStore } from './media-store.ts';

export interface EmulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How long a QR ref lives (default 20000 ms). */
  refTtlMs?: number;
  /** Largest WebSocket message accepted (default 1 MiB); larger ones close the socket. */
  maxPayload?: number;
  /** Largest HTTP body accepted by the phone API (default 32 MiB: media uploads). */
  maxBodyBytes?: number;
  allowedOrigins?: string[];
  /** Keeps phones, linked browsers and tokens across restarts (written atomically, mode 0600). */
  stateFile?: string;
  logger?: Logger;
  now?: () => number;
  /** Multi-device timings and limits (emulator/md/options.ts; docs/emulator.md). */
  md?: MdOptions;
  /** The legacy server's latency per request kind, idle timeout, output limits, phones kept (legacy/options.ts). */
  legacy?: Partial<LegacyOptions>;
  /** What the CDN keeps (1000 objects, 256 MiB); the oldest go first. */
  media?: Partial<MediaLimits>;
  /** A request whose headers are not complete by then is closed (10000 ms). */
  headersTimeoutMs?: number;
  /** A request not received whole by then is closed (60000 ms: media uploads). */
  requestTimeoutMs?: number;
}

export const DEFAULT_EMULATOR_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_EMULATOR_REQUEST_TIMEOUT_MS = 60_000;

export interface Emulator {
  /** http://host:port */
  url: string;
  /** ws://host:port/ws */
  wsUrl: string;
  /** ws://host:port/ws/chat: the multi-device endpoint. */
  mdWsUrl: string;
  /** The multi-device server and phone; `md.rootPublicKeyHex` is its certificate root. */
  md: MdServer;
  hub: Hub;
  close(): Promise<void>;
}

const FAULTS = /^\/faults$/;
const MD_ROUTES = /^\/md\//;
const CDN = /^\/(?:d\/f\/([0-9a-f]{32})\.enc|mms\/[a-z]+\/([0-9a-f]{32}))$/;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const log = options.logger ?? pino({ level: 'silent' });
  const legacy = legacyOptions(options.legacy);
  const world = new World(options.stateFile, legacy);
  const media = new MediaStore({ ...DEFAULT_MEDIA_LIMITS, ...options.media });
  const hub = new Hub(world, options.refTtlMs ?? 20_000, options.now ?? Date.now, log, legacy, media);
  const allowedOrigins = new Set(options.allowedOrigins ?? ['https://web.whatsapp.com']);
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
  let baseUrl = '';
  // The multi-device server shares the port, the CDN and the state file (its own section).
  const md = createMdServer({
    persistence: world.section('md'),
    media: hub.media,
    log,
    baseUrl: () => baseUrl,
    ...(options.now ? { now: options.now } : {}),
    ...(options.md ? { options: options.md } : {}),
    maxBodyBytes,
  });

  type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** WebSocket endpoints by path. */
  const sockets: ReadonlyMap<string, Upgrade> = new Map<string, Upgrade>([
    [
      '/ws',
      (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws: WebSocket) => void hub.attach(ws)),
    ],
    [MD_WS_PATH, (req, socket, head) => md.handleUpgrade(req, socket, head)],
  ]);
  const routes: Route[] = [
    route('GET', /^\/healthz$/, ({ res }) => sendJson(res, 200, { ok: true, ...hub.health() })),
    ...faultRoutes(hub),
    route('GET', CDN, ({ res, params }) => cdn(hub, params[0] ?? params[1]!, res)),
    ...legacyPhoneRoutes(hub, { maxBodyBytes }),
    route('*', MD_ROUTES, async ({ req, res, url }) => {
      if (!(await md.route(req.method ?? 'GET', url, req, res)))
        throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
    }),
  ];

  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_EMULATOR_HEADERS_TIMEOUT_MS;
  const server: Server = createServer(
    {
      // A half-sent request is closed after these, not kept for minutes.
      headersTimeout,
      requestTimeout: Math.max(
        headersTimeout,
        options.requestTimeoutMs ?? DEFAULT_EMULATOR_REQUEST_TIMEOUT_MS,
      ),
      // Node looks for overdue requests this often (30 s by default).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      dispatch(routes, req, res).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        if (status === 500) log.error({ err: (error as Error).message }, 'phone API failure');
        if (!res.headersSent) sendJson(res, status, { error: (error as Error).message });
        else res.destroy();
      });
    },
  );

  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const accept = sockets.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!accept) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!allowedOrigins.has(req.headers.origin ?? '')) {
      log.info({ origin: req.headers.origin }, 'refused a WebSocket without an allowed Origin');
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    accept(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  hub.serveAt(url);
  baseUrl = url;
  log.info({ url }, 'emulator listening');

  return {
    url,
    wsUrl: `ws://${host}:${address.port}/ws`,
    mdWsUrl: `ws://${host}:${address.port}${MD_WS_PATH}`,
    md,
    hub,
    async close() {
      await md.close();
      hub.closeAll('emulator shutting down');
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function faultRoutes(hub: Hub): Route[] {
  return [
    route('GET', FAULTS, ({ res }) => sendJson(res, 200, { rules: hub.faults.list() })),
    route('DELETE', FAULTS, ({ res }) => {
      hub.faults.clear();
      sendJson(res, 200, { rules: [] });
    }),
    route('POST', FAULTS, async ({ req, res }: RouteRequest) => {
      const body = requireObject(await readJson(req, 64 * 1024));
      const input = Array.isArray(body.rules) ? body.rules : [body];
      let rules: FaultRule[];
      try {
        rules = input.map(parseFaultRule);
      } catch (error) {
        if (error instanceof FaultError) throw new HttpError(400, error.message);
        throw error;
      }
      for (const rule of rules) {
        // "now" is not a rule for later: every open socket is dropped at once.
        if (rule.kind === 'closeSocket' && 'at' in rule && rule.at === 'now') hub.dropAll();
        else if (rule.kind === 'sendGarbage') hub.sendGarbage();
        else hub.faults.add(rule);
      }
      sendJson(res, 200, { rules: hub.faults.list() });
    }),
    otherMethods(FAULTS, ['GET', 'POST', 'DELETE']),
  ];
}

/** The media CDN: `ciphertext ‖ mac10`, or what a `cdn` fault makes of it. */
function cdn(hub: Hub, token: string, res: ServerResponse): void {
  const fault = hub.faults.take('cdn');
  const media = hub.media.get(token);
  if (fault?.status || !media) {
    const status = fault?.status ?? 404;
    res
      .writeHead(status, { 'content-type': 'text/plain' })
      .end(status === 500 ? 'server error' : 'media not found');
    return;
  }
  let body = Buffer.from(media.object);
  if (fault?.body === 'empty') body = Buffer.alloc(0);
  if (fault?.body === 'truncate') body = body.subarray(0, Math.floor(body.length / 2));
  if (fault?.body === 'corrupt') {
    body = Buffer.from(body);
    body[Math.floor(body.length / 3)]! ^= 0x5a;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
}
