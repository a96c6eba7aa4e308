// Noise XX as WhatsApp multi-device runs it (docs/protocol-md.md "Noise handshake"): the 32-byte protocol
// name used as-is for h = ck = k, the 4-byte connection header as prologue, MixKey = HKDF-SHA256(salt = ck,
// 64 bytes), AES-256-GCM with IV = 8 zero bytes ‖ u32be(n) and n reset by every MixKey, then Split.
import { createHash } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, GCM_TAG_LENGTH } from '../aes-gcm.ts';
import { CryptoError } from '../errors.ts';
import { hkdf } from '../hkdf.ts';
import { type X25519KeyPair, x25519KeyPair, x25519SharedSecret } from '../x25519.ts';

export const NOISE_XX_PROTOCOL_NAME: Uint8Array = new TextEncoder().encode(
  'Noise_XX_25519_AESGCM_SHA256\0\0\0\0',
);
export const KEY_LENGTH = 32;
const EMPTY = new Uint8Array(0);
const MAX_NONCE = 0xffffffff;

export type NoiseKeyPair = X25519KeyPair;

/** IV = 8 zero bytes ‖ u32be(counter). */
export function noiseIv(counter: number): Uint8Array {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setUint32(8, counter);
  return iv;
}

/**
 * The symmetric half of a Noise handshake (h, ck, k, n). The role objects below drive it; it is exported for
 * tests and for the rare caller that needs the raw operations.
 */
export class NoiseSymmetricState {
  #h: Uint8Array;
  #ck: Uint8Array;
  #k: Uint8Array;
  #n = 0;

  constructor(prologue: Uint8Array, protocolName: Uint8Array = NOISE_XX_PROTOCOL_NAME) {
    // A name of exactly 32 bytes is used as-is; only a longer one would be hashed (not needed for XX).
    const initial = protocolName.length === 32 ? protocolName : sha256(protocolName);
    this.#h = initial.slice();
    this.#ck = initial.slice();
    this.#k = initial.slice();
    this.mixHash(prologue);
  }

