// Credentials in Redis, for sessions that move between machines. Redis only ever holds them sealed
// (crypto/seal.ts, AES-256-GCM) under WALINK_CREDENTIALS_KEY, bound to the key name so a blob cannot be
// swapped between sessions; values sealed before the format was versioned still open. A SET replaces the
// whole value atomically, so a reader sees the old or the new set, never a mix.
import type { Redis } from 'ioredis';
import { isCryptoError, seal, unseal, utf8 } from '../crypto/index.ts';
import type { Credentials } from '../machines/index.ts';
import {
  type CredentialCodec,
  CredentialError,
  type CredentialStore,
  LEGACY_CREDENTIAL_CODEC,
} from './credential-store.ts';

export const CREDENTIALS_KEY_ENV = 'WALINK_CREDENTIALS_KEY';

export function credentialsKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const text = env[CREDENTIALS_KEY_ENV];
  if (!text)
    throw new CredentialError(
      'NO_KEY',
      `${CREDENTIALS_KEY_ENV} is not set: export ${CREDENTIALS_KEY_ENV}=$(openssl rand -base64 32)`,
    );
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32)
    throw new CredentialError('NO_KEY', `${CREDENTIALS_KEY_ENV} must be 32 bytes in base64`);
  return key;
}

export interface RedisCredentialStoreOptions<T> {
  /** Before the session name in the Redis key (default `walink:credentials:`). */
  prefix?: string;
  /** Which protocol's record the value holds (default legacy; MD_CREDENTIAL_CODEC for MD sessions). */
  codec?: CredentialCodec<T>;
}

/** One sealed value per session; the codec says which protocol's record it holds (legacy by default). */
export class RedisCredentialStore<T = Credentials> implements CredentialStore<T> {
  readonly location: string;
  private readonly key: string;
  private readonly codec: CredentialCodec<T>;

  /** `options` is the key prefix (a string), or `{ prefix?, codec? }`. */
  constructor(
    private readonly redis: Redis,
    sessionName: string,
    private readonly sealingKey: Uint8Array,
    options: string | RedisCredentialStoreOptions<T> = {},
    codec?: CredentialCodec<T>,
  ) {
    if (sealingKey.length !== 32) throw new CredentialError('NO_KEY', 'the sealing key must be 32 bytes');
    const { prefix = 'walink:credentials:', codec: given } =
      typeof options === 'string' ? { prefix: options } : options;
    this.codec = codec ?? given ?? (LEGACY_CREDENTIAL_CODEC as unknown as CredentialCodec<T>);
    this.key = `${prefix}${sessionName}`;
    this.location = `redis key ${this.key}`;
  }

  async load(): Promise<T | null> {
    const sealed = await this.call(() => this.redis.getBuffer(this.key));
    if (sealed === null) return null;
    let text: string;
    try {
      text = new TextDecoder().decode(unseal(this.sealingKey, sealed, utf8(this.key)));
    } catch (error) {
      if (isCryptoError(error) && error.code === 'BAD_LENGTH')
        throw new CredentialError('CORRUPT', `${this.location} is too short`);
      throw new CredentialError(
        'NO_KEY',
        `${this.location} cannot be opened: another ${CREDENTIALS_KEY_ENV} sealed it, or it was altered`,
      );
    }
    return this.codec.parse(text, this.location);
  }

  async save(credentials: T): Promise<void> {
    const sealed = seal(this.sealingKey, utf8(this.codec.serialize(credentials)), utf8(this.key));
    await this.call(() => this.redis.set(this.key, Buffer.from(sealed)));
  }

  async clear(): Promise<void> {
    await this.call(() => this.redis.del(this.key));
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new CredentialError('IO', `${this.location}: ${(error as Error).message}`);
    }
  }
}
