// The Signal protocol for multi-device messages, through npm `libsignal` (the WhiskeySockets fork that
// WhatsApp MD clients use; docs/protocol-md.md "Messages"). This module adapts it to walink: plain bytes and
// raw 32-byte keys in, typed CryptoErrors out, and the key material behind an injected SignalKeyStore, so
// the module itself does no I/O. The persistent store adapter belongs with the credential stores (actors/).
import libsignal from 'libsignal';
import { randomBytes, requireLength } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import type { X25519KeyPair } from '../x25519.ts';
import { xeddsaVerify } from './xeddsa.ts';

const KEY_TYPE_DJB = 0x05;

export interface SignalAddress {
  /** The user part of the JID (no dots), e.g. `15557654321`. */
  name: string;
  deviceId: number;
}

export interface SignalPreKey {
  keyId: number;
  keyPair: X25519KeyPair;
}

export interface SignalSignedPreKey extends SignalPreKey {
  /** XEdDSA by the identity key over `05 ‖ public key`. */
  signature: Uint8Array;
}

/**
 * Everything the protocol reads and writes. Keys are raw 32-byte X25519 keys; a session is an opaque JSON
 * string that must be persisted as-is (it is secret).
 */
export interface SignalKeyStore {
  registrationId(): Promise<number>;
  identityKeyPair(): Promise<X25519KeyPair>;
  signedPreKey(keyId: number): Promise<SignalSignedPreKey | null>;
  preKey(keyId: number): Promise<SignalPreKey | null>;
  /** Called once a one-time pre-key has opened a session: it must never open another. */
  removePreKey(keyId: number): Promise<void>;
  loadSession(address: string): Promise<string | null>;
  storeSession(address: string, session: string): Promise<void>;
  /** Defaults to trusting every identity (what WhatsApp clients do; the server vouches for devices). */
  isTrustedIdentity?(address: string, identityKey: Uint8Array): Promise<boolean>;
}

export interface SignalPreKeyBundle {
  registrationId: number;
  identityKey: Uint8Array;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  preKey?: { keyId: number; publicKey: Uint8Array };
}

export type SignalMessageType = 'pkmsg' | 'msg';

export interface SignalCiphertext {
  type: SignalMessageType;
  body: Uint8Array;
}

/** `05 ‖ key`: libsignal's form of a public key. */
export function djbPublicKey(publicKey: Uint8Array): Buffer {
  requireLength('Curve25519 public key', publicKey, 32);
  const out = Buffer.alloc(33);
  out[0] = KEY_TYPE_DJB;
  out.set(publicKey, 1);
  return out;
}

function rawPublicKey(key: Uint8Array): Uint8Array {
  return key.length === 33 && key[0] === KEY_TYPE_DJB ? key.slice(1) : key.slice();
}

function libsignalKeyPair(pair: X25519KeyPair): { privKey: Buffer; pubKey: Buffer } {
  return { privKey: Buffer.from(pair.privateKey), pubKey: djbPublicKey(pair.publicKey) };
}

function protocolAddress(address: SignalAddress): libsignal.ProtocolAddress {
  if (
    !address ||
    typeof address.name !== 'string' ||
    address.name.length === 0 ||
    address.name.includes('.')
  ) {
    throw new CryptoError('SIGNAL_BAD_MESSAGE', 'a Signal address name is a non-empty string without dots');
  }
  if (!Number.isInteger(address.deviceId) || address.deviceId < 0) {
    throw new CryptoError('SIGNAL_BAD_MESSAGE', 'a Signal device id is a non-negative integer');
  }
  return new libsignal.ProtocolAddress(address.name, address.deviceId);
}

