// What createSession({ protocol: 'md' }) takes (actors/md/session.ts builds the session from it).
import type { InspectionEvent } from 'xstate';
import type { MdLimits, MdTiming } from '../../machines/index.ts';
import type { MediaQueue } from '../../workers/index.ts';
import type { CredentialStore } from '../credential-store.ts';
import type { MdCredentialRecord } from './md-credentials.ts';
import type { MessageEnvelope } from './parse.ts';
import type { MdDeviceStore } from './signal-store.ts';
import type { DecryptedMessage } from './socket.ts';

/** Makes the message decryptor of a device store (md-store's Signal decryption). */
export type MdDecryptorFactory = (
  device: MdDeviceStore,
) => (envelope: MessageEnvelope) => Promise<DecryptedMessage>;

export interface CreateMdSessionOptions {
  protocol: 'md';
  /** `wss://web.whatsapp.com/ws/chat`, or an emulator's `ws://127.0.0.1:N/ws/chat`. */
  url: string;
  /** The server's certificate root (docs/protocol-md.md §2.4); default WhatsApp's. */
  rootPublicKey?: Uint8Array;
  /** Where the device persists (use MD_CREDENTIAL_CODEC); default: memory only. */
  store?: CredentialStore<MdCredentialRecord>;
  queue?: MediaQueue;
  name?: string;
  origin?: string;
  /** The token dictionary announced (docs/protocol-md.md §1.2); default 3. */
  dictionary?: 2 | 3;
  /** What the phone lists under Linked devices (DeviceProps.os, §4.4). */
  os?: string;
  /** `"<Browser> (<OS>)"` for a pair code (§7.3); default `Chrome (Linux)`. */
  platformDisplay?: string;
  /** Decrypts messages; default md-store's over the device's Signal store. */
  decryptor?: MdDecryptorFactory;
  timing?: Partial<MdTiming>;
  limits?: Partial<MdLimits>;
  inspect?: (event: InspectionEvent) => void;
  clock?: {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => unknown;
    clearTimeout: (id: unknown) => void;
  };
  random?: () => number;
}
