// The emulated multi-device server and phone (docs/emulator.md, docs/protocol-md.md): WebSocket `/ws/chat`
// beside legacy's `/ws` on the same port, and the phone API under `/md/`. emulator/server.ts mounts it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { toHex } from '../../crypto/index.ts';
import type { MediaStore } from '../media-store.ts';
import { MdConnection, type MdSocket } from './connection.ts';
import { MdContext, type MdStats } from './context.ts';
import { mdRoute } from './http.ts';
import { type MdOptions, resolveMdOptions } from './options.ts';
import { CertificateChain } from './server-keys.ts';
import { createSessionHandler } from './session.ts';
import { MdState } from './state.ts';
import { attachWs, wsSocket } from './ws.ts';

export { MdConnection, type MdSocket } from './connection.ts';
export type { MdContext, MdStats, PairingResult } from './context.ts';
export { isTypedError, MdEmulatorError, type MdEmulatorErrorCode } from './errors.ts';
export { MD_STEPS, type MdFaultRule, type MdStep } from './faults.ts';
export { MD_DEFAULTS, type MdOptions } from './options.ts';
export { PAIR_CODE_BROWSERS, PAIR_CODE_OSES } from './pairing.ts';
export { encryptForDevice, type SignalParty } from './signal-party.ts';

export const MD_WS_PATH = '/ws/chat';

/** Where the `md` section of the state file comes from and goes (emulator/legacy/world.ts's hook). */
export interface MdPersistence {
  /** What the file held under `md` (undefined for a fresh emulator). */
  saved: unknown;
  /** Registers the snapshot written with every save. */
  attach(snapshot: () => unknown): void;
  save(): void;
}

export interface MdServerDeps {
  persistence?: MdPersistence;
  /** The CDN the legacy phone uses too: MD images are served from it. */
  media: MediaStore;
  log: Logger;
  /** http://host:port once listening (media URLs). */
  baseUrl: () => string;
  now?: () => number;
  options?: MdOptions;
  maxBodyBytes?: number;
}

export interface MdServer {
  readonly path: typeof MD_WS_PATH;
  /** The root of the certificate chain: what a verifying client is told to trust. */
  readonly rootPublicKey: Uint8Array;
  readonly rootPublicKeyHex: string;
  readonly stats: MdStats;
  /** The shared state (tests look inside). */
  readonly context: MdContext;
  /** Takes over an HTTP upgrade to `/ws/chat` (the Origin was checked by the caller). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Answers a request under /md/; false when no MD route matches. */
  route(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** A connection over any socket (in-process tests and the fuzzer). */
  accept(socket: MdSocket): MdConnection;
  close(): Promise<void>;
}

export function createMdServer(deps: MdServerDeps): MdServer {
  const options = resolveMdOptions(deps.options);
  const now = deps.now ?? Date.now;
  let saveScheduled = false;
  let closed = false;
  // Changes come in bursts (a message to four devices): one write per turn of the event loop.
  const persist = () => {
    if (!deps.persistence || saveScheduled || closed) return;
    saveScheduled = true;
    setImmediate(() => {
      if (!saveScheduled) return;
      saveScheduled = false;
      deps.persistence!.save();
    });
  };
  const state = new MdState(deps.persistence?.saved, persist);
  deps.persistence?.attach(() => state.toJSON());
  // A fresh emulator keeps its new certificate keys at once: a restart must present the same root.
  if (deps.persistence?.saved === undefined) persist();
  const ctx = new MdContext(state, options, deps.log, deps.media, now, deps.baseUrl);
  const chain = new CertificateChain(state.keys, now);
  const handler = createSessionHandler(ctx);
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFramePayload + 64 * 1024 });
  let nextId = 1;

  const accept = (socket: MdSocket): MdConnection => {
    const connection = new MdConnection({
      id: nextId++,
      socket,
      serverStatic: state.keys.noiseStatic,
      certChain: () => chain.bytes(),
      faults: ctx.faults,
      options,
      handler,
      log: deps.log,
      onError: (_error, typed) => {
        if (!typed) ctx.stats.internalErrors += 1;
      },
    });
    ctx.connections.add(connection);
    ctx.sessions.set(connection, { kind: 'handshaking' });
    ctx.stats.connections += 1;
    return connection;
  };

  return {
    path: MD_WS_PATH,
    rootPublicKey: state.keys.root.publicKey,
    rootPublicKeyHex: toHex(state.keys.root.publicKey),
    stats: ctx.stats,
    context: ctx,
    handleUpgrade(req, socket, head) {
      if (ctx.connections.size >= options.maxConnections) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => attachWs(ws, accept(wsSocket(ws))));
    },
    route: (method, url, req, res) =>
      mdRoute(ctx, method, url, req, res, deps.maxBodyBytes ?? 32 * 1024 * 1024),
    accept,
    async close() {
      closed = true;
      for (const connection of [...ctx.connections]) connection.close('emulator shutting down', 1001);
      for (const client of wss.clients) client.terminate();
      wss.close();
      if (saveScheduled) {
        saveScheduled = false;
        deps.persistence?.save();
      }
    },
  };
}
