import { format } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { md } from '../../codec/index.ts';
import { CryptoError, toHex, x25519KeyPair } from '../../crypto/index.ts';
import {
  djbPublicKey,
  MemorySignalKeyStore,
  padMessage,
  signalDecrypt,
  signalEncrypt,
  signalStartSession,
  unpadMessage,
  xeddsaSign,
} from '../../crypto/md/index.ts';
import { fromDecodedVector, hex, keyPair, signalVectors } from '../support/md-vectors.ts';

const v = signalVectors();
const SENDER = { name: v.sender.jid.split('@')[0]!, deviceId: 0 };

function receiverStore(): MemorySignalKeyStore {
  const r = v.receiver;
  return new MemorySignalKeyStore(
    { registrationId: r.registrationId, identityKeyPair: keyPair(r.identityKey) },
    {
      signedPreKeys: [
        {
          keyId: r.signedPreKey.keyId,
          keyPair: keyPair(r.signedPreKey),
          signature: hex(r.signedPreKey.signature),
        },
      ],
      preKeys: [{ keyId: r.oneTimePreKey.keyId, keyPair: keyPair(r.oneTimePreKey) }],
    },
  );
}

async function expectCode(run: () => Promise<unknown>, code: string): Promise<void> {
  const error = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Signal pkmsg (signal-message.json) through libsignal', () => {
  it('decrypts with the receiver keys to the padded plaintext, which unpads to the Message', async () => {
    const store = receiverStore();
    const padded = await signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg));
    expect(toHex(padded)).toBe(v.expected.paddedPlaintext);
    const protobuf = unpadMessage(padded);
    expect(toHex(protobuf)).toBe(v.expected.messageProtobuf);
    const message = md.decodeMessage(protobuf);
    expect(message.conversation).toBe(v.expected.conversation);
    expect(message).toEqual(fromDecodedVector('Message', v.expected.decodedWithWhatsmeowSchema));
    expect(toHex(md.encodeMessage(message))).toBe(v.expected.messageProtobuf);
    // The session is stored and the one-time pre-key is gone.
    expect(store.sessions.size).toBe(1);
    expect(store.preKeys.has(v.receiver.oneTimePreKey.keyId)).toBe(false);
  });

  it('the same pkmsg twice fails: its message key is used, and its one-time pre-key is consumed', async () => {
    const store = receiverStore();
    await signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg));
    await expectCode(() => signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg)), 'SIGNAL_DUPLICATE');
    // Even without the session it opened, the pre-key cannot open another.
    store.sessions.clear();
    await expectCode(() => signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg)), 'SIGNAL_PREKEY');
  });

  it('rejects a tampered pkmsg (without consuming the pre-key), a msg without a session and garbage', async () => {
    const macAt = v.pkmsg.indexOf(v.parsed.whisperMessage.mac8) / 2;
    const cipherAt = v.pkmsg.indexOf(v.parsed.whisperMessage.ciphertext) / 2;
    expect(macAt).toBeGreaterThan(0);
    const store = receiverStore();
    for (const at of [macAt, cipherAt + 3]) {
      const tampered = hex(v.pkmsg);
      tampered[at]! ^= 1;
      await expectCode(() => signalDecrypt(store, SENDER, 'pkmsg', tampered), 'SIGNAL_BAD_MESSAGE');
    }
    const otherSignedPreKey = hex(v.pkmsg);
    otherSignedPreKey[otherSignedPreKey.length - 1]! ^= 1; // the outer message ends with signedPreKeyId
    await expectCode(() => signalDecrypt(store, SENDER, 'pkmsg', otherSignedPreKey), 'SIGNAL_PREKEY');
    expect(toHex(await signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg)))).toBe(v.expected.paddedPlaintext);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await expectCode(() => signalDecrypt(receiverStore(), SENDER, 'msg', hex(v.pkmsg)), 'SIGNAL_NO_SESSION');
    await expectCode(
      () => signalDecrypt(receiverStore(), SENDER, 'pkmsg', Uint8Array.of(0x33, 1, 2)),
      'SIGNAL_BAD_MESSAGE',
    );
    await expectCode(
      () => signalDecrypt(receiverStore(), SENDER, 'pkmsg', new Uint8Array(0)),
      'SIGNAL_BAD_MESSAGE',
    );
    await expectCode(
      () => signalDecrypt(receiverStore(), { name: 'a.b', deviceId: 0 }, 'msg', Uint8Array.of(1)),
      'SIGNAL_BAD_MESSAGE',
    );
  });

  it('never logs key material while sessions are replaced', async () => {
    const logged: string[] = [];
    for (const level of ['log', 'info', 'warn', 'error'] as const) {
      // util.format renders arguments exactly as console does.
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => logged.push(format(...args)));
    }
    const store = receiverStore();
    await signalDecrypt(store, SENDER, 'pkmsg', hex(v.pkmsg));
    // A second session from the same sender (a new pkmsg) closes the first one.
    const { sender, body } = await freshSenderMessage(store, new TextEncoder().encode('again'));
    await signalDecrypt(store, sender, 'pkmsg', body);
    // The replacement path ran (libsignal says so), and printed no session object.
    expect(logged.join('\n')).toMatch(/Closing open session/);
    expect(logged.join('\n')).not.toMatch(/privKey|chainKey|rootKey/);
  });
});

