// The multi-device known answers (test/fixtures/vectors/md/*.json, copied as-is), typed for the tests.
import type protobuf from 'protobufjs';
import { md } from '../../codec/index.ts';
import { fromHex } from '../../crypto/index.ts';
import { readJsonFixture } from './fixtures.ts';

export const hex = fromHex;

export interface VectorKeyPair {
  private: string;
  public: string;
}

export interface SignedVector {
  signature: string;
  valid: boolean;
  what?: string;
  message?: string;
  verifyWith?: string;
}

export interface NoiseTranscript {
  id: string;
  prologue: string;
  hAfterPrologue: string;
  hFinal: string;
  routingInfo?: string;
  keys: Record<'clientEphemeral' | 'clientStatic' | 'serverEphemeral' | 'serverStatic', VectorKeyPair>;
  messages: {
    clientHello: { handshakeMessage: string; wire: string; ephemeral: string };
    serverHello: {
      handshakeMessage: string;
      wire: string;
      ephemeral: string;
      static: string;
      payload: string;
    };
    clientFinish: { handshakeMessage: string; wire: string; static: string; payload: string };
  };
  decrypted: {
    serverStatic: string;
    certChain: string;
    certChainDecoded: {
      intermediate: { details: string; detailsDecoded: Record<string, unknown>; signature: string };
      leaf: { details: string; detailsDecoded: Record<string, unknown>; signature: string };
      rootPublicKey: string;
      rootPrivateKey: string;
      intermediatePrivateKey: string;
    };
    clientStatic: string;
    clientPayload: string;
    clientPayloadDecoded: Record<string, unknown>;
    devicePropsDecoded?: Record<string, unknown>;
  };
  split: { clientWriteKey: string; clientReadKey: string };
  /** The responder's log of every symmetric-state operation. */
  steps: {
    op: string;
    what?: string;
    h?: string;
    dh?: string;
    ad?: string;
    nonce?: number;
    k1?: string;
    k2?: string;
  }[];
  transport: {
    direction: 'server->client' | 'client->server';
    counter: number;
    plaintext: string;
    ciphertext: string;
    wire: string;
  }[];
}

export interface NoiseVectors {
  transcripts: NoiseTranscript[];
}

export interface PairingVectors {
  keys: Record<'companionIdentity' | 'companionNoiseStatic' | 'primaryIdentity', VectorKeyPair> & {
    companionSignedPreKey: VectorKeyPair & { keyId: number };
    advSecret: { hex: string; base64: string };
    registrationId: number;
  };
  keyEncodings: { signedPreKeySignature: { message: string; signature: string; valid: boolean } };
  qr: {
    baileys61716: { refs: string[]; strings: string[] };
    baileysHead: {
      prefix: string;
      strings: { browser: string[]; companionPlatformId: string; qr: string }[];
    };
  };
  adv: {
    inputs: { rawId: number; timestamp: number; keyIndex: number; accountType: number; deviceType: number };
    deviceIdentity: { bytes: string; decoded: Record<string, unknown> };
    accountSignature: { message: string; verifyWith: string; valid: SignedVector[]; invalid: SignedVector[] };
    signedDeviceIdentity: { bytes: string; decoded: Record<string, unknown> };
    hmac: { key: string; message: string; hmacSha256: string };
    container: { bytes: string; decoded: Record<string, unknown> };
    deviceSignature: {
      message: string;
      verifyWith: string;
      signature: string;
      valid: boolean;
      invalidExample: { signature: string; valid: boolean };
    };
    pairDeviceSign: { signedDeviceIdentity: string; decoded: Record<string, unknown> };
  };
  hosted: {
    cases: {
      label: string;
      accountType: number;
      deviceType: number;
      deviceIdentity: string;
      accountSignaturePrefix: string;
      accountSignatureMessage: string;
      accountSignature: string;
      signedDeviceIdentity: string;
      hmacPrefix: string;
      hmac: string;
      container: string;
      deviceSignatureMessage: string;
      deviceSignature: string;
    }[];
  };
}

