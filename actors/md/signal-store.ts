// The MD session's persistent state over a CredentialStore (file or Redis, docs/modules.md "The MD
// credential file"): the credentials, the Signal key store the adapter (crypto/md/signal.ts) reads and
// writes, and the app-state keys. Everything lives in one record saved whole, so a crash leaves the old
// or the new state, never half of one. Writes go through at once (each call resolves when durable) and are
// grouped: changes made while a save is under way, or inside batch(), share the next save.
import { type md, md as mdCodec } from '../../codec/index.ts';
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

/** `user.0` and the account signature key of a paired device's account, when it has both. */
function primaryIdentity(credentials: MdCredentials): { address: string; key: Uint8Array } | null {
  if (!credentials.account || !credentials.me) return null;
  let key: Uint8Array | undefined;
  try {
    key = mdCodec.decodeAdvSignedDeviceIdentity(credentials.account).accountSignatureKey;
  } catch {
    return null;
  }
  const user = mdCodec.tryParseMdJid(credentials.me.jid)?.user;
  if (!user || key?.length !== 32) return null;
  return { address: `${user}.0`, key };
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
   * The machine's storeDevice at pair-success (§15): the paired credentials and, from the account's
   * ADVSignedDeviceIdentity, the primary's identity key as the Signal identity of device 0 of the account.
   * One save, durable when this resolves: a device is never half stored.
   */
  storeDevice(credentials: MdCredentials): Promise<void> {
    return this.batch(async () => {
      await this.saveCredentials(credentials);
      const primary = primaryIdentity(credentials);
      if (primary) await this.signal.saveIdentity(primary.address, primary.key);
    });
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

  /** A group sender's key record (`group::name.device`), as crypto/md's serializeSenderKeyRecord wrote it. */
  loadSenderKey(name: string): string | null {
    return this.device.state.signal.senderKeys[name] ?? null;
  }

  storeSenderKey(name: string, record: string): Promise<void> {
    this.device.state.signal.senderKeys[name] = record;
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
   * The one-time pre-keys for an upload (§9): `count` keys with ids from `firstId` on (the machine's
   * `send.preKeyUpload {count, firstId}`, from credentials.nextPreKeyId). Keys already made for those ids (an
   * upload the server never confirmed) are offered again; the others are made and are durable before this
   * resolves, so a key the server hands out is always one the companion still has. The machine advances
   * the counters in the credentials once the server has taken them.
   */
  async preKeysForUpload(firstId: number, count: number): Promise<SignalPreKey[]>;
  /** `count` keys from credentials.nextPreKeyId on (the machine's firstId). */
  async preKeysForUpload(count: number): Promise<SignalPreKey[]>;
  async preKeysForUpload(first: number, second?: number): Promise<SignalPreKey[]> {
    const firstId = second === undefined ? this.device.state.credentials.nextPreKeyId : first;
    const count = second === undefined ? first : second;
    const keys = this.device.state.signal.preKeys;
    const out: SignalPreKey[] = [];
    let made = false;
    for (const fresh of generateIds(firstId, count)) {
      let key = keys.find((k) => k.keyId === fresh);
      if (!key) {
        key = generatePreKeys(fresh, 1)[0]!;
        keys.push(key);
        made = true;
      }
      out.push(key);
    }
    if (made) await this.device.touch();
    return out;
  }
}

/** `count` consecutive ids from `first` on the 1..MAX_PRE_KEY_ID circle. */
function generateIds(first: number, count: number): number[] {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PRE_KEY_ID)
    throw new RangeError(`a pre-key id is 1..${MAX_PRE_KEY_ID}`);
  if (!Number.isInteger(count) || count < 0 || count > 1000)
    throw new RangeError('an upload is 0..1000 pre-keys');
  return Array.from({ length: count }, (_, i) => ((first - 1 + i) % MAX_PRE_KEY_ID) + 1);
}

function toStoredKey(key: md.AppStateSyncKey | MdAppStateKey): MdAppStateKey | null {
  const flat = key.keyId instanceof Uint8Array;
  const keyId = flat ? (key as MdAppStateKey).keyId : (key as md.AppStateSyncKey).keyId?.keyId;
  const data = flat ? (key as MdAppStateKey) : (key as md.AppStateSyncKey).keyData;
  const keyData = data?.keyData;
  if (!keyId || keyId.length === 0 || !(keyData instanceof Uint8Array) || keyData.length === 0) return null;
  const f = data?.fingerprint;
  return {
    keyId: keyId.slice(),
    keyData: keyData.slice(),
    ...(f
      ? {
          fingerprint: {
            ...(f.rawId !== undefined ? { rawId: f.rawId } : {}),
            ...(f.currentIndex !== undefined ? { currentIndex: f.currentIndex } : {}),
            ...(f.deviceIndexes !== undefined ? { deviceIndexes: [...f.deviceIndexes] } : {}),
          },
        }
      : {}),
    ...(data?.timestamp !== undefined ? { timestamp: data.timestamp } : {}),
  };
}

/** The app-state sync keys the primary shared (§13), by key id. */
export class AppStateKeyStore {
  constructor(private readonly device: MdDeviceStore) {}

  /**
   * Adds or replaces keys (an app-state key share, codec/md's AppStateSyncKey as the machine's
   * storeAppStateKeys passes them, or MdAppStateKey); keys without an id or data are skipped. Resolves when
   * durable.
   */
  put(keys: readonly (md.AppStateSyncKey | MdAppStateKey)[]): Promise<void> {
    const stored = this.device.state.appStateKeys;
    let changed = false;
    for (const key of keys) {
      const copy = toStoredKey(key);
      if (!copy) continue;
      const id = keyIdText(copy.keyId);
      const at = stored.findIndex((k) => keyIdText(k.keyId) === id);
      if (at >= 0) stored[at] = copy;
      else stored.push(copy);
      changed = true;
    }
    return changed ? this.device.touch() : Promise.resolve();
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
