// A Signal sender for tests of the MD companion's decryption: a contact (or the account's phone) with
// its own identity, starting a session from the companion's pre-key bundle and encrypting padded Message
// protobufs with crypto/md's adapter, as the emulator's phone does (emulator/md/signal-party.ts).

import type { MdCredentialRecord } from '../../actors/md/index.ts';
import { md } from '../../codec/index.ts';
import { x25519KeyPair } from '../../crypto/index.ts';
import {
  MemorySignalKeyStore,
  padMessage,
  type SignalCiphertext,
  type SignalPreKeyBundle,
  signalEncrypt,
  signalStartSession,
} from '../../crypto/md/index.ts';

/** The companion's bundle with its first one-time pre-key (or the one asked for), as a server hands it out. */
export function bundleOf(record: MdCredentialRecord, preKeyId?: number): SignalPreKeyBundle {
  const c = record.credentials;
  const preKey =
    preKeyId === undefined
      ? record.signal.preKeys[0]
      : record.signal.preKeys.find((key) => key.keyId === preKeyId);
  return {
    registrationId: c.registrationId,
    identityKey: c.identityKey.publicKey,
    signedPreKey: {
      keyId: c.signedPreKey.keyId,
      publicKey: c.signedPreKey.keyPair.publicKey,
      signature: c.signedPreKey.signature,
    },
    ...(preKey ? { preKey: { keyId: preKey.keyId, publicKey: preKey.keyPair.publicKey } } : {}),
  };
}

export class TestSender {
  readonly store: MemorySignalKeyStore;
  private started = new Set<string>();

  /** `user` is the sender's JID user part; `companion` the receiving device's address. */
  constructor(
    readonly user: string,
    readonly companion: { name: string; deviceId: number },
    registrationId = 7000 + (Number(user.slice(-3)) % 1000),
  ) {
    this.store = new MemorySignalKeyStore({ registrationId, identityKeyPair: x25519KeyPair() });
  }

  get jid(): string {
    return `${this.user}@s.whatsapp.net`;
  }

  /** Encrypts a Message (padded) for the companion, starting the session from `bundle` the first time. */
  async encrypt(
    message: md.Message,
    bundle: () => SignalPreKeyBundle,
    padding?: number,
  ): Promise<SignalCiphertext> {
    const key = `${this.companion.name}.${this.companion.deviceId}`;
    if (!this.started.has(key)) {
      await signalStartSession(this.store, this.companion, bundle());
      this.started.add(key);
    }
    return signalEncrypt(this.store, this.companion, padMessage(md.encodeMessage(message), padding));
  }

  /** The stanza a server delivers (docs/protocol-md.md §12.2). */
  stanza(id: string, cipher: SignalCiphertext, extra: Record<string, string> = {}): md.MdNode {
    return md.mdNode(
      'message',
      { from: this.jid, id, t: '1767225800', type: 'text', notify: 'Test', ...extra },
      [md.mdNode('enc', { v: '2', type: cipher.type }, cipher.body)],
    );
  }
}
