// What a multi-device companion keeps (docs/protocol-md.md §15): the keys it makes before pairing, what
// pair-success adds, and the Signal state messages build up. Making fresh keys is an effect (randomness),
// so it lives here and not in the machine, which only receives the result.
import { randomBytes, type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import { djbPublicKey, type SignalPreKey, xeddsaSign } from '../../crypto/md/index.ts';

import type { MdCredentials } from '../../machines/index.ts';

export type { MdCredentials };

/** The signed pre-key's id: one per device, as deployed companions do (§15). */
export const SIGNED_PRE_KEY_ID = 1;
/** One-time pre-key ids are 3 bytes on the wire (§9's `<key><id>3B</id>`). */
export const MAX_PRE_KEY_ID = 0xffffff;
/** Registration ids are drawn from 1..16380, 14 bits as Baileys and libsignal's KeyHelper make them (§15). */
export const MAX_REGISTRATION_ID = 16380;

/** One app-state sync key the primary shared (§13), keyed by its id. Secret. */
export interface MdAppStateKey {
  keyId: Uint8Array;
  keyData: Uint8Array;
  fingerprint?: { rawId?: number; currentIndex?: number; deviceIndexes?: number[] };
  timestamp?: number;
}

/**
 * The Signal state beside the credentials: open sessions (libsignal's JSON, opaque and secret) and the
 * identity each remote device presented, both by libsignal address (`name.device`), the one-time pre-keys
 * not yet used, and the sender keys of group members.
 */
export interface MdSignalState {
  sessions: Record<string, string>;
  identities: Record<string, Uint8Array>;
  preKeys: SignalPreKey[];
  /** Group senders' keys (crypto/md/sender-keys.ts records as JSON, secret), by `group::name.device`. */
  senderKeys: Record<string, string>;
}

/** Everything one MD session stores, saved and loaded as one value (one file, one Redis key). */
export interface MdCredentialRecord {
  credentials: MdCredentials;
  signal: MdSignalState;
  appStateKeys: MdAppStateKey[];
}

function randomRegistrationId(): number {
  const [a, b] = randomBytes(2) as unknown as [number, number];
  return 1 + (((a << 8) | b) % MAX_REGISTRATION_ID);
}

/**
 * Fresh, unpaired credentials (§15): a noise key, an identity key, the signed pre-key signed by the
 * identity with XEdDSA over `05 ‖ public key`, a registration id and an adv secret. `me` and `account`
 * stay null until pair-success.
 */
export function generateMdCredentials(): MdCredentials {
  const identityKey = x25519KeyPair();
  const keyPair = x25519KeyPair();
  return {
    noiseKey: x25519KeyPair(),
    identityKey,
    signedPreKey: {
      keyId: SIGNED_PRE_KEY_ID,
      keyPair,
      signature: xeddsaSign(identityKey.privateKey, djbPublicKey(keyPair.publicKey)),
    },
    registrationId: randomRegistrationId(),
    advSecret: randomBytes(32),
    me: null,
    account: null,
    nextPreKeyId: 1,
    firstUnuploadedPreKeyId: 1,
  };
}

/** `count` one-time pre-keys with ids from `firstId` on (wrapping past MAX_PRE_KEY_ID to 1). */
export function generatePreKeys(firstId: number, count: number): SignalPreKey[] {
  const keys: SignalPreKey[] = [];
  for (let i = 0; i < count; i++) {
    keys.push({ keyId: ((firstId - 1 + i) % MAX_PRE_KEY_ID) + 1, keyPair: x25519KeyPair() });
  }
  return keys;
}

/** A new record: fresh credentials, no sessions, no pre-keys yet (they are made when uploaded). */
export function newMdCredentialRecord(
  credentials: MdCredentials = generateMdCredentials(),
): MdCredentialRecord {
  return {
    credentials,
    signal: { sessions: {}, identities: {}, preKeys: [], senderKeys: {} },
    appStateKeys: [],
  };
}

/** A deep copy of a key pair (callers may reuse or wipe their buffers). */
export function copyKeyPair(pair: X25519KeyPair): X25519KeyPair {
  return { privateKey: pair.privateKey.slice(), publicKey: pair.publicKey.slice() };
}
