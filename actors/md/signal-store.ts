// The MD session's persistent state over a CredentialStore (file or Redis, docs/modules.md "The MD
// credential file"): the credentials, the Signal key store the adapter (crypto/md/signal.ts) reads and
// writes, and the app-state keys. Everything lives in one record saved whole, so a crash leaves the old
// or the new state, never half of one. Writes go through at once (each call resolves when durable) and are
// grouped: changes made while a save is under way, or inside batch(), share the next save.
import type { X25519KeyPair } from '../../crypto/index.ts';
import type { SignalKeyStore, SignalPreKey, SignalSignedPreKey } from '../../crypto/md/index.ts';
import type { CredentialStore } from '../credential-store.ts';
import {
  copyKeyPair,
  generatePreKeys,
  MAX_PRE_KEY_ID,
  type MdAppStateKey,
  type MdCredentialRecord,
  type MdCredentials,
  newMdCredentialRecord,
} from './md-credentials.ts';

export interface MdDeviceStoreOptions {
  /** Fresh credentials when the store is empty (default generateMdCredentials()). */
  create?: () => MdCredentials;
  /**
   * A save failed. The change stays pending and the next save retries it; callers awaiting that save
   * see the CredentialError too. For logs: the error never carries the record.
   */
  onWriteError?: (error: unknown) => void;
}

function keyIdText(keyId: Uint8Array): string {
  return Buffer.from(keyId).toString('base64');
}

function copyCredentials(c: MdCredentials): MdCredentials {
  return {
    ...c,
    noiseKey: copyKeyPair(c.noiseKey),
    identityKey: copyKeyPair(c.identityKey),
    signedPreKey: {
      keyId: c.signedPreKey.keyId,
      keyPair: copyKeyPair(c.signedPreKey.keyPair),
      signature: c.signedPreKey.signature.slice(),
    },
    advSecret: c.advSecret.slice(),
    me: c.me ? { ...c.me } : null,
    account: c.account ? c.account.slice() : null,
  };
}

/**
 * One MD session's keys, loaded once and kept in memory; every change is saved to the store. Open it
 * with MdDeviceStore.open(store). `signal` is the SignalKeyStore to decrypt with, `appState` the app-state
 * sync keys.
 */
export class MdDeviceStore {
  readonly signal: MdSignalStore;
  readonly appState: AppStateKeyStore;
  /** Saves made (for tests and stats). */
  saves = 0;

  private dirty = false;
  private depth = 0;
  private cleared = false;
  private writing: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  private constructor(
    private readonly store: CredentialStore<MdCredentialRecord>,
    private record: MdCredentialRecord,
    private readonly onWriteError: (error: unknown) => void,
  ) {
    this.signal = new MdSignalStore(this);
    this.appState = new AppStateKeyStore(this);
  }

  /** Loads the record, or creates fresh unpaired credentials and saves them before resolving. */
  static async open(
    store: CredentialStore<MdCredentialRecord>,
    options: MdDeviceStoreOptions = {},
  ): Promise<MdDeviceStore> {
    const loaded = await store.load();
    const device = new MdDeviceStore(
      store,
      loaded ?? newMdCredentialRecord(options.create?.()),
      options.onWriteError ?? (() => undefined),
    );
    if (!loaded) await device.touch();
    return device;
  }

  /** Where the record lives, for messages. */
  get location(): string {
    return this.store.location;
  }

  /** A copy of the current credentials. */
  get credentials(): MdCredentials {
    return copyCredentials(this.record.credentials);
  }

  /** Replaces the credentials (pair-success, the LID at login, pre-key counters); resolves when durable. */
  saveCredentials(credentials: MdCredentials): Promise<void> {
    this.record.credentials = copyCredentials(credentials);
    return this.touch();
  }