  /** The handshake hash so far (a copy). */
  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  mixHash(data: Uint8Array): void {
    this.#h = sha256(this.#h, data);
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const okm = hkdf(inputKeyMaterial, this.#ck, EMPTY, 64);
    this.#ck = okm.slice(0, 32);
    this.#k = okm.slice(32, 64);
    this.#n = 0;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = aesGcmSeal(this.#k, noiseIv(this.#nextNonce()), plaintext, this.#h);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** CryptoError BAD_TAG on a forged or corrupted ciphertext; h and n are then left unchanged. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = aesGcmOpen(this.#k, noiseIv(this.#n), ciphertext, this.#h);
    this.#n++;
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** [first, second]: the initiator writes with the first, the responder with the second. */
  split(): [Uint8Array, Uint8Array] {
    const okm = hkdf(EMPTY, this.#ck, EMPTY, 64);
    return [okm.slice(0, 32), okm.slice(32, 64)];
  }

  #nextNonce(): number {
    if (this.#n > MAX_NONCE) throw new CryptoError('COUNTER_EXHAUSTED', 'Noise handshake nonce exhausted');
    return this.#n++;
  }
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function requireBytes(what: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw new CryptoError('BAD_LENGTH', `${what} must be ${length ?? 'some'} bytes, got ${got}`);
  }
  return value;
}

/** The server's fields of ServerHello, and the client's of ClientFinish, before protobuf wrapping. */
export interface ServerHelloFields {
  ephemeral: Uint8Array;
  static: Uint8Array;
  payload: Uint8Array;
}
export interface ClientFinishFields {
  static: Uint8Array;
  payload: Uint8Array;
}

export interface NoiseRoleOptions {
  /** The 4-byte connection header `WA 06 0N` (never the edge-routing pre-intro). */
  prologue: Uint8Array;
  /** The long-term Noise static key. */
  staticKeyPair: NoiseKeyPair;
  /** Fresh per connection; generated when absent (tests pass fixed ones). */
  ephemeralKeyPair?: NoiseKeyPair;
}

type Step = 'hello' | 'serverHello' | 'finish' | 'split' | 'done' | 'failed';

abstract class NoiseRole {
  protected readonly state: NoiseSymmetricState;
  protected readonly ephemeral: NoiseKeyPair;
  protected readonly static: NoiseKeyPair;
  #step: Step = 'hello';

  constructor(options: NoiseRoleOptions) {
    requireBytes('Noise prologue', options.prologue);
    requireBytes('Noise static private key', options.staticKeyPair?.privateKey, KEY_LENGTH);
    requireBytes('Noise static public key', options.staticKeyPair?.publicKey, KEY_LENGTH);
    this.ephemeral = options.ephemeralKeyPair ?? x25519KeyPair();
    requireBytes('Noise ephemeral private key', this.ephemeral.privateKey, KEY_LENGTH);
    requireBytes('Noise ephemeral public key', this.ephemeral.publicKey, KEY_LENGTH);
    this.static = options.staticKeyPair;
    this.state = new NoiseSymmetricState(options.prologue);
  }

  get handshakeHash(): Uint8Array {
    return this.state.handshakeHash;
  }

  /** Runs one step in order; any failure inside it leaves the handshake failed for good. */
  protected step<T>(expected: Step, next: Step, run: () => T): T {
    if (this.#step !== expected) {
      throw new CryptoError(
        'NOISE_STATE',
        `Noise step out of order: expected ${this.#step}, not ${expected}`,
      );
    }
    this.#step = 'failed';
    const result = run();
    this.#step = next;
    return result;
  }

  protected transport(initiator: boolean): NoiseTransport {
    return this.step('split', 'done', () => {
      const [first, second] = this.state.split();
      return initiator ? new NoiseTransport(first, second) : new NoiseTransport(second, first);
    });
  }
}

/** The client side: ClientHello → (ServerHello) → ClientFinish → transport. */
export class NoiseInitiator extends NoiseRole {
  #remoteEphemeral: Uint8Array | null = null;

  /** The ephemeral public key for ClientHello. */
  writeClientHello(): { ephemeral: Uint8Array } {
    return this.step('hello', 'serverHello', () => {
      this.state.mixHash(this.ephemeral.publicKey);
      return { ephemeral: this.ephemeral.publicKey.slice() };
    });
  }

  /** Returns the server's static key and the decrypted payload (the certificate chain, to verify next). */
  readServerHello(hello: ServerHelloFields): { serverStatic: Uint8Array; payload: Uint8Array } {
    return this.step('serverHello', 'finish', () => {
      const re = requireBytes('ServerHello ephemeral', hello?.ephemeral, KEY_LENGTH);
      requireBytes('ServerHello static', hello.static, KEY_LENGTH + GCM_TAG_LENGTH);
      requireBytes('ServerHello payload', hello.payload);
      this.#remoteEphemeral = re.slice();
      this.state.mixHash(re);
      this.state.mixKey(x25519SharedSecret(this.ephemeral.privateKey, re));
      const serverStatic = this.state.decryptAndHash(hello.static);
      this.state.mixKey(x25519SharedSecret(this.ephemeral.privateKey, serverStatic));
      const payload = this.state.decryptAndHash(hello.payload);
      return { serverStatic, payload };
    });
  }

  /** Encrypts our static key and the ClientPayload protobuf. */
  writeClientFinish(payload: Uint8Array): ClientFinishFields {
    return this.step('finish', 'split', () => {
      requireBytes('ClientPayload', payload);
      const encryptedStatic = this.state.encryptAndHash(this.static.publicKey);
      this.state.mixKey(x25519SharedSecret(this.static.privateKey, this.#remoteEphemeral!));
      return { static: encryptedStatic, payload: this.state.encryptAndHash(payload) };
    });
  }

  split(): NoiseTransport {
    return this.transport(true);
  }
}

/** The server side: (ClientHello) → ServerHello → (ClientFinish) → transport. */
export class NoiseResponder extends NoiseRole {
  #remoteEphemeral: Uint8Array | null = null;

  readClientHello(hello: { ephemeral: Uint8Array }): void {
    this.step('hello', 'serverHello', () => {
      const re = requireBytes('ClientHello ephemeral', hello?.ephemeral, KEY_LENGTH);
      this.#remoteEphemeral = re.slice();
      this.state.mixHash(re);
    });
  }

  /** `payload` is the serialized certificate chain. */
  writeServerHello(payload: Uint8Array): ServerHelloFields {
    return this.step('serverHello', 'finish', () => {
      requireBytes('ServerHello payload', payload);
      const re = this.#remoteEphemeral!;
      this.state.mixHash(this.ephemeral.publicKey);
      this.state.mixKey(x25519SharedSecret(this.ephemeral.privateKey, re));
      const encryptedStatic = this.state.encryptAndHash(this.static.publicKey);
      this.state.mixKey(x25519SharedSecret(this.static.privateKey, re));
      return {
        ephemeral: this.ephemeral.publicKey.slice(),
        static: encryptedStatic,
        payload: this.state.encryptAndHash(payload),
      };
    });
  }

  /** Returns the client's static key and its decrypted ClientPayload bytes. */
  readClientFinish(finish: ClientFinishFields): { clientStatic: Uint8Array; payload: Uint8Array } {
    return this.step('finish', 'split', () => {
      requireBytes('ClientFinish static', finish?.static, KEY_LENGTH + GCM_TAG_LENGTH);
      requireBytes('ClientFinish payload', finish.payload);
      const clientStatic = this.state.decryptAndHash(finish.static);
      this.state.mixKey(x25519SharedSecret(this.ephemeral.privateKey, clientStatic));
      return { clientStatic, payload: this.state.decryptAndHash(finish.payload) };
    });
  }

  split(): NoiseTransport {
    return this.transport(false);
  }
}

/**
 * The transport phase: AES-256-GCM, empty AAD, one counter per direction from 0 (docs/protocol-md.md
 * "Transport"). A failed open leaves the read counter where it was.
 */
export class NoiseTransport {
  readonly #writeKey: Buffer;
  readonly #readKey: Buffer;
  // One IV buffer per direction, rewritten in place: node:crypto copies it into the cipher context.
  readonly #writeIv = Buffer.alloc(12);
  readonly #readIv = Buffer.alloc(12);
  #writeCounter = 0;
  #readCounter = 0;

  constructor(writeKey: Uint8Array, readKey: Uint8Array) {
    this.#writeKey = Buffer.from(requireBytes('transport write key', writeKey, KEY_LENGTH));
    this.#readKey = Buffer.from(requireBytes('transport read key', readKey, KEY_LENGTH));
  }

  get writeCounter(): number {
    return this.#writeCounter;
  }

  get readCounter(): number {
    return this.#readCounter;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (this.#writeCounter > MAX_NONCE) throw new CryptoError('COUNTER_EXHAUSTED', 'transport write counter');
    this.#writeIv.writeUInt32BE(this.#writeCounter, 8);
    const sealed = aesGcmSeal(this.#writeKey, this.#writeIv, plaintext);
    this.#writeCounter++;
    return sealed;
  }

  /** CryptoError BAD_TAG (or BAD_LENGTH) on a frame that does not open; the counter does not move. */
  open(ciphertext: Uint8Array): Uint8Array {
    if (this.#readCounter > MAX_NONCE) throw new CryptoError('COUNTER_EXHAUSTED', 'transport read counter');
    this.#readIv.writeUInt32BE(this.#readCounter, 8);
    const plaintext = aesGcmOpen(this.#readKey, this.#readIv, ciphertext);
    this.#readCounter++;
    return plaintext;
  }
}
