// The multi-device transport (docs/protocol-md.md §1-§3): a WebSocket with Origin web.whatsapp.com, the
// `WA 06 0v` header in front of the first frame, Noise XX as the initiator with the companion's static key,
// the server's certificate chain verified against a given root (§2.4: both XEdDSA signatures, the issuer
// serials, leaf key = server static, validity), then AES-GCM transport frames carrying binary nodes (§5).
// Every failure before the transport is up is an MdTransportError with a code; afterwards an unreadable
// frame is reported as dropped and the connection carries on, as whatsmeow does (§2.5).
import WebSocket from 'ws';
import { md } from '../../codec/index.ts';
import type { X25519KeyPair } from '../../crypto/index.ts';
import {
  buildConnectionIntro,
  connectionHeader,
  NoiseInitiator,
  type NoiseTransport,
} from '../../crypto/md/index.ts';

export const MD_ORIGIN = 'https://web.whatsapp.com';
/** §1.1: clients give the handshake 20 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 20_000;
/** Inbound frames larger than this close the connection (stanzas are small; media goes through the CDN). */
export const DEFAULT_MAX_FRAME_PAYLOAD = 4 * 1024 * 1024;

export type MdTransportErrorCode =
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CONNECT'
  | 'HTTP'
  | 'CLOSED'
  | 'CERTIFICATE'
  | 'BAD_HANDSHAKE'
  | 'FRAME_TOO_LARGE'
  | 'BAD_FRAME'
  | 'NOT_OPEN';

export class MdTransportError extends Error {
  override readonly name = 'MdTransportError';
  constructor(
    readonly code: MdTransportErrorCode,
    message: string,
    /** The floor's own code when one is behind it (a CertChainError's, a CryptoError's…). */
    readonly detail: string | null = null,
  ) {
    super(message);
  }
}

export function isMdTransportError(value: unknown): value is MdTransportError {
  return value instanceof MdTransportError;
}

/** What a connection tells after the handshake, in order. */
export type MdTransportEvent =
  | { type: 'node'; node: md.MdNode }
  /** A frame that did not open or decode (§2.5): dropped, the connection stays. */
  | { type: 'dropped'; code: 'FRAME_UNDECRYPTABLE' | 'FRAME_MALFORMED'; reason: string }
  | { type: 'closed'; code: number | null; reason: string };

export interface MdTransportOptions {
  /** `wss://web.whatsapp.com/ws/chat`, or an emulator's `ws://127.0.0.1:N/ws/chat`. */
  url: string;
  /** The certificate root (default WhatsApp's, §2.4). */
  rootPublicKey?: Uint8Array;
  /** The companion's long-term Noise static key (§15). */
  noiseKey: X25519KeyPair;
  /** The ClientPayload (§4): registration or login. */
  payload: md.ClientPayload;
  /** The token dictionary announced in the header (§1.2); default 3. */
  dictionary?: 2 | 3;
  origin?: string;
  timeouts?: { handshakeMs?: number };
  maxFramePayload?: number;
  signal?: AbortSignal;
  /** The clock certificates are checked against (ms since the epoch). */
  now?: () => number;
  /** The WebSocket is open (the handshake starts). */
  onOpen?: () => void;
}

export interface MdTransport {
  /** The verified certificate chain of this connection. */
  readonly certificates: md.VerifiedCertChain;
  readonly dictionary: 2 | 3;
  /**
   * Receives every event from now on; events that arrived before the first listener are delivered to it
   * first (the server may speak the moment the handshake ends). Returns an unsubscribe.
   */
  listen(listener: (event: MdTransportEvent) => void): () => void;
  /** Encrypts and sends one node; MdTransportError NOT_OPEN once the socket is closing. */
  send(node: md.MdNode): void;
  close(code?: number, reason?: string): void;
  readonly isOpen: boolean;
}

function typed(error: unknown, fallback: MdTransportErrorCode, what: string): MdTransportError {
  if (isMdTransportError(error)) return error;
  const detail = (error as { code?: unknown })?.code;
  return new MdTransportError(
    fallback,
    `${what}: ${(error as Error)?.message ?? String(error)}`,
    typeof detail === 'string' ? detail : null,
  );
}

