// One MD socket on the server side (docs/protocol-md.md §1-§3): the connection intro and its dictionary,
// the Noise XX responder, then AES-GCM transport frames carrying binary nodes. It knows nothing about
// accounts: what a node means is the handler's business (session.ts). It owns the limits that keep a
// hostile peer bounded — frame size, frames queued for handling, bytes queued for sending, a handshake
// deadline and an idle timeout — and every refusal is a typed error that closes this socket only.
//
// The socket is an interface so that tests and the fuzzer drive a connection in-process, without sockets.
import type { Logger } from 'pino';
import { md } from '../../codec/index.ts';
import type { X25519KeyPair } from '../../crypto/index.ts';
import { NoiseResponder, type NoiseTransport } from '../../crypto/md/index.ts';
import { isTypedError, MdEmulatorError } from './errors.ts';
import type { MdFaultBook } from './faults.ts';
import type { ResolvedMdOptions } from './options.ts';

/** What a connection needs of its socket (ws.ts adapts a `ws` WebSocket). */
export interface MdSocket {
  send(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes handed to send() and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Stop and start reading from the peer (backpressure). */
  pause(): void;
  resume(): void;
}

export interface HandshakeResult {
  payload: md.ClientPayload;
  /** The client's Noise static public key, proven by the handshake (§2.2). */
  clientStatic: Uint8Array;
}

/** The conversation above the transport (session.ts implements it). */
export interface ConnectionHandler {
  onHandshake(connection: MdConnection, result: HandshakeResult): Promise<void> | void;
  onNode(connection: MdConnection, node: md.MdNode): Promise<void> | void;
  onClosed(connection: MdConnection): void;
}

export interface ConnectionDeps {
  id: number;
  socket: MdSocket;
  serverStatic: X25519KeyPair;
  certChain: () => Uint8Array;
  faults: MdFaultBook;
  options: ResolvedMdOptions;
  handler: ConnectionHandler;
  log: Logger;
  /** Counts typed refusals by code, and untyped errors (bugs) apart. */
  onError?: (error: unknown, typed: boolean) => void;
}

type Phase = 'hello' | 'finish' | 'transport' | 'closed';

export interface CloseInfo {
  /** An error code (MdEmulatorError / CodecError / CryptoError), `peer` when the peer closed, or `server`. */
  code: string;
  message: string;
}

const POLL_MS = 20;

function flipLast(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
}

export class MdConnection {
  readonly id: number;
  /** The token dictionary this connection speaks (header byte 3), once the intro was read. */
  dictVersion: md.MdDictVersion | null = null;
  /** The client's Noise static public key, after the handshake. */
  clientStatic: Uint8Array | null = null;
  /** Why the connection ended, once it has. */
  closeInfo: CloseInfo | null = null;
  /** Transport frames sent and received (handshake frames not counted). */
  readonly counters = { framesIn: 0, framesOut: 0 };

  readonly #deps: ConnectionDeps;
  readonly #decoder: md.FrameDecoder;
  #phase: Phase = 'hello';
  #noise: NoiseResponder | null = null;
  #transport: NoiseTransport | null = null;
  /** Frames held back until the first-frame delay has passed (§3.2), or null once flowing. */
  #held: Uint8Array[] | null = null;
  #work: Promise<void> = Promise.resolve();
  #queued = 0;
  #ending = false;
  readonly #pausedFor = new Set<'queue' | 'output'>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  #outputPoll: ReturnType<typeof setInterval> | null = null;

  constructor(deps: ConnectionDeps) {
    this.#deps = deps;
    this.id = deps.id;
    this.#decoder = new md.FrameDecoder({ expectIntro: true, maxFramePayload: deps.options.maxFramePayload });
    this.#later(deps.options.handshakeTimeoutMs, () => {
      if (this.#phase !== 'transport')
        this.#fail(new MdEmulatorError('TIMEOUT', 'no complete handshake in time'));
    });
    this.#touch();
  }

  get isOpen(): boolean {
    return this.#phase !== 'closed';
  }

  /** True once the handshake is done and frames are encrypted. */
  get isTransport(): boolean {
    return this.#phase === 'transport';
  }

  /** Frames received and not yet handled. */
  get queuedFrames(): number {
    return this.#queued;
  }

  // ---- input ----

