// The WebSocket as an XState callback actor. Inbound frames form an RxJS Observable that the protocol's
// Receiver opens and classifies into SocketEvents; SocketCommands become frames through its Sender.
// Frames are counted here, once, for the session. Stopping the actor (leaving the machine's `online`
// state) closes the socket.
import { Observable } from 'rxjs';
import WebSocket from 'ws';
import { fromCallback } from 'xstate';
import type { SocketActorInput, SocketCommand, SocketEvent } from '../../machines/legacy/index.ts';
import type { ProtocolStats } from '../session-types.ts';
import { ClientProtocol } from './client-protocol.ts';
import type { FieldLimits } from './server-fields.ts';

export const WHATSAPP_ORIGIN = 'https://web.whatsapp.com';

export interface SocketOptions {
  url: string;
  origin?: string;
  /** Refuse inbound frames larger than this (bytes). */
  maxPayload?: number;
  handshakeTimeout?: number;
  /** Counters shared across the session's sockets (frames in/out/dropped). */
  stats?: ProtocolStats;
  /** The field sizes the receiver accepts (SessionLimits). */
  limits?: FieldLimits;
  /**
   * This actor's own code threw (a bug, or an input nothing validated): the session ends, the process
   * does not. Without it the frame is dropped as unreadable.
   */
  onFault?: (error: unknown) => void;
}

interface InboundFrame {
  data: Buffer;
  isBinary: boolean;
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** The frames one socket receives, until it closes. */
export function inboundFrames(ws: WebSocket): Observable<InboundFrame> {
  return new Observable<InboundFrame>((subscriber) => {
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) =>
      subscriber.next({ data: toBuffer(data), isBinary });
    const onClose = () => subscriber.complete();
    ws.on('message', onMessage);
    ws.on('close', onClose);
    return () => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
  });
}

/**
 * The socket actor logic. `options` may be a function of the actor system, so one machine definition can
 * serve every session of a process, each finding its own URL and counters (see actors/session.ts).
 */
export function createSocketActor(options: SocketOptions | ((system: unknown) => SocketOptions)) {
  return fromCallback<SocketCommand, SocketActorInput>(({ input, sendBack, receive, system }) => {
    const resolved = typeof options === 'function' ? options(system) : options;
    return openSocket(resolved, input, sendBack, receive);
  });
}

function openSocket(
  options: SocketOptions,
  input: SocketActorInput,
  sendBack: (event: SocketEvent) => void,
  receive: (listener: (command: SocketCommand) => void) => void,
): () => void {
  const protocol = new ClientProtocol({
    keys: input.keys,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const shared = options.stats;
  let stopped = false;
  let lastError = '';
  const report = (event: SocketEvent) => {
    if (!stopped) sendBack(event);
  };
  // Socket callbacks run outside XState: an exception here would reach the process, so it ends this
  // session instead (onFault), and every other session in the process carries on.
  const fault = (error: unknown) => {
    if (stopped) return;
    if (options.onFault) options.onFault(error);
    else
      report({
        type: 'server.frameDropped',
        code: 'FRAME_MALFORMED',
        reason: `the receiver failed: ${(error as Error)?.message ?? String(error)}`,
      });
  };

  const ws = new WebSocket(options.url, {
    origin: options.origin ?? WHATSAPP_ORIGIN,
    maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
    handshakeTimeout: options.handshakeTimeout ?? 10_000,
    // No extension offered (docs/protocol.md §1): ws offers permessage-deflate by default, which costs
    // each socket an extension object, and zlib state for every socket a server accepts it on.
    perMessageDeflate: false,
  });
  const subscription = inboundFrames(ws).subscribe({
    next: (frame) => {
      try {
        const text = frame.isBinary ? frame.data : frame.data.toString('utf8');
        const event = protocol.incoming(text, frame.isBinary);
        if (shared) {
          shared.framesIn += 1;
          if (event.type === 'server.frameDropped') shared.framesDropped += 1;
        }
        report(event);
      } catch (error) {
        fault(error);
      }
    },
    error: fault,
  });

  ws.on('open', () => report({ type: 'socket.open' }));
  ws.on('error', (error) => {
    lastError = error.message;
  });
  ws.on('close', (code, reason) => {
    const text = reason.toString('utf8') || lastError;
    report({ type: 'socket.closed', code, reason: text });
  });

  receive((command) => {
    let frames: (string | Uint8Array)[];
    try {
      frames = protocol.outgoing(command);
    } catch (error) {
      report({
        type: 'server.frameDropped',
        code: 'FRAME_UNBUILDABLE',
        reason: `could not build a frame: ${(error as Error).message}`,
      });
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      for (const frame of frames) ws.send(frame);
      if (shared) shared.framesOut += frames.length;
    } catch (error) {
      fault(error);
    }
  });

  return () => {
    stopped = true;
    subscription.unsubscribe();
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'session left the socket');
    ws.on('error', () => undefined);
  };
}