/** Connects, handshakes and verifies; resolves once the ClientFinish is sent and the transport is up. */
export function openMdTransport(options: MdTransportOptions): Promise<MdTransport> {
  const dictionary = options.dictionary ?? 3;
  const timeoutMs = options.timeouts?.handshakeMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const maxFramePayload = options.maxFramePayload ?? DEFAULT_MAX_FRAME_PAYLOAD;
  if (options.signal?.aborted) {
    return Promise.reject(new MdTransportError('ABORTED', 'aborted before connecting'));
  }
  let ws: WebSocket;
  try {
    ws = new WebSocket(options.url, {
      origin: options.origin ?? MD_ORIGIN,
      maxPayload: maxFramePayload + 1024,
      handshakeTimeout: timeoutMs,
    });
  } catch (error) {
    return Promise.reject(typed(error, 'CONNECT', 'cannot open the WebSocket'));
  }
  ws.binaryType = 'nodebuffer';
  return new Promise<MdTransport>((resolve, reject) => {
    const header = connectionHeader(dictionary);
    const encoder = new md.FrameEncoder(buildConnectionIntro(header, null));
    const decoder = new md.FrameDecoder({ maxFramePayload });
    const noise = new NoiseInitiator({ prologue: header, staticKeyPair: options.noiseKey });
    let transport: NoiseTransport | null = null;
    /** Resolved or rejected; `up` only when resolved. */
    let settled = false;
    let up = false;
    let lastError = '';
    const pending: MdTransportEvent[] = [];
    const listeners = new Set<(event: MdTransportEvent) => void>();
    let closedEvent: MdTransportEvent | null = null;

    const tell = (event: MdTransportEvent) => {
      if (listeners.size === 0) pending.push(event);
      else for (const listener of [...listeners]) listener(event);
    };
    const timer = setTimeout(
      () => fail(new MdTransportError('TIMEOUT', `no handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () =>
      up ? connection.close(1000, 'aborted') : fail(new MdTransportError('ABORTED', 'aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const fail = (error: MdTransportError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners('message');
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else if (ws.readyState === WebSocket.OPEN) ws.close(1000, error.code);
      reject(error);
    };

    const sendFrame = (payload: Uint8Array) => ws.send(encoder.encode(payload));

    const connection: MdTransport = {
      get certificates() {
        return certificates!;
      },
      dictionary,
      listen(listener) {
        listeners.add(listener);
        while (pending.length > 0 && listeners.has(listener)) listener(pending.shift()!);
        return () => listeners.delete(listener);
      },
      send(node) {
        if (!transport || ws.readyState !== WebSocket.OPEN) {
          throw new MdTransportError('NOT_OPEN', 'the connection is not open');
        }
        sendFrame(transport.seal(md.encodeMdNode(node, dictionary)));
      },
      close(code = 1000, reason = 'closed by the companion') {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      },
      get isOpen() {
        return ws.readyState === WebSocket.OPEN && closedEvent === null;
      },
    };
    let certificates: md.VerifiedCertChain | null = null;

    const onServerHello = (frame: Uint8Array) => {
      let chain: Uint8Array;
      let serverStatic: Uint8Array;
      try {
        ({ serverStatic, payload: chain } = noise.readServerHello(md.decodeServerHello(frame)));
      } catch (error) {
        throw typed(error, 'BAD_HANDSHAKE', 'the ServerHello');
      }
      try {
        certificates = md.verifyCertChain(chain, {
          serverStatic,
          now: Math.floor((options.now ?? Date.now)() / 1000),
          ...(options.rootPublicKey ? { rootPublicKey: options.rootPublicKey } : {}),
        });
      } catch (error) {
        throw typed(error, 'CERTIFICATE', 'the server certificate');
      }
      const finish = noise.writeClientFinish(md.encodeClientPayload(options.payload));
      sendFrame(md.encodeClientFinish(finish));
      transport = noise.split();
      settled = true;
      up = true;
      clearTimeout(timer);
      resolve(connection);
    };

    const onTransportFrame = (frame: Uint8Array) => {
      let plaintext: Uint8Array;
      try {
        plaintext = transport!.open(frame);
      } catch (error) {
        tell({ type: 'dropped', code: 'FRAME_UNDECRYPTABLE', reason: (error as Error).message });
        return;
      }
      try {
        tell({ type: 'node', node: md.decodeMdNode(plaintext, dictionary) });
      } catch (error) {
        tell({ type: 'dropped', code: 'FRAME_MALFORMED', reason: (error as Error).message });
      }
    };

    ws.on('open', () => {
      options.onOpen?.();
      try {
        sendFrame(md.encodeClientHello(noise.writeClientHello().ephemeral));
      } catch (error) {
        fail(typed(error, 'BAD_HANDSHAKE', 'the ClientHello'));
      }
    });
    ws.on('message', (data: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (error) {
        // The framing is lost for good (CodecError FRAME_TOO_LARGE / BAD_FRAME): nothing after it can be read.
        const code =
          (error as { code?: string }).code === 'FRAME_TOO_LARGE' ? 'FRAME_TOO_LARGE' : 'BAD_FRAME';
        const typedError = new MdTransportError(code, (error as Error).message);
        if (!settled) fail(typedError);
        else {
          lastError = code;
          ws.close(1002, code);
        }
        return;
      }
      for (const frame of frames) {
        if (transport) {
          onTransportFrame(frame);
          continue;
        }
        try {
          onServerHello(frame);
        } catch (error) {
          fail(typed(error, 'BAD_HANDSHAKE', 'the handshake'));
          return;
        }
      }
    });
    ws.on('unexpected-response', (_request, response) =>
      fail(new MdTransportError('HTTP', `the server answered the upgrade with HTTP ${response.statusCode}`)),
    );
    ws.on('error', (error) => {
      lastError = error.message;
      fail(typed(error, 'CONNECT', 'the WebSocket'));
    });
    ws.on('close', (code, reason) => {
      const text = reason.toString('utf8') || lastError;
      if (!up) {
        fail(
          new MdTransportError(
            'CLOSED',
            `the server closed the socket during the handshake (${code} ${text})`,
          ),
        );
        return;
      }
      options.signal?.removeEventListener('abort', onAbort);
      closedEvent = { type: 'closed', code, reason: text };
      tell(closedEvent);
    });
  });
}
