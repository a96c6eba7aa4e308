// Where a session's credentials live between runs (docs/protocol.md §2.4's set, tokens updated on every
// Conn). No machine snapshot is stored (xstate#5331): a restarted process restores by login.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fromBase64, toBase64 } from '../crypto/index.ts';
import type { Credentials, TokenPair } from '../machines/index.ts';

/**
 * Where one session's credentials live. `T` is the protocol's record: legacy `Credentials` by default,
 * the multi-device record (actors/md) with its codec. Each save replaces the whole record atomically.
 */
export interface CredentialStore<T = Credentials> {
  load(): Promise<T | null>;
  save(credentials: T): Promise<void>;
  clear(): Promise<void>;
  /** Where the credentials live, for messages (never the credentials themselves). */
  readonly location: string;
}

/**
 * A protocol's stored form: its record to text and back. `parse` checks everything it reads and throws
 * CredentialError (CORRUPT, or VERSION for a format this walink does not know) naming `where`.
 */
export interface CredentialCodec<T> {
  serialize(credentials: T): string;
  parse(text: string, where: string): T;
}

export type CredentialErrorCode = 'CORRUPT' | 'VERSION' | 'NO_KEY' | 'IO';

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The stored form: keys as base64, a version for migrations. Version 2 adds `previous`, the tokens the last
 * rotation replaced (docs/protocol.md §2.5); version 1 files (without it) are still read.
 */
interface StoredCredentials {
  version: 2;
  clientId: string;
  clientToken: string;
  serverToken: string;
  browserToken: string;
  encKey: string;
  macKey: string;
  wid: string;
  previous?: TokenPair;
}

const READABLE_VERSIONS = [1, 2];

export function serializeCredentials(credentials: Credentials): string {
  const stored: StoredCredentials = {
    version: 2,
    clientId: credentials.clientId,
    clientToken: credentials.clientToken,
    serverToken: credentials.serverToken,
    browserToken: credentials.browserToken,
    encKey: toBase64(credentials.encKey),
    macKey: toBase64(credentials.macKey),
    wid: credentials.wid,
    ...(credentials.previous
      ? {
          previous: {
            clientToken: credentials.previous.clientToken,
            serverToken: credentials.previous.serverToken,
            browserToken: credentials.previous.browserToken,
          },
        }
      : {}),
  };
  return `${JSON.stringify(stored, null, 2)}\n`;
}

function readPrevious(value: unknown, where: string): TokenPair | undefined {
  if (value === undefined) return undefined;
  const pair = value as Partial<TokenPair> | null;
  if (
    typeof pair !== 'object' ||
    pair === null ||
    typeof pair.clientToken !== 'string' ||
    typeof pair.serverToken !== 'string' ||
    typeof pair.browserToken !== 'string'
  )
    throw new CredentialError('CORRUPT', `${where} holds previous tokens that are not three strings`);
  return { clientToken: pair.clientToken, serverToken: pair.serverToken, browserToken: pair.browserToken };
}

export function parseCredentials(text: string, where: string): Credentials {
  let data: Partial<Omit<StoredCredentials, 'version'>> & { version?: unknown };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    throw new CredentialError('CORRUPT', `${where} is not JSON`);
  }
  const strings = [
    'clientId',
    'clientToken',
    'serverToken',
    'browserToken',
    'encKey',
    'macKey',
    'wid',
  ] as const;
  if (typeof data !== 'object' || data === null || !READABLE_VERSIONS.includes(data.version as number))
    throw new CredentialError('CORRUPT', `${where} is not a walink credential file (version 1 or 2)`);
  for (const key of strings) {
    if (typeof data[key] !== 'string') throw new CredentialError('CORRUPT', `${where} lacks ${key}`);
  }
  let encKey: Uint8Array;
  let macKey: Uint8Array;
  try {
    encKey = fromBase64(data.encKey!);
    macKey = fromBase64(data.macKey!);
  } catch {
    throw new CredentialError('CORRUPT', `${where} holds keys that are not base64`);
  }
  if (encKey.length !== 32 || macKey.length !== 32)
    throw new CredentialError('CORRUPT', `${where} holds keys of the wrong length`);
  const previous = readPrevious(data.previous, where);
  return {
    clientId: data.clientId!,
    clientToken: data.clientToken!,
    serverToken: data.serverToken!,
    browserToken: data.browserToken!,
    encKey,
    macKey,
    wid: data.wid!,
    ...(previous ? { previous } : {}),
  };
}

/** The legacy session's stored form (version 2, reads 1). */
export const LEGACY_CREDENTIAL_CODEC: CredentialCodec<Credentials> = {
  serialize: serializeCredentials,
  parse: parseCredentials,
};

/** The default codec for stores whose `T` is left at legacy `Credentials`. */
function legacyCodec<T>(): CredentialCodec<T> {
  return LEGACY_CREDENTIAL_CODEC as unknown as CredentialCodec<T>;
}

/**
 * Writes `contents` so that `path` is always either the old file or the new one: a temporary file in
 * the same directory, fsync, rename, fsync of the directory. Mode 0600: it holds secrets.
 */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/**
 * One JSON file per session, written atomically with mode 0600. Saves are applied in order. The codec
 * says which protocol's record the file holds (legacy by default).
 */
export class FileCredentialStore<T = Credentials> implements CredentialStore<T> {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly location: string,
    private readonly codec: CredentialCodec<T> = legacyCodec<T>(),
  ) {}

  async load(): Promise<T | null> {
    await this.removeAbandonedTemporaries();
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CredentialError('IO', `cannot read ${this.location}: ${(error as Error).message}`);
    }
    return this.codec.parse(text, this.location);
  }

  async save(credentials: T): Promise<void> {
    // Serialized now (an async function runs to its first await at once): the caller may change its
    // object once save() has returned, and what is written is the state at the call.
    const text = this.codec.serialize(credentials);
    return this.serially(() => writeFileAtomic(this.location, text));
  }

  clear(): Promise<void> {
    return this.serially(async () => {
      await unlink(this.location).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    });
  }

  /** A writer killed between write and rename leaves its temporary file; the next owner sweeps it. */
  private async removeAbandonedTemporaries(): Promise<void> {
    const prefix = `.${basename(this.location)}.`;
    const names = await readdir(dirname(this.location)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp'))
        await unlink(join(dirname(this.location), name)).catch(() => undefined);
    }
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Keeps credentials in memory only: for tests and throwaway sessions. */
export class MemoryCredentialStore<T = Credentials> implements CredentialStore<T> {
  readonly location = 'memory';
  saves = 0;
  private stored: string | null = null;

  constructor(
    initial: T | null = null,
    private readonly codec: CredentialCodec<T> = legacyCodec<T>(),
  ) {
    if (initial) this.stored = codec.serialize(initial);
  }

  async load(): Promise<T | null> {
    return this.stored === null ? null : this.codec.parse(this.stored, 'memory');
  }

  async save(credentials: T): Promise<void> {
    this.saves += 1;
    this.stored = this.codec.serialize(credentials);
  }

  async clear(): Promise<void> {
    this.stored = null;
  }
}