  /**
   * Runs `task` with saves held back, then saves once: a burst of messages, or a decrypt that both
   * stores a session and removes a pre-key, costs one write. Resolves with the task's result once that
   * write is durable; a failed write rejects (the change stays pending for the next save).
   */
  async batch<T>(task: () => Promise<T>): Promise<T> {
    this.depth += 1;
    let result: T;
    try {
      result = await task();
    } finally {
      this.depth -= 1;
    }
    await this.flush();
    return result;
  }

  /** Resolves when every change made so far is durable. */
  flush(): Promise<void> {
    if (!this.dirty || this.cleared) return this.writing ?? Promise.resolve();
    if (this.next) return this.next;
    const previous = this.writing ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.write();
      });
    this.next = run;
    return run;
  }

  /** Forgets everything: the stored record is deleted, and later changes are not saved (logout). */
  async clear(): Promise<void> {
    this.cleared = true;
    this.dirty = false;
    await (this.next ?? this.writing)?.catch(() => undefined);
    await this.store.clear();
  }

  /** @internal The record the views read and change; call touch() after changing it. */
  get state(): MdCredentialRecord {
    return this.record;
  }

  /** @internal A change was made: save now (or at the end of the batch). */
  touch(): Promise<void> {
    if (this.cleared) return Promise.resolve();
    this.dirty = true;
    return this.depth > 0 ? Promise.resolve() : this.flush();
  }

  private write(): Promise<void> {
    if (this.cleared || !this.dirty) return Promise.resolve();
    this.dirty = false;
    this.saves += 1;
    // The store serializes the record synchronously inside save(): what is written is this moment's state.
    const run = this.store.save(this.record).catch((error: unknown) => {
      this.dirty = true;
      this.onWriteError(error);
      throw error;
    });
    const tracked = run.finally(() => {
      if (this.writing === tracked) this.writing = null;
    });
    this.writing = tracked;
    tracked.catch(() => undefined);
    return run;
  }
}

/** The SignalKeyStore over the device record (crypto/md/signal.ts reads and writes through it). */
export class MdSignalStore implements SignalKeyStore {
  constructor(private readonly device: MdDeviceStore) {}

  batch<T>(task: () => Promise<T>): Promise<T> {
    return this.device.batch(task);
  }

  async registrationId(): Promise<number> {
    return this.device.state.credentials.registrationId;
  }

  async identityKeyPair(): Promise<X25519KeyPair> {
    return this.device.state.credentials.identityKey;
  }

  async signedPreKey(keyId: number): Promise<SignalSignedPreKey | null> {
    const signed = this.device.state.credentials.signedPreKey;
    return signed.keyId === keyId ? signed : null;
  }

  async preKey(keyId: number): Promise<SignalPreKey | null> {
    return this.device.state.signal.preKeys.find((key) => key.keyId === keyId) ?? null;
  }

  /** A used one-time pre-key is gone for good, durably, before the decrypt that used it returns. */
  removePreKey(keyId: number): Promise<void> {
    const keys = this.device.state.signal.preKeys;
    const index = keys.findIndex((key) => key.keyId === keyId);
    if (index < 0) return Promise.resolve();
    keys.splice(index, 1);
    return this.device.touch();
  }

  async loadSession(address: string): Promise<string | null> {
    return this.device.state.signal.sessions[address] ?? null;
  }

  storeSession(address: string, session: string): Promise<void> {
    this.device.state.signal.sessions[address] = session;
    return this.device.touch();
  }

  /** Drops a device's session (it was unlinked, or its messages no longer decrypt). */
  deleteSession(address: string): Promise<void> {
    const { sessions } = this.device.state.signal;
    if (!(address in sessions)) return Promise.resolve();
    delete sessions[address];
    return this.device.touch();
  }

  /**
   * Every identity is trusted, as WhatsApp clients do (the server vouches for devices); the one a device
   * presents when it opens a session (`name.device`) is recorded, the latest one winning.
   */
  async isTrustedIdentity(address: string, identityKey: Uint8Array): Promise<boolean> {
    if (address.includes('.')) {
      const known = this.device.state.signal.identities[address];
      if (!known || Buffer.compare(Buffer.from(known), Buffer.from(identityKey)) !== 0) {
        this.device.state.signal.identities[address] = identityKey.slice();
        await this.device.touch();
      }
    }
    return true;
  }