/** A new outgoing session to the receiver (from the vector's sender address), as a contact would start one. */
async function freshSenderMessage(receiver: MemorySignalKeyStore, plaintext: Uint8Array) {
  const identity = x25519KeyPair();
  const senderStore = new MemorySignalKeyStore({ registrationId: 99, identityKeyPair: identity });
  const spk = (await receiver.signedPreKey(1))!;
  const preKey = x25519KeyPair();
  receiver.preKeys.set(77, { keyId: 77, keyPair: preKey });
  const to = { name: v.receiver.jid.split(/[:@]/)[0]!, deviceId: 3 };
  await signalStartSession(senderStore, to, {
    registrationId: v.receiver.registrationId,
    identityKey: hex(v.receiver.identityKey.public),
    signedPreKey: { keyId: 1, publicKey: spk.keyPair.publicKey, signature: spk.signature },
    preKey: { keyId: 77, publicKey: preKey.publicKey },
  });
  const { type, body } = await signalEncrypt(senderStore, to, padMessage(plaintext));
  expect(type).toBe('pkmsg');
  return { sender: SENDER, body };
}

describe('Signal sessions between two walink stores', () => {
  function party(registrationId: number) {
    const identity = x25519KeyPair();
    const signed = x25519KeyPair();
    const oneTime = x25519KeyPair();
    const store = new MemorySignalKeyStore(
      { registrationId, identityKeyPair: identity },
      {
        signedPreKeys: [
          {
            keyId: 1,
            keyPair: signed,
            signature: xeddsaSign(identity.privateKey, djbPublicKey(signed.publicKey)),
          },
        ],
        preKeys: [{ keyId: 5, keyPair: oneTime }],
      },
    );
    const bundle = {
      registrationId,
      identityKey: identity.publicKey,
      signedPreKey: {
        keyId: 1,
        publicKey: signed.publicKey,
        signature: xeddsaSign(identity.privateKey, djbPublicKey(signed.publicKey)),
      },
      preKey: { keyId: 5, publicKey: oneTime.publicKey },
    };
    return { store, bundle };
  }

  it('pkmsg until answered, then msg, both ways', async () => {
    const alice = party(1);
    const bob = party(2);
    const toBob = { name: 'bob', deviceId: 0 };
    const toAlice = { name: 'alice', deviceId: 0 };
    await signalStartSession(alice.store, toBob, bob.bundle);
    const first = await signalEncrypt(alice.store, toBob, padMessage(Uint8Array.of(1), 3));
    const second = await signalEncrypt(alice.store, toBob, padMessage(Uint8Array.of(2), 3));
    expect([first.type, second.type]).toEqual(['pkmsg', 'pkmsg']);
    expect(unpadMessage(await signalDecrypt(bob.store, toAlice, first.type, first.body))).toEqual(
      Uint8Array.of(1),
    );
    expect(unpadMessage(await signalDecrypt(bob.store, toAlice, second.type, second.body))).toEqual(
      Uint8Array.of(2),
    );
    const reply = await signalEncrypt(bob.store, toAlice, padMessage(Uint8Array.of(3), 1));
    expect(reply.type).toBe('msg');
    expect(unpadMessage(await signalDecrypt(alice.store, toBob, 'msg', reply.body))).toEqual(
      Uint8Array.of(3),
    );
    const after = await signalEncrypt(alice.store, toBob, padMessage(Uint8Array.of(4), 2));
    expect(after.type).toBe('msg');
  });

  it('refuses a bundle whose signed pre-key signature does not verify (libsignal would not check)', async () => {
    const alice = party(1);
    const bob = party(2);
    const forged = {
      ...bob.bundle,
      signedPreKey: { ...bob.bundle.signedPreKey, signature: new Uint8Array(64) },
    };
    await expectCode(
      () => signalStartSession(alice.store, { name: 'bob', deviceId: 0 }, forged),
      'SIGNAL_PREKEY',
    );
    await expectCode(
      () => signalEncrypt(alice.store, { name: 'bob', deviceId: 0 }, Uint8Array.of(1)),
      'SIGNAL_NO_SESSION',
    );
  });
});

describe('message padding', () => {
  it('pads with n bytes of n and strips them; bad padding is BAD_PADDING', async () => {
    expect(toHex(padMessage(hex(v.message.protobuf), 7))).toBe(v.message.paddedPlaintext);
    for (let i = 0; i < 50; i++) {
      const padded = padMessage(Uint8Array.of(9, 9));
      expect(padded.length - 2).toBeGreaterThanOrEqual(1);
      expect(padded.length - 2).toBeLessThanOrEqual(16);
      expect(unpadMessage(padded)).toEqual(Uint8Array.of(9, 9));
    }
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(1, 0),
      Uint8Array.of(3, 3),
      Uint8Array.of(1, 2, 2, 3),
    ]) {
      await expectCode(async () => unpadMessage(bad), 'BAD_PADDING');
    }
  });
});
