// The emulator's Signal senders (docs/protocol-md.md §12): each contact, and each account's phone as its
// device 0, is a party with an identity, a registration id and sessions with companion devices. Sessions
// start from the device's pre-key bundle (one one-time pre-key, consumed once) and live in MdState, so a
// restarted emulator keeps ratcheting where it stopped. Every operation on one party runs in turn: a session
// record is read, advanced and written back.
import type { X25519KeyPair } from '../../crypto/index.ts';
import {
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
} from '../../crypto/md/index.ts';

export interface SignalParty {
  registrationId: number;
  identity: X25519KeyPair;
  sessions: Record<string, string>;
}

/** libsignal's session key for an address (ProtocolAddress.toString()). */
export function sessionKey(address: SignalAddress): string {
  return `${address.name}.${address.deviceId}`;
}

/** A sending party keeps no pre-keys of its own: companions never start sessions with it. */
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
  async signedPreKey(): Promise<null> {
    return null;
  }
  async preKey(): Promise<null> {
    return null;
  }
  async removePreKey(): Promise<void> {}
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
