// The emulator's Signal senders (docs/protocol-md.md §12): each contact, and each account's phone as its
// device 0, is a party with an identity, a registration id and sessions with companion devices. Sessions
// start from the device's pre-key bundle (one one-time pre-key, consumed once) and live in MdState, so a
// restarted emulator keeps ratcheting where it stopped. Every operation on one party runs in turn: a session
// record is read, advanced and written back. A party also has a signed pre-key and one-time pre-keys of its
// own, so that companions can start sessions with it (the bundle of docs/protocol-md.md §12.7): each one-time
// pre-key is handed out once, and used up by the pkmsg that opens its session.
import { type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import {
  djbPublicKey,
  padMessage,
  type SignalAddress,
  type SignalCiphertext,
  type SignalKeyStore,
  type SignalMessageType,
  type SignalPreKeyBundle,
  signalDecrypt,
  signalEncrypt,
  signalStartSession,
  unpadMessage,
  xeddsaSign,
} from '../../crypto/md/index.ts';

export interface PartyPreKey {
  keyId: number;
  keyPair: X25519KeyPair;
  /** Given out in a bundle: never given out again (the private half waits for its pkmsg). */
  handedOut?: boolean;
}

export interface SignalParty {
  registrationId: number;
  identity: X25519KeyPair;
  sessions: Record<string, string>;
  /** Made on first use (older state files have none). */
  signedPreKey?: { keyId: number; keyPair: X25519KeyPair; signature: Uint8Array };
  preKeys?: PartyPreKey[];
  nextPreKeyId?: number;
}

/** One-time pre-keys a party keeps ready to hand out. */
const READY_PRE_KEYS = 5;
/** Handed-out keys whose pkmsg never came are dropped past this many (a bound on the state file). */
const MAX_HANDED_OUT = 50;

/** The party's signed pre-key and enough one-time pre-keys; true when something was made. */
function ensurePreKeys(party: SignalParty): boolean {
  let made = false;
  if (!party.signedPreKey) {
    const keyPair = x25519KeyPair();
    const signature = xeddsaSign(party.identity.privateKey, djbPublicKey(keyPair.publicKey));
    party.signedPreKey = { keyId: 1, keyPair, signature };
    made = true;
  }
  if (!party.preKeys) party.preKeys = [];
  const keys = party.preKeys;
  while (keys.filter((key) => !key.handedOut).length < READY_PRE_KEYS) {
    const keyId = party.nextPreKeyId ?? 1;
    party.nextPreKeyId = (keyId % 0xffffff) + 1;
    keys.push({ keyId, keyPair: x25519KeyPair() });
    made = true;
  }
  const handedOut = keys.filter((key) => key.handedOut);
  if (handedOut.length > MAX_HANDED_OUT) {
    const drop = new Set(handedOut.slice(0, handedOut.length - MAX_HANDED_OUT));
    party.preKeys = keys.filter((key) => !drop.has(key));
  }
  return made;
}

/**
 * The party's pre-key bundle (§12.7): its identity, signed pre-key and one one-time pre-key, handed out
 * now and never again.
 */
export function partyBundle(party: SignalParty, changed: () => void): SignalPreKeyBundle {
  ensurePreKeys(party);
  const preKey = party.preKeys!.find((key) => !key.handedOut)!;
  preKey.handedOut = true;
  changed();
  const signed = party.signedPreKey!;
  return {
    registrationId: party.registrationId,
    identityKey: party.identity.publicKey,
    signedPreKey: { keyId: signed.keyId, publicKey: signed.keyPair.publicKey, signature: signed.signature },
    preKey: { keyId: preKey.keyId, publicKey: preKey.keyPair.publicKey },
  };
}

/** libsignal's session key for an address (ProtocolAddress.toString()). */
export function sessionKey(address: SignalAddress): string {
  return `${address.name}.${address.deviceId}`;
}

/** The party's keys as libsignal reads them. */
class PartyStore implements SignalKeyStore {
  constructor(
    private readonly party: SignalParty,
    private readonly changed: () => void,
  ) {}
  async registrationId(): Promise<number> {
    return this.party.registrationId;
  }
  async identityKeyPair(): Promise<X25519KeyPair> {
    return this.party.identity;
  }
  async signedPreKey(keyId: number) {
    const signed = this.party.signedPreKey;
    return signed && signed.keyId === keyId ? signed : null;
  }
  async preKey(keyId: number) {
    return this.party.preKeys?.find((key) => key.keyId === keyId) ?? null;
  }
  async removePreKey(keyId: number): Promise<void> {
    const keys = this.party.preKeys;
    if (!keys) return;
    const at = keys.findIndex((key) => key.keyId === keyId);
    if (at >= 0) {
      keys.splice(at, 1);
      this.changed();
    }
  }
  async loadSession(address: string): Promise<string | null> {
    return this.party.sessions[address] ?? null;
  }
  async storeSession(address: string, session: string): Promise<void> {
    this.party.sessions[address] = session;
    this.changed();
  }
}

const turns = new WeakMap<SignalParty, Promise<unknown>>();

function inTurn<T>(party: SignalParty, task: () => Promise<T>): Promise<T> {
  const run = (turns.get(party) ?? Promise.resolve()).then(task, task);
  turns.set(
    party,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * Encrypts a serialized Message (padded here) for one device: a `pkmsg` while the session waits for the
 * device's first answer, then `msg`. `bundle` is asked only when there is no session yet; it hands out the
 * device's next one-time pre-key.
 */
export function encryptForDevice(
  party: SignalParty,
  changed: () => void,
  address: SignalAddress,
  bundle: () => SignalPreKeyBundle,
  message: Uint8Array,
): Promise<SignalCiphertext> {
  return inTurn(party, async () => {
    const store = new PartyStore(party, changed);
    if (!party.sessions[sessionKey(address)]) await signalStartSession(store, address, bundle());
    return signalEncrypt(store, address, padMessage(message));
  });
}

/** A device's answer on an existing session: the Message bytes without padding. */
export function decryptFromDevice(
  party: SignalParty,
  changed: () => void,
  address: SignalAddress,
  type: SignalMessageType,
  body: Uint8Array,
): Promise<Uint8Array> {
  return inTurn(party, async () =>
    unpadMessage(await signalDecrypt(new PartyStore(party, changed), address, type, body)),
  );
}

/** Forgets every session with a device (it was unlinked: a new device with its number starts afresh). */
export function forgetDevice(party: SignalParty, address: SignalAddress): boolean {
  const key = sessionKey(address);
  if (!(key in party.sessions)) return false;
  delete party.sessions[key];
  return true;
}