  /** One WebSocket message from the peer. Never throws: a refusal closes this connection. */
  receive(message: Uint8Array): void {
    if (this.#phase === 'closed' || this.#ending) return;
    this.#touch();
    let frames: Uint8Array[];
    try {
      frames = this.#decoder.push(message);
    } catch (error) {
      this.#fail(error);
      return;
    }
    for (const frame of frames) {
      if (!this.isOpen || this.#ending) return;
      try {
        this.#onFrame(frame);
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
  }

  #onFrame(frame: Uint8Array): void {
    if (this.#phase === 'hello') this.#onClientHello(frame);
    else if (this.#phase === 'finish') this.#onClientFinish(frame);
    else if (this.#phase === 'transport') this.#onTransportFrame(frame);
    else throw new MdEmulatorError('CLOSED', 'a frame after the connection closed');
  }

  /** §1.2, §2.2 steps 1-2: the dictionary from the header, then ServerHello with the certificate chain. */
  #onClientHello(frame: Uint8Array): void {
    const intro = this.#decoder.intro;
    const version = intro?.dictVersion;
    if (version !== 2 && version !== 3) {
      throw new MdEmulatorError(
        'BAD_DICTIONARY',
        `the header names dictionary ${String(version)}, not 2 or 3`,
      );
    }
    this.dictVersion = version;
    const hello = md.decodeClientHello(frame);
    const noise = new NoiseResponder({ prologue: intro!.header, staticKeyPair: this.#deps.serverStatic });
    noise.readClientHello(hello);
    const chain = this.#deps.certChain();
    // The badCertificate fault: the chain's last byte (inside the leaf's signature) flipped, on a copy.
    const sent = this.#deps.faults.take('badCertificate') ? flipLast(chain) : chain;
    const serverHello = md.encodeServerHello(noise.writeServerHello(sent));
    this.#noise = noise;
    this.#phase = 'finish';
    const fault = this.#deps.faults.atStep('handshake');
    if (fault && 'close' in fault) {
      this.close('fault: closeSocket at handshake');
      return;
    }
    const send = () => this.#write(md.encodeFrame(serverHello));
    if (fault) this.#later(fault.delayMs, send);
    else send();
  }

  /** §2.2 steps 3-4 and §2.5: the client's static and payload, then split into the transport keys. */
  #onClientFinish(frame: Uint8Array): void {
    const noise = this.#noise!;
    const { clientStatic, payload } = noise.readClientFinish(md.decodeClientFinish(frame));
    const decoded = md.decodeClientPayload(payload);
    this.#transport = noise.split();
    this.#noise = null;
    this.clientStatic = clientStatic;
    this.#phase = 'transport';
    // §3.2: some clients derive their transport keys asynchronously and lose an early frame.
    if (this.#deps.options.firstFrameDelayMs > 0) {
      this.#held = [];
      this.#later(this.#deps.options.firstFrameDelayMs, () => this.#flushHeld());
    }
    this.#enqueue(() => this.#deps.handler.onHandshake(this, { payload: decoded, clientStatic }));
  }

  /** §2.5, §3.2: decrypt (counters in step), then the flag byte and the node. */
  #onTransportFrame(frame: Uint8Array): void {
    const plaintext = this.#transport!.open(frame);
    this.counters.framesIn += 1;
    const node = md.decodeMdNode(plaintext, this.dictVersion!);
    this.#enqueue(() => this.#deps.handler.onNode(this, node));
  }

  /** Handlers run one at a time, in arrival order; too many waiting pauses reading, far too many closes. */
  #enqueue(task: () => Promise<void> | void): void {
    const limit = this.#deps.options.maxQueuedFrames;
    this.#queued += 1;
    if (this.#queued > 4 * limit) {
      this.#fail(new MdEmulatorError('BACKPRESSURE', `more than ${4 * limit} frames waiting to be handled`));
      return;
    }
    if (this.#queued > limit) this.#pause('queue');
    this.#work = this.#work.then(async () => {
      try {
        if (this.#phase === 'closed') return;
        await task();
      } catch (error) {
        this.#fail(error);
      } finally {
        this.#queued -= 1;
        if (this.#queued <= limit / 2) this.#resume('queue');
      }
    });
  }

  /** Resolves when every frame received so far has been handled (tests, the fuzzer). */
  idle(): Promise<void> {
    return this.#work;
  }

  // ---- output ----

  /** Encrypts and sends one node (held back during the first-frame delay). */
  sendNode(node: md.MdNode): void {
    if (this.#phase !== 'transport' || this.#ending) return;
    const plaintext = md.encodeMdNode(node, this.dictVersion!);
    const sealed = this.#transport!.seal(plaintext);
    if (this.#deps.faults.take('corruptFrame')) sealed[Math.floor(sealed.length / 2)]! ^= 0x5a;
    this.counters.framesOut += 1;
    const frame = md.encodeFrame(sealed);
    if (this.#held) this.#held.push(frame);
    else this.#write(frame);
  }

  /** §10: a stream error ends the stream; the socket closes a moment later (the peer reads it first). */
  endStream(node: md.MdNode, reason: string): void {
    if (this.#phase === 'closed' || this.#ending) return;
    this.sendNode(node);
    this.#ending = true;
    const wait =
      this.#deps.options.streamErrorCloseMs + (this.#held ? this.#deps.options.firstFrameDelayMs : 0);
    this.#later(wait, () => this.close(reason));
  }

  /** After a given time, unless the connection closed first. */
  later(ms: number, run: () => void): void {
    this.#later(ms, run);
  }

  #flushHeld(): void {
    const held = this.#held;
    this.#held = null;
    for (const frame of held ?? []) this.#write(frame);
  }

  #write(frame: Uint8Array): void {
    if (this.#phase === 'closed') return;
    const { socket, options } = this.#deps;
    socket.send(frame);
    if (socket.bufferedAmount > options.maxBufferedBytes) {
      this.#fail(new MdEmulatorError('BACKPRESSURE', `the peer left ${socket.bufferedAmount} bytes unread`));
    } else if (socket.bufferedAmount > options.highWaterBytes) {
      this.#pause('output');
    }
  }

  #pause(reason: 'queue' | 'output'): void {
    if (this.#pausedFor.size === 0) this.#deps.socket.pause();
    this.#pausedFor.add(reason);
    if (reason === 'output' && !this.#outputPoll) {
      this.#outputPoll = setInterval(() => {
        if (this.#deps.socket.bufferedAmount <= this.#deps.options.highWaterBytes / 2) {
          clearInterval(this.#outputPoll!);
          this.#outputPoll = null;
          this.#resume('output');
        }
      }, POLL_MS);
      this.#outputPoll.unref?.();
    }
  }

  #resume(reason: 'queue' | 'output'): void {
    if (!this.#pausedFor.delete(reason)) return;
    if (this.#pausedFor.size === 0 && this.#phase !== 'closed') this.#deps.socket.resume();
  }

  // ---- ending ----

  /** Closes the socket (after what was held back for the first-frame delay); the handler hears of it once. */
  close(message: string, code = 1000, info: CloseInfo = { code: 'server', message }): void {
    if (this.#phase === 'closed') return;
    if (code === 1000 && this.#held) this.#flushHeld();
    this.#phase = 'closed';
    this.closeInfo = info;
    this.#stopTimers();
    this.#held = null;
    this.#deps.log.info({ conn: this.id, reason: info.code, message }, 'md: closing socket');
    this.#deps.socket.close(code, message.slice(0, 120));
    this.#deps.handler.onClosed(this);
  }

  /** The peer closed (or the socket failed). */
  socketClosed(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.closeInfo = { code: 'peer', message: 'the peer closed the socket' };
    this.#stopTimers();
    this.#held = null;
    this.#deps.handler.onClosed(this);
  }

  #fail(error: unknown): void {
    if (this.#phase === 'closed') return;
    const typed = isTypedError(error);
    this.#deps.onError?.(error, typed);
    if (typed) {
      this.close(`refused: ${error.message}`, 1008, { code: error.code, message: error.message });
    } else {
      // A bug, not the peer's fault: logged loudly, and still only this socket goes.
      const message = error instanceof Error ? error.message : String(error);
      this.#deps.log.error({ conn: this.id, err: message }, 'md: internal error');
      this.close('internal error', 1011, { code: 'INTERNAL', message });
    }
  }

  #touch(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(
      () => this.#fail(new MdEmulatorError('TIMEOUT', 'no frame within the idle timeout')),
      this.#deps.options.idleTimeoutMs,
    );
    this.#idleTimer.unref?.();
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#phase !== 'closed') run();
    }, ms);
    timer.unref?.();
    this.#timers.add(timer);
  }

  #stopTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#outputPoll) clearInterval(this.#outputPoll);
    this.#outputPoll = null;
  }
}