/** The library's storage interface over ours. */
function libsignalStorage(store: SignalKeyStore): libsignal.SignalStorage {
  return {
    async loadSession(id: string) {
      const json = await store.loadSession(id);
      return json ? libsignal.SessionRecord.deserialize(JSON.parse(json)) : undefined;
    },
    async storeSession(id: string, record: libsignal.SessionRecord) {
      await store.storeSession(id, JSON.stringify(record.serialize()));
    },
    async isTrustedIdentity(id: string, identityKey: Uint8Array) {
      return store.isTrustedIdentity ? store.isTrustedIdentity(id, rawPublicKey(identityKey)) : true;
    },
    async loadPreKey(id: number | string) {
      const preKey = await store.preKey(Number(id));
      return preKey ? libsignalKeyPair(preKey.keyPair) : undefined;
    },
    async removePreKey(id: number) {
      await store.removePreKey(Number(id));
    },
    // The typings omit the key id the library passes.
    async loadSignedPreKey(id?: number) {
      const signed = await store.signedPreKey(Number(id));
      return signed ? libsignalKeyPair(signed.keyPair) : undefined;
    },
    async getOurRegistrationId() {
      return store.registrationId();
    },
    async getOurIdentity() {
      return libsignalKeyPair(await store.identityKeyPair());
    },
  } as unknown as libsignal.SignalStorage;
}

