// What the MD emulator remembers (docs/emulator.md "State"): its certificate keys, the accounts (one per
// phone number, with the primary's identity and its linked companions), each companion's keys and queued
// messages, and the contacts that send messages with their Signal sessions. Kept as the `md` section of
// the emulator's state file (written atomically by emulator/legacy/world.ts), so a restarted emulator keeps
// its root key and its linked devices. The file holds secrets and is mode 0600.
import { fromBase64, randomBytes, toBase64, type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import type { SignalParty } from './signal-party.ts';

/** A party's own pre-keys, for companions that start sessions with it (made on first use). */
type PartyKeys = Pick<SignalParty, 'signedPreKey' | 'preKeys' | 'nextPreKeyId'>;

export const MD_STATE_VERSION = 1;

export interface ServerKeys {
  /** Signs the intermediate; its public half is what clients are told to trust (GET /md/root-key). */
  root: X25519KeyPair;
  intermediate: X25519KeyPair;
  /** The server's Noise static key, certified by the leaf (docs/protocol-md.md §2.4). */
  noiseStatic: X25519KeyPair;
}

export interface SignedPreKeyRecord {
  keyId: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

export interface PreKeyRecord {
  keyId: number;
  publicKey: Uint8Array;
}

/** A Signal message waiting for a device: sent at its next login (or again, when it never acked). */
export interface QueuedStanza {
  id: string;
  from: string;
  t: number;
  type: 'text' | 'media' | 'protocol';
  category?: 'peer';
  notify?: string;
  mediatype?: string;
  encType: 'pkmsg' | 'msg';
  body: Uint8Array;
}

export interface MdDevice {
  id: number;
  keyIndex: number;
  noiseStatic: Uint8Array;
  identity: Uint8Array;
  registrationId: number;
  signedPreKey: SignedPreKeyRecord;
  /** One-time pre-keys the server holds; each is handed out once (§12.1). */
  preKeys: PreKeyRecord[];
  /** From the registration's DeviceProps, and the pair-code display when there was one. */
  platform: { os?: string; platformType?: number; display?: string };
  linkedAt: number;
  /** The phone sent its history-sync notification and app-state key share (§13). */
  bootstrapped: boolean;
  queue: QueuedStanza[];
}

export interface ReceiptRecord {
  id: string;
  device: string;
  type: string;
  to: string;
  t: number;
}

export interface MdAccount extends PartyKeys {
  number: string;
  /** The user part of the account's LID (`<lid>:<device>@lid`). */
  lid: string;
  /** The primary's identity: signs ADV identities and is device 0's Signal identity. */
  identity: X25519KeyPair;
  registrationId: number;
  nextDevice: number;
  nextKeyIndex: number;
  devices: Map<number, MdDevice>;
  /** The phone's (device 0's) Signal sessions with its companions. */
  sessions: Record<string, string>;
  /** Receipts companions sent for messages of this account's contacts (newest last, bounded). */
  receipts: ReceiptRecord[];
}

export interface MdContact extends PartyKeys {
  jid: string;
  pushName: string;
  registrationId: number;
  identity: X25519KeyPair;
  sessions: Record<string, string>;
}

const MAX_RECEIPTS = 500;

/** A 14-bit registration id, as WhatsApp clients draw them (never 0). */
export function newRegistrationId(): number {
  const bytes = randomBytes(2);
  return ((bytes[0]! << 8) | bytes[1]!) & 0x3fff || 1;
}

function newLid(): string {
  // 15 digits starting with 1, like real LIDs.
  let digits = '1';
  for (const byte of randomBytes(14)) digits += String(byte % 10);
  return digits;
}

export class MdState {
  readonly keys: ServerKeys;
  readonly accounts = new Map<string, MdAccount>();
  readonly contacts = new Map<string, MdContact>();

  /** `saved` is the `md` section the state file held (undefined for a fresh emulator). */
  constructor(
    saved: unknown,
    private readonly onChange: () => void = () => {},
  ) {
    if (saved === undefined || saved === null) {
      this.keys = { root: x25519KeyPair(), intermediate: x25519KeyPair(), noiseStatic: x25519KeyPair() };
      return;
    }
    const stored = revive(saved) as StoredMdState;
    if (!stored || stored.version !== MD_STATE_VERSION) {
      throw new Error(`the md section of the emulator state has unknown version ${String(stored?.version)}`);
    }
    this.keys = stored.keys;
    for (const account of stored.accounts) {
      this.accounts.set(account.number, {
        ...account,
        devices: new Map(account.devices.map((device) => [device.id, device])),
      });
    }
    for (const contact of stored.contacts) this.contacts.set(contact.jid, contact);
  }

  /** Something changed: the owner writes the file (coalesced). */
  changed(): void {
    this.onChange();
  }

  /** The account of a phone number, made on first use with a fresh identity and LID. */
  account(number: string): MdAccount {
    let account = this.accounts.get(number);
    if (!account) {
      account = {
        number,
        lid: newLid(),
        identity: x25519KeyPair(),
        registrationId: newRegistrationId(),
        nextDevice: 1,
        nextKeyIndex: 1,
        devices: new Map(),
        sessions: {},
        receipts: [],
      };
      this.accounts.set(number, account);
      this.changed();
    }
    return account;
  }

  /** A contact (a user JID), made on first use with its own Signal identity. */
  contact(jid: string): MdContact {
    let contact = this.contacts.get(jid);
    if (!contact) {
      contact = {
        jid,
        pushName: `Contact ${jid.split('@')[0]!.slice(-4)}`,
        registrationId: newRegistrationId(),
        identity: x25519KeyPair(),
        sessions: {},
      };
      this.contacts.set(jid, contact);
      this.changed();
    }
    return contact;
  }

  recordReceipt(account: MdAccount, receipt: ReceiptRecord): void {
    account.receipts.push(receipt);
    if (account.receipts.length > MAX_RECEIPTS)
      account.receipts.splice(0, account.receipts.length - MAX_RECEIPTS);
    this.changed();
  }

  /** The JSON-safe form written to the state file. */
  toJSON(): unknown {
    const stored: StoredMdState = {
      version: MD_STATE_VERSION,
      keys: this.keys,
      accounts: [...this.accounts.values()].map((account) => ({
        ...account,
        devices: [...account.devices.values()],
      })),
      contacts: [...this.contacts.values()],
    };
    return bytesToJson(stored);
  }
}

interface StoredMdState {
  version: number;
  keys: ServerKeys;
  accounts: (Omit<MdAccount, 'devices'> & { devices: MdDevice[] })[];
  contacts: MdContact[];
}

// Bytes are written as {"$b64": "..."}: the state is plain JSON and the reviver finds them again.
function bytesToJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b64: toBase64(value) };
  if (Array.isArray(value)) return value.map(bytesToJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = bytesToJson(inner);
    return out;
  }
  return value;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$b64 === 'string' && Object.keys(record).length === 1) return fromBase64(record.$b64);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(record)) out[key] = revive(inner);
    return out;
  }
  return value;
}
