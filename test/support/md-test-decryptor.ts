// An in-memory stand-in for md-store's decryptor, for the socket and session tests only: a Signal store in
// memory over the companion's keys, `pkmsg`/`msg` through crypto/md's adapter, the padding stripped and the
// Message typed as the socket reports it (docs/protocol-md.md §12-§13). Not the product's decryption.
import type { DecryptedMessage, MessageEnvelope } from '../../actors/md/index.ts';
import { md } from '../../codec/index.ts';
import {
  MemorySignalKeyStore,
  type SignalKeyStore,
  type SignalPreKey,
  signalDecrypt,
  unpadMessage,
} from '../../crypto/md/index.ts';
import type { MdCredentials } from '../../machines/index.ts';

export class TestDecryptor {
  readonly store: MemorySignalKeyStore;
  nextPreKeyId = 1;

  constructor(credentials: MdCredentials) {
    this.store = new MemorySignalKeyStore(
      { registrationId: credentials.registrationId, identityKeyPair: credentials.identityKey },
      { signedPreKeys: [credentials.signedPreKey] },
    );
  }

  /** The socket's preKeysForUpload: new keys, kept in the store. */
  readonly preKeysForUpload = async (_firstId: number, count: number): Promise<SignalPreKey[]> => {
    const { x25519KeyPair } = await import('../../crypto/index.ts');
    const keys = Array.from({ length: count }, () => ({
      keyId: this.nextPreKeyId++,
      keyPair: x25519KeyPair(),
    }));
    for (const key of keys) this.store.preKeys.set(key.keyId, key);
    return keys;
  };

  readonly decrypt = (envelope: MessageEnvelope): Promise<DecryptedMessage> =>
    decryptWith(this.store, envelope);
}

/** Decrypts with any Signal key store (the session's MdSignalStore in the session tests). */
export async function decryptWith(
  store: SignalKeyStore,
  envelope: MessageEnvelope,
): Promise<DecryptedMessage> {
  const enc = envelope.encs.find((e) => e.type !== 'skmsg');
  if (!enc) return { content: { kind: 'undecryptable', reason: 'no pkmsg or msg' } };
  const from = md.parseMdJid(envelope.participant ?? envelope.from);
  const padded = await signalDecrypt(
    store,
    { name: from.user, deviceId: from.device ?? 0 },
    enc.type as 'pkmsg' | 'msg',
    enc.body,
  );
  const message = md.decodeMessage(unpadMessage(padded));
  const peer = envelope.category === 'peer';
  if (message.conversation) return { content: { kind: 'text', text: message.conversation }, peer };
  if (message.extendedTextMessage?.text) {
    return { content: { kind: 'extendedText', text: message.extendedTextMessage.text }, peer };
  }
  const protocol = message.protocolMessage;
  if (protocol?.historySyncNotification) {
    return {
      content: { kind: 'historySync', syncType: protocol.historySyncNotification.syncType ?? null },
      peer,
    };
  }
  if (protocol?.appStateSyncKeyShare) {
    return { content: { kind: 'appStateKeys', keys: protocol.appStateSyncKeyShare.keys ?? [] }, peer };
  }
  return { content: { kind: 'other', type: Object.keys(message)[0] ?? 'empty' }, peer };
}
