// Multi-device framing (docs/protocol-md.md "Framing"): every frame is a 3-byte big-endian length and a
// payload smaller than 2^24; the connection intro (pre-intro and `WA 06 0N`) precedes only the first frame.
// WebSocket messages may split a frame or carry several, so decoding keeps state across messages.
import { isCryptoError } from '../../crypto/index.ts';
import { type ConnectionIntro, parseConnectionIntro } from '../../crypto/md/index.ts';
import { CodecError } from '../errors.ts';

export const FRAME_HEADER_LENGTH = 3;
/** Largest payload a 3-byte length can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** Routing info the server accepts in a pre-intro by default (real ones are tens of bytes). */
export const DEFAULT_MAX_ROUTING_INFO = 4096;

/**
 * `u24 length ‖ payload`. A zero-length frame is refused: deployed clients stall on one (they loop while
 * the length is non-zero). CodecError EMPTY_FRAME / FRAME_TOO_LARGE.
 */
export function encodeFrame(payload: Uint8Array, prefix?: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array) || payload.length === 0) {
    throw new CodecError('EMPTY_FRAME', 'a zero-length frame is never sent');
  }
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new CodecError('FRAME_TOO_LARGE', `a frame payload is at most ${MAX_FRAME_PAYLOAD} bytes`);
  }
  const start = prefix?.length ?? 0;
  const out = new Uint8Array(start + FRAME_HEADER_LENGTH + payload.length);
  if (prefix) out.set(prefix, 0);
  out[start] = payload.length >>> 16;
  out[start + 1] = (payload.length >>> 8) & 0xff;
  out[start + 2] = payload.length & 0xff;
  out.set(payload, start + FRAME_HEADER_LENGTH);
  return out;
}

/** Client side: puts the connection intro in front of the first frame only. */
export class FrameEncoder {
  #intro: Uint8Array | null;

  constructor(intro?: Uint8Array) {
    this.#intro = intro && intro.length > 0 ? intro : null;
  }

  encode(payload: Uint8Array): Uint8Array {
    const out = encodeFrame(payload, this.#intro ?? undefined);
    this.#intro = null;
    return out;
  }
}

export interface FrameDecoderOptions {
  /** Server side: the first bytes are the connection intro (default false). */
  expectIntro?: boolean;
  /** Frames longer than this are a CodecError FRAME_TOO_LARGE (default 2^24 - 1). */
  maxFramePayload?: number;
  /** Pre-intro routing info longer than this is refused (default 4096). */
  maxRoutingInfo?: number;
}

/**
 * Turns WebSocket messages into frame payloads. It holds at most one unfinished frame (bounded by
 * maxFramePayload) plus a header, and only the bytes that actually arrived. A frame that lies whole inside one
 * message is returned as a view into that message, not copied. After an error the
 * decoder is failed: every later push throws the same error (the connection is to be closed).
 */
export class FrameDecoder {
  readonly #maxPayload: number;
  readonly #maxRoutingInfo: number;
  #introPending: boolean;
  #introBytes: Uint8Array = new Uint8Array(0);
  #intro: ConnectionIntro | null = null;
  #header = new Uint8Array(FRAME_HEADER_LENGTH);
  #headerFilled = 0;
  /** Length of the frame being collected, -1 between frames. */
  #expected = -1;
  #partial: Uint8Array[] = [];
  #partialLength = 0;
  #failure: CodecError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxPayload = Math.min(options.maxFramePayload ?? MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD);
    this.#maxRoutingInfo = options.maxRoutingInfo ?? DEFAULT_MAX_ROUTING_INFO;
    this.#introPending = options.expectIntro ?? false;
  }

  /** The connection intro, once it has been read (server side). */
  get intro(): ConnectionIntro | null {
    return this.#intro;
  }

  /** Bytes held back waiting for the rest of a frame or of the intro. */
  get bufferedBytes(): number {
    return this.#introBytes.length + this.#headerFilled + this.#partialLength;
  }

  push(message: Uint8Array): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    if (!(message instanceof Uint8Array))
      throw this.#fail('BAD_FRAME', 'a WebSocket message of bytes expected');
    let offset = 0;
    if (this.#introPending) {
      offset = this.#readIntro(message);
      if (this.#introPending) return [];
    }
    const frames: Uint8Array[] = [];
    while (offset < message.length) {
      if (this.#expected < 0) {
        // Fast path: a whole frame inside this message, header included.
        if (this.#headerFilled === 0 && message.length - offset >= FRAME_HEADER_LENGTH) {
          const length = (message[offset]! << 16) | (message[offset + 1]! << 8) | message[offset + 2]!;
          this.#checkLength(length);
          const start = offset + FRAME_HEADER_LENGTH;
          if (message.length - start >= length) {
            frames.push(message.subarray(start, start + length));
            offset = start + length;
            continue;
          }
          this.#expected = length;
          offset = start;
        } else {
          while (this.#headerFilled < FRAME_HEADER_LENGTH && offset < message.length) {
            this.#header[this.#headerFilled++] = message[offset++]!;
          }
          if (this.#headerFilled < FRAME_HEADER_LENGTH) break;
          const length = (this.#header[0]! << 16) | (this.#header[1]! << 8) | this.#header[2]!;
          this.#checkLength(length);
          this.#headerFilled = 0;
          this.#expected = length;
        }
      }
      // Collect what arrived (copied: the caller may reuse its buffer); memory follows the bytes received,
      // not the length a peer announced.
      const take = Math.min(this.#expected - this.#partialLength, message.length - offset);
      if (take > 0) this.#partial.push(message.slice(offset, offset + take));
      this.#partialLength += take;
      offset += take;
      if (this.#partialLength === this.#expected) frames.push(this.#takeFrame());
    }
    return frames;
  }

  #takeFrame(): Uint8Array {
    const frame = this.#partial.length === 1 ? this.#partial[0]! : concat(this.#partial, this.#partialLength);
    this.#partial = [];
    this.#partialLength = 0;
    this.#expected = -1;
    return frame;
  }

  #readIntro(message: Uint8Array): number {
    const seen = this.#introBytes.length;
    const bytes = seen === 0 ? message : concat([this.#introBytes, message], seen + message.length);
    let intro: ConnectionIntro | null;
    try {
      intro = parseConnectionIntro(bytes, this.#maxRoutingInfo);
    } catch (error) {
      if (isCryptoError(error)) throw this.#fail('BAD_INTRO', error.message);
      throw error;
    }
    if (!intro) {
      this.#introBytes = bytes.slice();
      return message.length;
    }
    this.#intro = intro;
    this.#introPending = false;
    this.#introBytes = new Uint8Array(0);
    return intro.length - seen;
  }

  #checkLength(length: number): void {
    if (length > this.#maxPayload) {
      throw this.#fail('FRAME_TOO_LARGE', `a frame of ${length} bytes exceeds ${this.#maxPayload}`);
    }
  }

  #fail(code: 'BAD_FRAME' | 'BAD_INTRO' | 'FRAME_TOO_LARGE', message: string): CodecError {
    this.#failure = new CodecError(code, message);
    this.#partial = [];
    this.#introBytes = new Uint8Array(0);
    return this.#failure;
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
