// Signal sender keys (group messages, skmsg): our own sender and receiver, every failure typed, and
// interop both ways with Baileys 6.17.16's WASignalGroup (a public implementation nobody here wrote), when
// scripts/install-peer.mjs has installed it (test/interop/peers.json).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../crypto/index.ts';
import {
  decodeSenderKeyDistribution,
  newSenderKey,
  parseSenderKeyRecord,
  processSenderKeyDistribution,
  type SenderKeyRecord,
  senderKeyDecrypt,
  senderKeyDistributionOf,
  senderKeyEncrypt,
  serializeSenderKeyRecord,
} from '../../crypto/md/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BAILEYS = join(ROOT, '.cache/peers/baileys-6.17.16/node_modules/@whiskeysockets/baileys');
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return (error as CryptoError).code;
  }
  return undefined;
}

/** A sender and a receiver that has its distribution message; `send` encrypts the next message. */
function pair() {
  let sender = newSenderKey();
  let receiver: SenderKeyRecord = processSenderKeyDistribution(null, senderKeyDistributionOf(sender));
  return {
    send(plaintext: string) {
      const out = senderKeyEncrypt(sender, text(plaintext));
      sender = out.record;
      return out.message;
    },
    receive(message: Uint8Array) {
      const out = senderKeyDecrypt(receiver, message);
      receiver = out.record;
      return read(out.plaintext);
    },
    get receiver() {
      return receiver;
    },
  };
}

describe('sender keys', () => {
  it('decrypts in order and out of order; each message key works once', () => {
    const p = pair();
    const messages = ['zero', 'one', 'two', 'three'].map((m) => p.send(m));
    expect(p.receive(messages[0]!)).toBe('zero');
    expect(p.receive(messages[2]!)).toBe('two');
    expect(p.receive(messages[1]!)).toBe('one');
    expect(codeOf(() => senderKeyDecrypt(p.receiver, messages[1]!))).toBe('SIGNAL_DUPLICATE');
    expect(codeOf(() => senderKeyDecrypt(p.receiver, messages[2]!))).toBe('SIGNAL_DUPLICATE');
    expect(p.receive(messages[3]!)).toBe('three');
  });

  it('a failed decrypt changes nothing; tampering, unknown keys and garbage are typed', () => {
    const p = pair();
    const message = p.send('hello');
    const before = serializeSenderKeyRecord(p.receiver);
    const tampered = message.slice();
    tampered[tampered.length - 70]! ^= 1; // in the ciphertext: the signature no longer covers it
    expect(codeOf(() => senderKeyDecrypt(p.receiver, tampered))).toBe('SIGNAL_BAD_MESSAGE');
    const signature = message.slice();
    signature[signature.length - 1]! ^= 1;
    expect(codeOf(() => senderKeyDecrypt(p.receiver, signature))).toBe('SIGNAL_BAD_MESSAGE');
    expect(serializeSenderKeyRecord(p.receiver)).toBe(before);
    expect(codeOf(() => senderKeyDecrypt(pair().receiver, message))).toBe('SIGNAL_NO_SESSION');
    expect(codeOf(() => senderKeyDecrypt(null, message))).toBe('SIGNAL_NO_SESSION');
    for (const junk of [
      new Uint8Array(0),
      Uint8Array.of(0x33),
      Uint8Array.of(0x22, 1, 2),
      new Uint8Array(80).fill(0x33),
    ])
      expect(codeOf(() => senderKeyDecrypt(p.receiver, junk))).toBe('SIGNAL_BAD_MESSAGE');
    expect(codeOf(() => decodeSenderKeyDistribution(Uint8Array.of(0x33, 0x08)))).toBe('SIGNAL_BAD_MESSAGE');
    expect(p.receive(message)).toBe('hello');
  });

  it('refuses a message more than 2000 iterations ahead, and keeps its record as JSON', () => {
    let sender = newSenderKey();
    sender.states[0]!.iteration = 2001;
    const receiver = processSenderKeyDistribution(null, {
      ...decodeSenderKeyDistribution(senderKeyDistributionOf(newSenderKey())),
    });
    sender = { states: [{ ...sender.states[0]!, keyId: receiver.states[0]!.keyId }] };
    expect(codeOf(() => senderKeyDecrypt(receiver, senderKeyEncrypt(sender, text('far')).message))).toBe(
      'SIGNAL_BAD_MESSAGE',
    );
    const p = pair();
    p.send('skipped');
    p.receive(p.send('kept'));
    const record = p.receiver;
    expect(parseSenderKeyRecord(serializeSenderKeyRecord(record))).toEqual(record);
    expect(record.states[0]!.skipped.map((s) => s.iteration)).toEqual([0]);
    expect(codeOf(() => parseSenderKeyRecord('{'))).toBe('SIGNAL_BAD_MESSAGE');
  });

  it.runIf(existsSync(join(BAILEYS, 'WASignalGroup/index.js')))(
    'interoperates with Baileys 6.17.16 WASignalGroup both ways',
    async () => {
      const require = createRequire(join(BAILEYS, 'package.json'));
      const group = require('./WASignalGroup/index.js');
      const records = new Map<string, unknown>();
      const storage = {
        loadSenderKey: async (name: string) => records.get(name) ?? new group.SenderKeyRecord(),
        storeSenderKey: async (name: string, record: unknown) => {
          records.set(name, record);
        },
      };
      const name = { toString: () => '120363000000000001@g.us::15550002222::0' };
      // Baileys sends: its distribution message, then three skmsgs (it skips an iteration after the first).
      const distribution = await new group.GroupSessionBuilder(storage).create(name);
      let ours = processSenderKeyDistribution(null, new Uint8Array(distribution.serialize()));
      const cipher = new group.GroupCipher(storage, name);
      for (const m of ['first', 'second', 'third']) {
        const out = senderKeyDecrypt(ours, new Uint8Array(await cipher.encrypt(Buffer.from(m))));
        ours = out.record;
        expect(read(out.plaintext)).toBe(m);
      }
      // We send: Baileys processes our distribution message and decrypts our skmsgs.
      let mine = newSenderKey();
      const theirs = { toString: () => '120363000000000001@g.us::15551234567::3' };
      await new group.GroupSessionBuilder(storage).process(
        theirs,
        new group.SenderKeyDistributionMessage(
          null,
          null,
          null,
          null,
          Buffer.from(senderKeyDistributionOf(mine)),
        ),
      );
      const reader = new group.GroupCipher(storage, theirs);
      for (const m of ['a', 'bb', 'ccc']) {
        const out = senderKeyEncrypt(mine, text(m));
        mine = out.record;
        expect(Buffer.from(await reader.decrypt(Buffer.from(out.message))).toString()).toBe(m);
      }
    },
  );
});