  /** Records a device's identity (the primary's `accountSignatureKey` at pair-success, §15). */
  saveIdentity(address: string, identityKey: Uint8Array): Promise<void> {
    this.device.state.signal.identities[address] = identityKey.slice();
    return this.device.touch();
  }

  identity(address: string): Uint8Array | null {
    return this.device.state.signal.identities[address]?.slice() ?? null;
  }

  /** The one-time pre-keys held (uploaded or not). */
  get preKeyCount(): number {
    return this.device.state.signal.preKeys.length;
  }

  /**
   * The pre-keys for an upload of `count` (§9): those made for an upload the server never confirmed
   * (ids from firstUnuploadedPreKeyId) first, then new ones. New keys are durable before this resolves,
   * so a key the server hands out is always one the companion still has.
   */
  async preKeysForUpload(count: number): Promise<SignalPreKey[]> {
    const c = this.device.state.credentials;
    const keys = this.device.state.signal.preKeys;
    const pending = keys.filter((key) => isBetween(key.keyId, c.firstUnuploadedPreKeyId, c.nextPreKeyId));
    const fresh = generatePreKeys(c.nextPreKeyId, Math.max(0, count - pending.length));
    if (fresh.length > 0) {
      keys.push(...fresh);
      c.nextPreKeyId = ((c.nextPreKeyId - 1 + fresh.length) % MAX_PRE_KEY_ID) + 1;
      await this.device.touch();
    }
    return [...pending, ...fresh].slice(0, Math.max(count, 0));
  }

  /** The server took the upload: every key made so far has been uploaded. */
  markPreKeysUploaded(): Promise<void> {
    const c = this.device.state.credentials;
    if (c.firstUnuploadedPreKeyId === c.nextPreKeyId) return Promise.resolve();
    c.firstUnuploadedPreKeyId = c.nextPreKeyId;
    return this.device.touch();
  }
}

/** `id` in [from, to) on the 1..MAX_PRE_KEY_ID circle. */
function isBetween(id: number, from: number, to: number): boolean {
  return from <= to ? id >= from && id < to : id >= from || id < to;
}

/** The app-state sync keys the primary shared (§13), by key id. */
export class AppStateKeyStore {
  constructor(private readonly device: MdDeviceStore) {}

  /** Adds or replaces keys (an app-state key share); resolves when durable. */
  put(keys: readonly MdAppStateKey[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const stored = this.device.state.appStateKeys;
    for (const key of keys) {
      const id = keyIdText(key.keyId);
      const copy: MdAppStateKey = {
        keyId: key.keyId.slice(),
        keyData: key.keyData.slice(),
        ...(key.fingerprint
          ? {
              fingerprint: {
                ...key.fingerprint,
                ...(key.fingerprint.deviceIndexes
                  ? { deviceIndexes: [...key.fingerprint.deviceIndexes] }
                  : {}),
              },
            }
          : {}),
        ...(key.timestamp !== undefined ? { timestamp: key.timestamp } : {}),
      };
      const at = stored.findIndex((k) => keyIdText(k.keyId) === id);
      if (at >= 0) stored[at] = copy;
      else stored.push(copy);
    }
    return this.device.touch();
  }

  get(keyId: Uint8Array): MdAppStateKey | null {
    const id = keyIdText(keyId);
    return this.device.state.appStateKeys.find((k) => keyIdText(k.keyId) === id) ?? null;
  }

  /** The newest key (by timestamp), what an app-state sync encrypts with. */
  latest(): MdAppStateKey | null {
    let best: MdAppStateKey | null = null;
    for (const key of this.device.state.appStateKeys)
      if (!best || (key.timestamp ?? 0) > (best.timestamp ?? 0)) best = key;
    return best;
  }

  get size(): number {
    return this.device.state.appStateKeys.length;
  }
}