/** The library's errors, and the untyped ones its parsers throw, as CryptoErrors. */
function typed(error: unknown): CryptoError {
  if (error instanceof CryptoError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  switch (name) {
    case 'PreKeyError':
      return new CryptoError('SIGNAL_PREKEY', `Signal pre-key: ${message}`);
    case 'MessageCounterError':
      return new CryptoError('SIGNAL_DUPLICATE', `Signal message key already used: ${message}`);
    case 'UntrustedIdentityKeyError':
      return new CryptoError('SIGNAL_UNTRUSTED_IDENTITY', 'Signal identity key not trusted');
    case 'SessionError':
      return new CryptoError('SIGNAL_NO_SESSION', `Signal session: ${message}`);
    default:
      return new CryptoError('SIGNAL_BAD_MESSAGE', `Signal message rejected: ${message}`);
  }
}

// libsignal prints whole session objects, private keys included, from a few synchronous SessionRecord
// methods (console.info "Closing session:", …). Secrets never reach a log: those calls run with console
// muted. They are synchronous, so nothing else can print in between.
const noisyMethods = ['closeSession', 'openSession', 'removeOldSessions'] as const;
const recordPrototype = libsignal.SessionRecord.prototype as unknown as Record<string, unknown>;
for (const method of noisyMethods) {
  const original = recordPrototype[method] as (...args: unknown[]) => unknown;
  if (typeof original !== 'function') continue;
  recordPrototype[method] = function muted(this: unknown, ...args: unknown[]) {
    const { info, warn } = console;
    console.info = () => {};
    console.warn = () => {};
    try {
      return original.apply(this, args);
    } finally {
      console.info = info;
      console.warn = warn;
    }
  };
}

/**
 * Decrypts a `pkmsg` (PreKeyWhisperMessage, opening a session and consuming its one-time pre-key) or a
 * `msg` (WhisperMessage on an existing session). Returns the padded plaintext (see unpadMessage).
 */
export async function signalDecrypt(
  store: SignalKeyStore,
  from: SignalAddress,
  type: SignalMessageType,
  body: Uint8Array,
): Promise<Uint8Array> {
  const cipher = new libsignal.SessionCipher(libsignalStorage(store), protocolAddress(from));
  if (!(body instanceof Uint8Array) || body.length === 0) {
    throw new CryptoError('SIGNAL_BAD_MESSAGE', 'an empty Signal message');
  }
  try {
    const bytes = Buffer.from(body);
    const plaintext =
      type === 'pkmsg'
        ? await cipher.decryptPreKeyWhisperMessage(bytes)
        : type === 'msg'
          ? await cipher.decryptWhisperMessage(bytes)
          : (() => {
              throw new CryptoError('SIGNAL_BAD_MESSAGE', `unknown Signal message type ${String(type)}`);
            })();
    return new Uint8Array(plaintext);
  } catch (error) {
    throw typed(error);
  }
}

/** Encrypts on the open session with `to`: a `pkmsg` until the peer has answered, then `msg`. */
export async function signalEncrypt(
  store: SignalKeyStore,
  to: SignalAddress,
  plaintext: Uint8Array,
): Promise<SignalCiphertext> {
  const cipher = new libsignal.SessionCipher(libsignalStorage(store), protocolAddress(to));
  try {
    const { type, body } = await cipher.encrypt(Buffer.from(plaintext));
    return { type: type === 3 ? 'pkmsg' : 'msg', body: new Uint8Array(Buffer.from(body as never)) };
  } catch (error) {
    throw typed(error);
  }
}

/**
 * Starts an outgoing session from a pre-key bundle. The signed pre-key signature is verified here:
 * libsignal's initOutgoing skips that check.
 */
export async function signalStartSession(
  store: SignalKeyStore,
  to: SignalAddress,
  bundle: SignalPreKeyBundle,
): Promise<void> {
  const identityKey = rawPublicKey(bundle.identityKey);
  const signedPreKey = rawPublicKey(bundle.signedPreKey.publicKey);
  requireLength('bundle identity key', identityKey, 32);
  requireLength('bundle signed pre-key', signedPreKey, 32);
  if (!xeddsaVerify(identityKey, djbPublicKey(signedPreKey), bundle.signedPreKey.signature)) {
    throw new CryptoError('SIGNAL_PREKEY', 'the signed pre-key signature does not verify');
  }
  const builder = new libsignal.SessionBuilder(libsignalStorage(store), protocolAddress(to));
  try {
    await builder.initOutgoing({
      registrationId: bundle.registrationId,
      identityKey: djbPublicKey(identityKey),
      signedPreKey: {
        keyId: bundle.signedPreKey.keyId,
        publicKey: djbPublicKey(signedPreKey),
        signature: Buffer.from(bundle.signedPreKey.signature),
      },
      ...(bundle.preKey
        ? {
            preKey: {
              keyId: bundle.preKey.keyId,
              publicKey: djbPublicKey(rawPublicKey(bundle.preKey.publicKey)),
            },
          }
        : {}),
    } as never);
  } catch (error) {
    throw typed(error);
  }
}

/**
 * WhatsApp pads a Message protobuf with n bytes of value n (1..16) before Signal encryption; this strips
 * them. CryptoError BAD_PADDING when the last byte does not describe a padding.
 */
export function unpadMessage(padded: Uint8Array): Uint8Array {
  const n = padded.length > 0 ? padded[padded.length - 1]! : 0;
  if (n === 0 || n > padded.length) throw new CryptoError('BAD_PADDING', 'no message padding');
  for (let i = padded.length - n; i < padded.length; i++) {
    if (padded[i] !== n) throw new CryptoError('BAD_PADDING', 'inconsistent message padding');
  }
  return padded.slice(0, padded.length - n);
}

/** Pads with 1..16 bytes of value n; `n` is random unless given (tests). */
export function padMessage(message: Uint8Array, n = 1 + (randomBytes(1)[0]! % 16)): Uint8Array {
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new CryptoError('BAD_PADDING', 'padding is 1..16 bytes');
  const out = new Uint8Array(message.length + n);
  out.set(message, 0);
  out.fill(n, message.length);
  return out;
}

/** A store in memory: tests and the emulator's short-lived parties. */
export class MemorySignalKeyStore implements SignalKeyStore {
  readonly sessions = new Map<string, string>();
  readonly preKeys = new Map<number, SignalPreKey>();
  readonly signedPreKeys = new Map<number, SignalSignedPreKey>();

  constructor(
    private readonly identity: { registrationId: number; identityKeyPair: X25519KeyPair },
    keys: { signedPreKeys?: SignalSignedPreKey[]; preKeys?: SignalPreKey[] } = {},
  ) {
    for (const key of keys.signedPreKeys ?? []) this.signedPreKeys.set(key.keyId, key);
    for (const key of keys.preKeys ?? []) this.preKeys.set(key.keyId, key);
  }

  async registrationId(): Promise<number> {
    return this.identity.registrationId;
  }
  async identityKeyPair(): Promise<X25519KeyPair> {
    return this.identity.identityKeyPair;
  }
  async signedPreKey(keyId: number): Promise<SignalSignedPreKey | null> {
    return this.signedPreKeys.get(keyId) ?? null;
  }
  async preKey(keyId: number): Promise<SignalPreKey | null> {
    return this.preKeys.get(keyId) ?? null;
  }
  async removePreKey(keyId: number): Promise<void> {
    this.preKeys.delete(keyId);
  }
  async loadSession(address: string): Promise<string | null> {
    return this.sessions.get(address) ?? null;
  }
  async storeSession(address: string, session: string): Promise<void> {
    this.sessions.set(address, session);
  }
}
