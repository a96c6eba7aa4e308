// What every MD connection and the phone API share: the remembered state, the open sockets and what each
// of them is (registering, authenticated), the refs waiting for a scan or a typed code, faults, options and
// counters. Behaviour lives in the modules that take this context (session.ts, pairing.ts, delivery.ts).
import type { Logger } from 'pino';
import { randomBytes, toHex } from '../../crypto/index.ts';
import type { HttpError } from '../../http/index.ts';
import type { MediaStore } from '../media-store.ts';
import type { MdConnection } from './connection.ts';
import { MdFaultBook } from './faults.ts';
import type { ResolvedMdOptions } from './options.ts';
import type { MdAccount, MdDevice, MdState, SignedPreKeyRecord } from './state.ts';

/** What a registration payload proved about a would-be companion (docs/protocol-md.md §4.2). */
export interface Registration {
  noiseStatic: Uint8Array;
  identity: Uint8Array;
  registrationId: number;
  signedPreKey: SignedPreKeyRecord;
  platform: { os?: string; platformType?: number };
}

export interface PairingResult {
  jid: string;
  device: number;
}

/** pair-success was sent; the phone waits for pair-device-sign (§6.6). */
export interface PendingPairing {
  iqId: string;
  account: MdAccount;
  deviceId: number;
  keyIndex: number;
  details: Uint8Array;
  display?: string;
  settle(outcome: { ok: PairingResult } | { error: HttpError }): void;
}

/** A companion_hello waiting for the phone to type the code (§7.3-§7.5). */
export interface CodePairing {
  number: string;
  connection: MdConnection;
  ref: string;
  wrappedCompanionEphemeral: Uint8Array;
  display: string;
  expiresAt: number;
  /** Once the phone typed the code and sent primary_hello. */
  typed?: {
    primaryEphemeral: { privateKey: Uint8Array; publicKey: Uint8Array };
    companionEphemeral: Uint8Array;
    settle(outcome: { advSecret: Uint8Array } | { error: HttpError }): void;
  };
}

export type ConnSession =
  | { kind: 'handshaking' }
  | {
      kind: 'registering';
      registration: Registration;
      /** Ids of the server's own IQs on this socket (pair-device, pair-success): their answers are expected. */
      serverIqs: Set<string>;
      pairing: PendingPairing | null;
    }
  | { kind: 'authenticated'; account: MdAccount; device: MdDevice; jid: string; live: boolean }
  | { kind: 'refused' };

export interface QrRef {
  connection: MdConnection;
  expiresAt: number;
}

/** A message a companion sent that a contact or a phone decrypted (docs/emulator.md "The MD phone API"). */
export interface SentRecord {
  id: string;
  /** The chat: the contact, or the destination of a deviceSentMessage. */
  to: string;
  /** The companion device that sent it. */
  device: string;
  text: string | null;
  t: number;
  /** How it came: `pkmsg` (a new session) or `msg`. */
  encType?: 'pkmsg' | 'msg';
  /** Who decrypted it: the contact, or the account's own phone for a deviceSentMessage. */
  readBy?: string;
  deviceSent?: boolean;
}

export interface MdStats {
  connections: number;
  handshakes: number;
  registrations: number;
  logins: number;
  pairings: number;
  /** IQs received, by `xmlns type child`. */
  iqs: Record<string, number>;
  /** IQs answered 501 because the emulator does not model them. */
  unhandledIqs: Record<string, number>;
  /** Stanzas accepted without an answer, by tag (acks, receipts, presence, …). */
  stanzas: Record<string, number>;
  /** Connections closed by a typed refusal, by code. */
  refusals: Record<string, number>;
  /** Untyped errors: bugs. Always 0 in a healthy run. */
  internalErrors: number;
}

const MAX_SENT = 500;

export class MdContext {
  readonly faults = new MdFaultBook();
  readonly connections = new Set<MdConnection>();
  readonly sessions = new Map<MdConnection, ConnSession>();
  readonly refs = new Map<string, QrRef>();
  /** companion_hello by phone number: the server routes primary_hello by number, not by code (§7.7). */
  readonly codePairings = new Map<string, CodePairing>();
  /** link-code calls waiting for a companion_hello of their number. */
  readonly codeWaiters = new Map<string, Set<() => void>>();
  /** Device JID → the socket logged in as it. */
  readonly online = new Map<string, MdConnection>();
  readonly sent = new Map<string, SentRecord[]>();
  readonly stats: MdStats = {
    connections: 0,
    handshakes: 0,
    registrations: 0,
    logins: 0,
    pairings: 0,
    iqs: {},
    unhandledIqs: {},
    stanzas: {},
    refusals: {},
    internalErrors: 0,
  };
  readonly #idPrefix = toHex(randomBytes(3));
  #ids = 0;

  constructor(
    readonly state: MdState,
    readonly options: ResolvedMdOptions,
    readonly log: Logger,
    readonly media: MediaStore,
    readonly now: () => number,
    readonly baseUrl: () => string,
  ) {}

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Ids for the server's own stanzas. */
  nextId(): string {
    this.#ids += 1;
    return `${this.#idPrefix}.${this.#ids}`;
  }

  session(connection: MdConnection): ConnSession {
    return this.sessions.get(connection) ?? { kind: 'refused' };
  }

  recordSent(number: string, record: SentRecord): void {
    const list = this.sent.get(number) ?? [];
    list.push(record);
    if (list.length > MAX_SENT) list.splice(0, list.length - MAX_SENT);
    this.sent.set(number, list);
  }

  count(table: Record<string, number>, name: string): void {
    table[name] = (table[name] ?? 0) + 1;
  }
}

export function deviceJid(account: MdAccount, device: MdDevice | number): string {
  return `${account.number}:${typeof device === 'number' ? device : device.id}@s.whatsapp.net`;
}

export function lidJid(account: MdAccount, device: MdDevice | number): string {
  return `${account.lid}:${typeof device === 'number' ? device : device.id}@lid`;
}

export function userJid(account: MdAccount): string {
  return `${account.number}@s.whatsapp.net`;
}
