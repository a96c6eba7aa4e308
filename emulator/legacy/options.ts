// The legacy server's timing and limits (docs/emulator.md, "Timing and limits of /ws"): how long it takes to
// answer each kind of request, when an idle socket is closed, and how much unsent output a socket may hold.

/** The kinds of request a server takes its time over. */
export const LATENCY_KINDS = ['init', 'reref', 'login', 'challenge', 'logout', 'query', 'relay'] as const;
export type LatencyKind = (typeof LATENCY_KINDS)[number];

/**
 * What a server takes to answer, per kind, in ms. A real server answers after some processing time, so
 * answers to frames sent together (init and login) never arrive in one read. Tests that want speed pass 0.
 */
export const DEFAULT_LATENCY_MS: Readonly<Record<LatencyKind, number>> = {
  init: 40,
  reref: 30,
  login: 80,
  challenge: 60,
  logout: 20,
  query: 30,
  relay: 50,
};

/** An option out of its range (startEmulator refuses to start). */
export class EmulatorOptionError extends Error {
  readonly code = 'BAD_OPTION';
}

export interface LegacyOptions {
  /** One figure for every kind, or some kinds (the others keep their defaults). */
  latencyMs: number | Partial<Record<LatencyKind, number>>;
  /** A socket that sent no frame for this long is closed (clients ping every 20 s; 75000). */
  idleTimeoutMs: number;
  /** Unsent output past which the server stops reading from the socket (1 MiB). */
  highWaterBytes: number;
  /** Unsent output past which the socket is dropped (8 MiB). */
  maxBufferedBytes: number;
  /** Frames read and waiting to be handled past which reading pauses until half are done (256). */
  maxQueuedFrames: number;
  /** Phones kept (10000); messages kept per phone in `sent` (1000). */
  maxPhones: number;
  maxSentPerPhone: number;
}

export const DEFAULT_LEGACY_OPTIONS: LegacyOptions = {
  latencyMs: DEFAULT_LATENCY_MS,
  idleTimeoutMs: 75_000,
  highWaterBytes: 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxQueuedFrames: 256,
  maxPhones: 10_000,
  maxSentPerPhone: 1000,
};

/** The latency of every kind, from the option's one figure or partial table. */
export function latencyTable(latency: LegacyOptions['latencyMs']): Readonly<Record<LatencyKind, number>> {
  const table = { ...DEFAULT_LATENCY_MS };
  for (const kind of LATENCY_KINDS) {
    const ms = typeof latency === 'number' ? latency : latency[kind];
    if (ms === undefined) continue;
    if (!Number.isFinite(ms) || ms < 0 || ms > 60_000)
      throw new EmulatorOptionError(`latencyMs.${kind} must be 0..60000 ms, not ${ms}`);
    table[kind] = ms;
  }
  return table;
}

export function legacyOptions(given: Partial<LegacyOptions> = {}): LegacyOptions {
  const options = { ...DEFAULT_LEGACY_OPTIONS, ...given };
  for (const key of [
    'idleTimeoutMs',
    'maxQueuedFrames',
    'highWaterBytes',
    'maxBufferedBytes',
    'maxPhones',
    'maxSentPerPhone',
  ] as const) {
    if (!Number.isInteger(options[key]) || options[key] <= 0)
      throw new EmulatorOptionError(`${key} must be a positive integer, not ${options[key]}`);
  }
  if (options.highWaterBytes > options.maxBufferedBytes)
    throw new EmulatorOptionError('highWaterBytes must not be above maxBufferedBytes');
  return options;
}
