// A raw multi-device client for the emulator's conformance tests, written from docs/protocol-md.md on
// walink's ground floor (crypto/, codec/md/) and libsignal (through crypto/'s adapter) for decryption.
// Deliberately not walink's companion (machines/md, actors/md): every step is spelled out here by hand, so
// the emulator is checked against the protocol, not against the product.
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { md } from '../../codec/index.ts';
import { beBytes, concatBytes, type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import {
  buildConnectionIntro,
  companionKeyBundle,
  connectionHeader,
  MemorySignalKeyStore,
  NoiseInitiator,
  type NoiseTransport,
  padMessage,
  type SignalPreKey,
  type SignalSignedPreKey,
  signalDecrypt,
  signalEncrypt,
  unpadMessage,
  unwrapPairingEphemeral,
  wrapPairingEphemeral,
  xeddsaSign,
} from '../../crypto/md/index.ts';

export const ORIGIN = 'https://web.whatsapp.com';
export const APP_VERSION = { primary: 2, secondary: 3000, tertiary: 1019707846 };
type MdNode = md.MdNode;

export interface MdClientKeys {
  noise: X25519KeyPair;
  identity: X25519KeyPair;
  signedPreKey: SignalSignedPreKey;
  registrationId: number;
  advSecret: Uint8Array;
  preKeys: SignalPreKey[];
  pairingEphemeral: X25519KeyPair;
}

/** What a companion makes before pairing (docs/protocol-md.md §15). */
export function newClientKeys(preKeyCount = 30): MdClientKeys {
  const identity = x25519KeyPair();
  const spk = x25519KeyPair();
  return {
    noise: x25519KeyPair(),
    identity,
    signedPreKey: {
      keyId: 1,
      keyPair: spk,
      signature: xeddsaSign(identity.privateKey, concatBytes(Uint8Array.of(5), spk.publicKey)),
    },
    registrationId: 1 + Math.floor(Math.random() * 16000),
    advSecret: crypto.getRandomValues(new Uint8Array(32)),
    preKeys: Array.from({ length: preKeyCount }, (_, i) => ({ keyId: i + 1, keyPair: x25519KeyPair() })),
    pairingEphemeral: x25519KeyPair(),
  };
}

const COMMON_PAYLOAD: md.ClientPayload = {
  userAgent: {
    platform: md.USER_AGENT_PLATFORM.WEB,
    appVersion: APP_VERSION,
    mcc: '000',
    mnc: '000',
    osVersion: '0.1',
    device: 'Desktop',
    osBuildNumber: '0.1',
    releaseChannel: 0,
    localeLanguageIso6391: 'en',
    localeCountryIso31661Alpha2: 'US',
  },
  webInfo: { webSubPlatform: 0 },
  connectType: 1,
  connectReason: 1,
};

/** §4.2. */
export function registrationPayload(
  keys: MdClientKeys,
  tamper: { signature?: boolean } = {},
): md.ClientPayload {
  const signature = keys.signedPreKey.signature.slice();
  if (tamper.signature) signature[5]! ^= 1;
  const version = `${APP_VERSION.primary}.${APP_VERSION.secondary}.${APP_VERSION.tertiary}`;
  return {
    ...COMMON_PAYLOAD,
    passive: false,
    pull: false,
    devicePairingData: {
      eRegid: beBytes(keys.registrationId, 4),
      eKeytype: Uint8Array.of(5),
      eIdent: keys.identity.publicKey,
      eSkeyId: beBytes(keys.signedPreKey.keyId, 3),
      eSkeyVal: keys.signedPreKey.keyPair.publicKey,
      eSkeySig: signature,
      buildHash: new Uint8Array(createHash('md5').update(version).digest()),
      deviceProps: md.encodeDeviceProps({ os: 'raw-client', platformType: 1, requireFullSync: false }),
    },
  };
}

/** §4.3. */
export function loginPayload(number: string, device: number): md.ClientPayload {
  return { ...COMMON_PAYLOAD, username: Number(number), device, passive: true, pull: true };
}

export interface ConnectOptions {
  dictVersion?: number;
  routingInfo?: Uint8Array;
  origin?: string;
  keys?: MdClientKeys;
}

export class MdRawClient {
  readonly keys: MdClientKeys;
  readonly store: MemorySignalKeyStore;
  /** Nodes not yet taken by next(). */
  readonly inbox: MdNode[] = [];
  /** Every node received, in order. */
  readonly log: MdNode[] = [];
  /** Transport frames that did not decrypt or decode (a corrupt-frame fault). */
  readonly bad: string[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly dictVersion: number;
  private readonly decoder = new md.FrameDecoder();
  private encoder: md.FrameEncoder;
  private transport: NoiseTransport | null = null;
  private handshakeFrames: Uint8Array[] = [];
  private waiters = new Set<() => void>();
  private idCounter = 0;

  private constructor(
    readonly ws: WebSocket,
    options: ConnectOptions,
  ) {
    this.keys = options.keys ?? newClientKeys();
    this.dictVersion = options.dictVersion ?? 3;
    this.encoder = new md.FrameEncoder(
      buildConnectionIntro(connectionHeader(this.dictVersion), options.routingInfo ?? null),
    );
    this.store = new MemorySignalKeyStore(
      { registrationId: this.keys.registrationId, identityKeyPair: this.keys.identity },
      { signedPreKeys: [this.keys.signedPreKey], preKeys: this.keys.preKeys },
    );
    ws.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data)));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<MdRawClient> {
    const ws = new WebSocket(url, { headers: { Origin: options.origin ?? ORIGIN } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new MdRawClient(ws, options)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  private onMessage(bytes: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(bytes);
    } catch (error) {
      this.bad.push((error as Error).message);
      this.wake();
      return;
    }
    for (const frame of frames) {
      if (!this.transport) {
        this.handshakeFrames.push(frame);
        continue;
      }
      try {
        const node = md.decodeMdNode(this.transport.open(frame), this.dictVersion as 2 | 3);
        this.inbox.push(node);
        this.log.push(node);
      } catch (error) {
        this.bad.push((error as Error).message);
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Waits until `ready` returns something (bounded). */
  private waitFor<T>(ready: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const now = ready();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (this.closed) {
          done();
          reject(new Error(`socket closed (${this.closed.code} ${this.closed.reason}) waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** The first node matching `predicate`, taken from the inbox. */
  next(
    predicate: (node: MdNode) => boolean = () => true,
    timeoutMs = 3000,
    what = 'a node',
  ): Promise<MdNode> {
    return this.waitFor(
      () => {
        const index = this.inbox.findIndex(predicate);
        return index < 0 ? undefined : this.inbox.splice(index, 1)[0];
      },
      what,
      timeoutMs,
    );
  }

  nextTag(tag: string, timeoutMs = 3000): Promise<MdNode> {
    return this.next((node) => node.tag === tag, timeoutMs, `<${tag}>`);
  }

  waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return this.waitFor(() => this.closed ?? undefined, 'the close', timeoutMs);
  }

  /** Sends raw bytes as one WebSocket message. */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** §2.2 as the initiator; the certificate chain is checked as whatsmeow checks it (§2.4). */
  async handshake(payload: md.ClientPayload, rootPublicKey: Uint8Array): Promise<md.VerifiedCertChain> {
    const header = connectionHeader(this.dictVersion);
    const noise = new NoiseInitiator({ prologue: header, staticKeyPair: this.keys.noise });
    this.sendRaw(this.encoder.encode(md.encodeClientHello(noise.writeClientHello().ephemeral)));
    const serverHelloFrame = await this.waitFor(() => this.handshakeFrames.shift(), 'ServerHello', 3000);
    const { serverStatic, payload: chain } = noise.readServerHello(md.decodeServerHello(serverHelloFrame));
    const verified = md.verifyCertChain(chain, {
      serverStatic,
      now: Math.floor(Date.now() / 1000),
      rootPublicKey,
    });
    this.sendRaw(
      this.encoder.encode(md.encodeClientFinish(noise.writeClientFinish(md.encodeClientPayload(payload)))),
    );
    this.transport = noise.split();
    return verified;
  }

  register(rootPublicKey: Uint8Array): Promise<md.VerifiedCertChain> {
    return this.handshake(registrationPayload(this.keys), rootPublicKey);
  }

  login(rootPublicKey: Uint8Array, number: string, device: number): Promise<md.VerifiedCertChain> {
    return this.handshake(loginPayload(number, device), rootPublicKey);
  }

  send(node: MdNode): void {
    if (!this.transport) throw new Error('no transport yet');
    this.sendRaw(this.encoder.encode(this.transport.seal(md.encodeMdNode(node, this.dictVersion as 2 | 3))));
  }

  newId(): string {
    this.idCounter += 1;
    return `raw.${this.idCounter}`;
  }

  /** Sends an IQ to the server and waits for its answer. */
  async iq(xmlns: string, type: 'get' | 'set', content: MdNode[], timeoutMs = 3000): Promise<MdNode> {
    const id = this.newId();
    this.send(md.mdNode('iq', { id, to: 's.whatsapp.net', type, xmlns }, content));
    return this.next(
      (node) => node.tag === 'iq' && node.attrs.id === id,
      timeoutMs,
      `the answer to ${xmlns}`,
    );
  }

  // ---- QR pairing (§6) ----

  /** The QR texts of a pair-device IQ, after acking it as companions do. */
  acceptPairDevice(iq: MdNode, form: { fields?: 4 | 5; prefix?: boolean } = {}): string[] {
    this.send(md.mdNode('iq', { to: '@s.whatsapp.net', type: 'result', id: iq.attrs.id! }));
    const refs = md
      .childNodes(md.requireChild(iq, 'pair-device'))
      .map((ref) => Buffer.from(md.contentBytes(ref)).toString('utf8'));
    return refs.map((ref) => this.qrFor(ref, form));
  }

  qrFor(ref: string, form: { fields?: 4 | 5; prefix?: boolean } = {}): string {
    const fields = [
      ref,
      Buffer.from(this.keys.noise.publicKey).toString('base64'),
      Buffer.from(this.keys.identity.publicKey).toString('base64'),
      Buffer.from(this.keys.advSecret).toString('base64'),
    ];
    if ((form.fields ?? 5) === 5) fields.push('1');
    return (form.prefix ? md.QR_LINK_PREFIX : '') + fields.join(',');
  }

  /** §6.5-§6.6: checks pair-success and answers with pair-device-sign (optionally tampered). */
  answerPairSuccess(
    iq: MdNode,
    tamper: { keyIndex?: number; signature?: boolean } = {},
  ): md.VerifiedPairSuccess {
    const success = md.requireChild(iq, 'pair-success');
    const verified = md.verifyPairSuccess({
      container: md.contentBytes(md.requireChild(success, 'device-identity')),
      advSecret: this.keys.advSecret,
      identity: this.keys.identity,
    });
    let reply = verified.reply;
    if (tamper.signature) {
      const signed = md.decodeAdvSignedDeviceIdentity(reply);
      signed.deviceSignature![3]! ^= 1;
      reply = md.encodeAdvSignedDeviceIdentity(signed);
    }
    this.send(
      md.mdNode('iq', { to: '@s.whatsapp.net', type: 'result', id: iq.attrs.id! }, [
        md.mdNode('pair-device-sign', {}, [
          md.mdNode('device-identity', { 'key-index': String(tamper.keyIndex ?? verified.keyIndex) }, reply),
        ]),
      ]),
    );
    return verified;
  }

  // ---- pair code (§7) ----

  /** Stage 1 (Baileys' shape by default: platform id "49", nonce "0"). */
  async companionHello(
    phone: string,
    code: string,
    shape: { platformId?: string; display?: string; nonce?: string | Uint8Array } = {},
  ): Promise<MdNode> {
    const wrapped = await wrapPairingEphemeral(code, this.keys.pairingEphemeral.publicKey);
    return this.iq('md', 'set', [
      md.mdNode(
        'link_code_companion_reg',
        { jid: `${phone}@s.whatsapp.net`, stage: 'companion_hello', should_show_push_notification: 'true' },
        [
          md.mdNode('link_code_pairing_wrapped_companion_ephemeral_pub', {}, wrapped),
          md.mdNode('companion_server_auth_key_pub', {}, this.keys.noise.publicKey),
          md.mdNode('companion_platform_id', {}, shape.platformId ?? '49'),
          md.mdNode(
            'companion_platform_display',
            {},
            new TextEncoder().encode(shape.display ?? 'Chrome (Ubuntu)'),
          ),
          md.mdNode('link_code_pairing_nonce', {}, shape.nonce ?? '0'),
        ],
      ),
    ]);
  }

  /** Stage 2 → 3: unwraps the primary's ephemeral with `code`, sends companion_finish, adopts the new adv secret. */
  async companionFinish(
    phone: string,
    code: string,
    notification: MdNode,
    timeoutMs = 5000,
  ): Promise<MdNode> {
    this.send(
      md.mdNode('ack', {
        id: notification.attrs.id!,
        to: 's.whatsapp.net',
        class: 'notification',
        type: 'link_code_companion_reg',
      }),
    );
    const reg = md.requireChild(notification, 'link_code_companion_reg');
    const primaryEphemeral = await unwrapPairingEphemeral(
      code,
      md.contentBytes(md.requireChild(reg, 'link_code_pairing_wrapped_primary_ephemeral_pub')),
    );
    const primaryIdentity = md.contentBytes(md.requireChild(reg, 'primary_identity_pub'));
    const { wrappedKeyBundle, advSecret } = companionKeyBundle({
      companionEphemeralPrivateKey: this.keys.pairingEphemeral.privateKey,
      primaryEphemeralPublicKey: primaryEphemeral,
      companionIdentity: this.keys.identity,
      primaryIdentityPublicKey: primaryIdentity,
    });
    this.keys.advSecret = advSecret;
    return this.iq(
      'md',
      'set',
      [
        md.mdNode('link_code_companion_reg', { jid: `${phone}@s.whatsapp.net`, stage: 'companion_finish' }, [
          md.mdNode('link_code_pairing_wrapped_key_bundle', {}, wrappedKeyBundle),
          md.mdNode('companion_identity_public', {}, this.keys.identity.publicKey),
          md.mdNode(
            'link_code_pairing_ref',
            {},
            md.contentBytes(md.requireChild(reg, 'link_code_pairing_ref')),
          ),
        ]),
      ],
      timeoutMs,
    );
  }

  // ---- after login (§9, §12) ----

  /** §9: the 30 one-time pre-keys and the signed pre-key. */
  uploadPreKeys(keys = this.keys.preKeys): Promise<MdNode> {
    return this.iq('encrypt', 'set', [
      md.mdNode('registration', {}, beBytes(this.keys.registrationId, 4)),
      md.mdNode('type', {}, Uint8Array.of(5)),
      md.mdNode('identity', {}, this.keys.identity.publicKey),
      md.mdNode(
        'list',
        {},
        keys.map((key) =>
          md.mdNode('key', {}, [
            md.mdNode('id', {}, beBytes(key.keyId, 3)),
            md.mdNode('value', {}, key.keyPair.publicKey),
          ]),
        ),
      ),
      md.mdNode('skey', {}, [
        md.mdNode('id', {}, beBytes(this.keys.signedPreKey.keyId, 3)),
        md.mdNode('value', {}, this.keys.signedPreKey.keyPair.publicKey),
        md.mdNode('signature', {}, this.keys.signedPreKey.signature),
      ]),
    ]);
  }

  /** Decrypts a `<message>` with this client's Signal store: the Message and the enc type. */
  async decrypt(message: MdNode): Promise<{ message: md.Message; encType: string; from: md.MdJid }> {
    const enc = md.requireChild(message, 'enc');
    const from = md.parseMdJid(message.attrs.from!);
    const encType = enc.attrs.type as 'pkmsg' | 'msg';
    const padded = await signalDecrypt(
      this.store,
      { name: from.user, deviceId: from.device ?? 0 },
      encType,
      md.contentBytes(enc),
    );
    return { message: md.decodeMessage(unpadMessage(padded)), encType, from };
  }

  /** Receipt then ack, as companions answer a message (§12.4). */
  acknowledge(message: MdNode, receiptType = 'inactive'): void {
    const attrs: Record<string, string> = { id: message.attrs.id!, to: message.attrs.from! };
    if (receiptType) attrs.type = receiptType;
    this.send(md.mdNode('receipt', attrs));
    this.send(
      md.mdNode('ack', {
        id: message.attrs.id!,
        to: message.attrs.from!,
        class: 'message',
        type: message.attrs.type ?? 'text',
      }),
    );
  }

  /** A text to a contact (device 0) on the session the contact started (a `msg`). */
  async reply(to: string, text: string): Promise<string> {
    const user = to.split('@')[0]!;
    const cipher = await signalEncrypt(
      this.store,
      { name: user, deviceId: 0 },
      padMessage(md.encodeMessage({ conversation: text })),
    );
    const id = `3EB0${this.newId().replace(/\W/g, '').toUpperCase()}`;
    this.send(
      md.mdNode('message', { to, id, type: 'text' }, [
        md.mdNode('enc', { v: '2', type: cipher.type }, cipher.body),
      ]),
    );
    return id;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

/** JSON over HTTP to the emulator. */
export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