export interface PairCodeVectors {
  alphabet: string;
  codeVectors: { bytes: string; code: string }[];
  pbkdf2: {
    iterations: number;
    vectors: { password: string; salt: string; key: string }[];
  };
  companionHello: {
    inputs: { code: string; companionPairingEphemeral: VectorKeyPair; salt: string; iv: string };
    key: string;
    ciphertext: string;
    wrapped: string;
  };
  primaryHello: {
    inputs: {
      primaryPairingEphemeral: VectorKeyPair;
      salt: string;
      iv: string;
      primaryIdentity: VectorKeyPair;
    };
    key: string;
    wrapped: string;
    unwrapWithWrongCode: { code: string; key: string; unwrapped: string };
  };
  keyBundle: {
    ephemeralSharedSecret: string;
    hkdf: { salt: string; okm: string };
    gcm: { nonce: string; plaintext: string; ciphertextWithTag: string };
    wrappedKeyBundle: string;
    advRandom: string;
  };
  advSecret: { identitySharedSecret: string; hkdf: { ikm: string; okm: string } };
  pairSuccessWithDerivedSecret: { hmacKey: string; container: string };
}

export interface SignalVectors {
  receiver: {
    jid: string;
    registrationId: number;
    identityKey: VectorKeyPair;
    signedPreKey: VectorKeyPair & { keyId: number; signature: string };
    oneTimePreKey: VectorKeyPair & { keyId: number };
  };
  sender: { jid: string; registrationId: number; identityKey: VectorKeyPair };
  pkmsg: string;
  parsed: { whisperMessage: { mac8: string; ciphertext: string } };
  message: { protobuf: string; paddedPlaintext: string };
  expected: {
    paddedPlaintext: string;
    messageProtobuf: string;
    conversation: string;
    decodedWithWhatsmeowSchema: Record<string, unknown>;
  };
}

export const noiseVectors = (): NoiseVectors => readJsonFixture('md/noise-xx.json');
export const pairingVectors = (): PairingVectors => readJsonFixture('md/pairing.json');
export const pairCodeVectors = (): PairCodeVectors => readJsonFixture('md/pair-code.json');
export const signalVectors = (): SignalVectors => readJsonFixture('md/signal-message.json');

export function keyPair(pair: VectorKeyPair): { privateKey: Uint8Array; publicKey: Uint8Array } {
  return { privateKey: hex(pair.private), publicKey: hex(pair.public) };
}

/** whatsmeow's spelling in the `*Decoded` fields → walink's schema. */
const RENAMES: Record<string, string> = { rawID: 'rawId', HMAC: 'hmac', eSkeyID: 'eSkeyId' };

/**
 * A `*Decoded` vector (whatsmeow names; bytes as hex; 64-bit integers as decimal strings; enums by name)
 * as the object walink's decoder returns, reading each field's type from walink's schema.
 */
export function fromDecodedVector(typeName: string, json: Record<string, unknown>): Record<string, unknown> {
  return convertMessage(md.MD_PROTO_ROOT.lookupType(`walink.md.${typeName}`), json);
}

function convertMessage(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [vectorName, value] of Object.entries(json)) {
    const name = RENAMES[vectorName] ?? vectorName;
    const field = type.fields[name];
    if (!field) throw new Error(`${type.name} has no field ${name} (vector ${vectorName})`);
    field.resolve();
    out[name] = field.repeated
      ? (value as unknown[]).map((item) => convertValue(field, item))
      : convertValue(field, value);
  }
  return out;
}

function convertValue(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fields' in resolved) {
    return convertMessage(resolved as protobuf.Type, value as Record<string, unknown>);
  }
  if (resolved && 'values' in resolved) {
    const number = (resolved as protobuf.Enum).values[value as string];
    if (number === undefined) throw new Error(`enum ${resolved.name} has no ${String(value)}`);
    return number;
  }
  if (field.type === 'bytes') return hex(value as string);
  if (/^u?int64$|^s?fixed64$|^sint64$/.test(field.type)) return Number(value);
  return value;
}
