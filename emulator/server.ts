// One HTTP server carrying the WebSocket endpoint /ws, the phone's HTTP API, the media CDN,
// fault injection and /healthz; and the multi-device side (emulator/md): /ws/chat and /md/….
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { toProtoJid, type WebMessageInfo } from '../codec/index.ts';
import { randomBytes, toHex } from '../crypto/index.ts';
import { HttpError, readJson, requireObject, sendJson } from './http-util.ts';
import { Connection } from './legacy/connection.ts';
import { FaultError, type FaultRule, parseFaultRule } from './legacy/faults.ts';
import { Hub } from './legacy/hub.ts';
import { World } from './legacy/world.ts';
import { createMdServer, MD_WS_PATH, type MdOptions, type MdServer } from './md/index.ts';
import { PHONE_MEDIA_TYPES, type PhoneMediaType } from './media-store.ts';

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
}

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

const PHONE_ROUTE = /^\/phones\/(\d{5,20})(?:\/(scan|messages|unlink|sent|receipts))?$/;
const CDN_ROUTE = /^\/(?:d\/f\/([0-9a-f]{32})\.enc|mms\/[a-z]+\/([0-9a-f]{32}))$/;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const log = options.logger ?? pino({ level: 'silent' });
  const world = new World(options.stateFile);
  const hub = new Hub(world, options.refTtlMs ?? 20_000, options.now ?? Date.now, log);
  const allowedOrigins = new Set(options.allowedOrigins ?? ['https://web.whatsapp.com']);
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
  let nextConnectionId = 1;
  // ---- md: the multi-device server shares the port, the CDN and the state file ----
  const md = createMdServer({
    persistence: world.section('md'),
    media: hub.media,
    log,
    baseUrl: () => hub.baseUrl,
    ...(options.now ? { now: options.now } : {}),
    ...(options.md ? { options: options.md } : {}),
    maxBodyBytes: maxBody,
  });

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) log.error({ err: (error as Error).message }, 'phone API failure');
      if (!res.headersSent) sendJson(res, status, { error: (error as Error).message });
      else res.destroy();
    });
  });

  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/ws' && path !== MD_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!allowedOrigins.has(req.headers.origin ?? '')) {
      log.info({ origin: req.headers.origin }, 'refused a WebSocket without an allowed Origin');
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    if (path === MD_WS_PATH) return md.handleUpgrade(req, socket, head); // md
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, hub, nextConnectionId++);
      hub.connections.add(connection);
      hub.stats.connections += 1;
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz' && method === 'GET') {
      sendJson(res, 200, {
        ok: true,
        sockets: hub.connections.size,
        browsers: world.browsers.size,
        stats: hub.stats,
      });
      return;
    }
    if (url.pathname === '/faults') return faultsRoute(method, req, res);
    if (url.pathname.startsWith('/md/') && (await md.route(method, url, req, res))) return; // md
    const cdn = CDN_ROUTE.exec(url.pathname);
    if (cdn && method === 'GET') return cdnRoute(cdn[1] ?? cdn[2]!, res);
    const phoneMatch = PHONE_ROUTE.exec(url.pathname);
    if (phoneMatch) return phoneRoute(phoneMatch[1]!, phoneMatch[2], method, req, res);
    throw new HttpError(404, `no route for ${method} ${url.pathname}`);
  }

  async function faultsRoute(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'GET') return sendJson(res, 200, { rules: hub.faults.list() });
    if (method === 'DELETE') {
      hub.faults.clear();
      return sendJson(res, 200, { rules: [] });
    }
    if (method !== 'POST') throw new HttpError(405, 'use GET, POST or DELETE');
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
  }

  function cdnRoute(token: string, res: ServerResponse): void {
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
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  }

  async function phoneRoute(
    number: string,
    action: string | undefined,
    method: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    if (action === undefined) {
      if (method === 'GET') return sendJson(res, 200, describePhone(number));
      if (method !== 'PUT') throw new HttpError(405, 'use GET or PUT');
      const body = requireObject(await readJson(req, 64 * 1024));
      const phone = world.phone(number);
      for (const key of ['multiDevice', 'tosBlocked', 'asleep'] as const) {
        if (body[key] === undefined) continue;
        if (typeof body[key] !== 'boolean') throw new HttpError(400, `${key} must be true or false`);
      }
      for (const key of ['multiDevice', 'tosBlocked'] as const) {
        if (body[key] !== undefined) phone[key] = body[key] as boolean;
      }
      // docs/protocol.md §2.6: linked browsers hear ["Stream","asleep"] when the phone sleeps, "update" on waking.
      if (body.asleep !== undefined) hub.phoneSleeps(phone, body.asleep as boolean);
      if (body.pushname !== undefined) {
        if (typeof body.pushname !== 'string' || body.pushname.length > 100)
          throw new HttpError(400, 'pushname must be a short string');
        phone.pushname = body.pushname;
      }
      world.save();
      return sendJson(res, 200, describePhone(number));
    }
    if (action === 'sent') {
      if (method !== 'GET') throw new HttpError(405, 'use GET');
      return sendJson(res, 200, { sent: world.phone(number).sent });
    }
    if (method !== 'POST') throw new HttpError(405, 'use POST');
    if (action === 'unlink') return sendJson(res, 200, { unlinked: hub.unlink(world.phone(number)) });
    const body = requireObject(await readJson(req, maxBody));
    if (action === 'receipts') {
      if (typeof body.id !== 'string' || body.id.length === 0 || body.id.length > 100)
        throw new HttpError(400, 'id must be the id of a message a browser sent');
      const ack =
        body.type === undefined
          ? 3
          : ({ delivered: 2, read: 3 } as Record<string, number>)[String(body.type)];
      if (!ack) throw new HttpError(400, 'type is "delivered" or "read"');
      return sendJson(res, 200, { notified: hub.receipt(world.phone(number), body.id, ack) });
    }
    if (action === 'scan') return sendJson(res, 200, await hub.scan(number, body.qr));
    return sendJson(res, 200, phoneMessage(number, body));
  }

  function describePhone(number: string) {
    const { sent: _sent, ...phone } = world.phone(number);
    return {
      ...phone,
      linkedBrowsers: world
        .browsersOf(number)
        .map((b) => ({ clientId: b.clientId, description: b.description })),
    };
  }

  function phoneMessage(number: string, body: Record<string, unknown>): { id: string; delivered: number } {
    const phone = world.phone(number);
    const from = body.from;
    if (typeof from !== 'string' || !/^[^@\s]+@(c\.us|g\.us|s\.whatsapp\.net)$/.test(from)) {
      throw new HttpError(400, '"from" must be a JID like 4915112345678@c.us');
    }
    const id = `3A${toHex(randomBytes(9)).toUpperCase()}`;
    const info: WebMessageInfo = {
      key: { remoteJid: toProtoJid(from), fromMe: false, id },
      messageTimestamp: Math.floor(hub.now() / 1000),
      status: 3,
      pushName: 'Emulated sender',
    };
    if (typeof body.text === 'string' && body.media === undefined) {
      info.message = { conversation: body.text };
    } else if (body.media !== undefined && body.text === undefined) {
      const media = requireObject(body.media, 'media');
      if (!PHONE_MEDIA_TYPES.includes(media.type as PhoneMediaType)) {
        throw new HttpError(400, `media.type is one of ${PHONE_MEDIA_TYPES.join(', ')}`);
      }
      if (
        typeof media.base64 !== 'string' ||
        !/^[A-Za-z0-9+/]*={0,2}$/.test(media.base64) ||
        media.base64.length === 0
      ) {
        throw new HttpError(400, 'media.base64 must be non-empty base64');
      }
      const mimetype = typeof media.mimetype === 'string' ? media.mimetype : 'application/octet-stream';
      const plaintext = new Uint8Array(Buffer.from(media.base64, 'base64'));
      info.message = hub.media.upload(
        id,
        media.type as PhoneMediaType,
        plaintext,
        mimetype,
        hub.baseUrl,
        hub.now(),
      ).message;
    } else {
      throw new HttpError(400, 'send either "text" or "media"');
    }
    return { id, delivered: hub.relayToBrowsers(phone, info) };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  hub.baseUrl = url;
  log.info({ url }, 'emulator listening');

  return {
    url,
    wsUrl: `ws://${host}:${address.port}/ws`,
    mdWsUrl: `ws://${host}:${address.port}${MD_WS_PATH}`,
    md,
    hub,
    async close() {
      await md.close();
      for (const connection of hub.connections) connection.close('emulator shutting down', 1001);
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
