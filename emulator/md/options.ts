// The MD emulator's knobs, with the defaults docs/emulator.md documents. Tests shrink the timings.

export interface MdOptions {
  /** Wait before the first encrypted frame of a connection (docs/protocol-md.md §3.2, "Emulator timing"). */
  firstFrameDelayMs?: number;
  /** How long the first QR ref lives, then each of the other five (§6.3: 60 s, then 20 s each). */
  qrRefFirstTtlMs?: number;
  qrRefNextTtlMs?: number;
  /** How long a pair-code ref (companion_hello) may wait for the phone to type the code (§7.4: 180 s). */
  pairCodeTtlMs?: number;
  /** How long POST /md/phones/<n>/link-code waits for that number's companion_hello. */
  linkCodeWaitMs?: number;
  /** How long the phone waits for pair-device-sign (or companion_finish) before giving up. */
  pairingReplyTimeoutMs?: number;
  /** Between a stream error (515, conflict, device_removed) and closing the socket (§8.1: 100 ms). */
  streamErrorCloseMs?: number;
  /** No complete handshake within this time closes the socket (§1.1: clients allow 20 s). */
  handshakeTimeoutMs?: number;
  /** No frame at all for this long closes the socket (clients ping every 30 s, §11). */
  idleTimeoutMs?: number;
  /** Largest frame payload accepted (the protocol allows 2^24 - 1; stanzas are small). */
  maxFramePayload?: number;
  /** Outgoing bytes the socket may hold unsent before the server stops reading from it. */
  highWaterBytes?: number;
  /** Outgoing bytes unsent past which the socket is dropped. */
  maxBufferedBytes?: number;
  /** Frames received but not yet handled past which reading pauses; 4× this closes the socket. */
  maxQueuedFrames?: number;
  /** Messages waiting for one device (offline, or unacknowledged) at most; more are refused for it. */
  maxQueuedMessages?: number;
  /** Companions an account may link (WhatsApp: 4). */
  maxDevices?: number;
  /** MD sockets open at once at most; more are refused at the upgrade. */
  maxConnections?: number;
}

export type ResolvedMdOptions = Required<MdOptions>;

export const MD_DEFAULTS: ResolvedMdOptions = {
  firstFrameDelayMs: 100,
  qrRefFirstTtlMs: 60_000,
  qrRefNextTtlMs: 20_000,
  pairCodeTtlMs: 180_000,
  linkCodeWaitMs: 20_000,
  pairingReplyTimeoutMs: 20_000,
  streamErrorCloseMs: 100,
  handshakeTimeoutMs: 20_000,
  idleTimeoutMs: 75_000,
  maxFramePayload: 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxQueuedFrames: 256,
  maxQueuedMessages: 1000,
  maxDevices: 4,
  maxConnections: 1000,
};

/** Defaults for what is missing; a value that is not a non-negative finite number is an error. */
export function resolveMdOptions(options: MdOptions = {}): ResolvedMdOptions {
  const resolved = { ...MD_DEFAULTS };
  for (const [key, value] of Object.entries(options) as [keyof MdOptions, unknown][]) {
    if (value === undefined) continue;
    if (!(key in MD_DEFAULTS)) throw new TypeError(`unknown MD emulator option ${key}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new TypeError(`MD emulator option ${key} must be a non-negative number, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  return resolved;
}
