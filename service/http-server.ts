// `walink serve`'s HTTP side: a JSON API over the session service, the page and its assets (all local),
// QR codes as SVG images, machine diagrams, and Server-Sent Events for live updates.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { DEFAULT_PHONE, scanAsPhone } from '../emulator/index.ts';
import { HttpError, readJson, requireObject, sendJson } from '../http/index.ts';
import { toDot } from '../machines/diagram.ts';
import { describeMachine } from '../machines/structure.ts';
import { MACHINES } from './machine-registry.ts';
import { renderSvg } from './render-svg.ts';
import { type SessionService, SessionServiceError } from './session-service.ts';

export interface ServiceInfo {
  /** The WebSocket server the sessions talk to. */
  server: string;
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
}

export interface HttpService {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const STATIC_FILES = new Set(['index.html', 'app.js', 'app.css']);
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const SSE_HEARTBEAT_MS = 15_000;

export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { service } = options;
  const diagrams = new Map<string, Promise<string>>();
  const sseClients = new Set<ServerResponse>();

  const diagramSvg = (name: string) => {
    const machine = MACHINES[name];
    if (!machine) throw new HttpError(404, `no machine named ${name}`);
    let svg = diagrams.get(name);
    if (!svg) {
      svg = renderSvg(toDot(describeMachine(machine)));
      diagrams.set(name, svg);
    }
    return svg;
  };

  const sendText = (res: ServerResponse, type: string, body: string, cache = 'no-store') => {
    res.writeHead(200, { 'content-type': type, 'cache-control': cache });
    res.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (method === 'GET' && (parts.length === 0 || (parts[0] === 'static' && parts.length === 2))) {
      const file = parts.length === 0 ? 'index.html' : parts[1]!;
      if (!STATIC_FILES.has(file)) throw new HttpError(404, 'no such file');
      const body = await readFile(join(STATIC_DIR, file));
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)]!, 'cache-control': 'no-cache' });
      res.end(body);
      return;
    }
    if (parts[0] !== 'api') throw new HttpError(404, 'not found');
    const [, resource, name, action] = parts;

    if (resource === 'info' && method === 'GET') return sendJson(res, 200, options.info);
    if (resource === 'events' && method === 'GET') return openEventStream(req, res);
    if (resource === 'machines' && name && method === 'GET') {
      if (action === 'diagram.svg') return sendText(res, 'image/svg+xml', await diagramSvg(name));
      if (action === 'structure') {
        const machine = MACHINES[name];
        if (!machine) throw new HttpError(404, `no machine named ${name}`);
        return sendJson(res, 200, describeMachine(machine));
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
          return sendJson(res, 201, await service.create(body.name as string | undefined));
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

  // The embedded emulator's phone scans the session's current QR code (a demo convenience).
  const scanWithEmulatorPhone = async (name: string, body: unknown) => {
    const phone = (requireObject(body).phone as string | undefined) ?? DEFAULT_PHONE;
    if (!/^\d{5,20}$/.test(phone)) throw new HttpError(400, 'phone must be 5 to 20 digits');
    if (!options.info.emulator) throw new HttpError(409, 'there is no embedded emulator to scan with');
    const qr = sessionOr404(name).qr;
    if (!qr) throw new HttpError(409, `session ${name} is not showing a QR code`);
    const answer = await scanAsPhone(options.info.emulator, phone, qr.text);
    if (!answer.ok)
      throw new HttpError(502, `the phone could not scan: ${answer.status} ${answer.error ?? ''}`);
    return { scanned: name, phone, wid: answer.wid };
  };

  const sessionOr404 = (name: string) => {
    const view = service.view(name);
    if (!view) throw new HttpError(404, `no session named ${name}`);
    return view;
  };

  const openEventStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // The page first gets the whole picture, then every change.
    res.write(
      `event: hello\ndata: ${JSON.stringify({ sessions: service.list(), jobs: service.jobList() })}\n\n`,
    );
    sseClients.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      sseClients.delete(res);
    });
  };

  const subscription = service.updates$.subscribe((update) => {
    if (sseClients.size === 0) return;
    const frame = `event: update\ndata: ${JSON.stringify(update)}\n\n`;
    for (const client of sseClients) client.write(frame);
  });

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError || error instanceof SessionServiceError ? error.status : 500;
      if (res.headersSent) res.end();
      else sendJson(res, status, { error: (error as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    server,
    async close() {
      subscription.unsubscribe();
      for (const client of sseClients) client.end();
      sseClients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
