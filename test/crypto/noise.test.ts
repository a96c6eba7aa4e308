import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, md } from '../../codec/index.ts';
import {
  CryptoError,
  toHex,
  x25519KeyPair,
  x25519PublicKey,
  x25519SharedSecret,
} from '../../crypto/index.ts';
import {
  buildConnectionIntro,
  connectionHeader,
  NoiseInitiator,
  NoiseResponder,
  NoiseSymmetricState,
  NoiseTransport,
  noiseIv,
  parseConnectionIntro,
} from '../../crypto/md/index.ts';
import { hex, keyPair, type NoiseTranscript, noiseVectors } from '../support/md-vectors.ts';

const { transcripts } = noiseVectors();

/** The first client WebSocket message: intro (pre-intro and header) in front of the ClientHello frame. */
function clientIntro(t: NoiseTranscript): Uint8Array {
  return buildConnectionIntro(hex(t.prologue), t.routingInfo ? hex(t.routingInfo) : null);
}

function expectCode(run: () => unknown, code: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

describe('Noise XX transcripts (test/fixtures/vectors/md/noise-xx.json)', () => {
  it('covers the three transcripts', () => {
    expect(transcripts.map((t) => t.id)).toEqual([
      'xx-wa0602-registration',
      'xx-wa0603-login',
      'xx-wa0602-edge-routing',
    ]);
  });

  describe.each(transcripts)('$id', (t) => {
    it('h after the prologue', () => {
      expect(toHex(new NoiseSymmetricState(hex(t.prologue)).handshakeHash)).toBe(t.hAfterPrologue);
    });

    it('as initiator with the client keys: every wire message, h, split keys and transport frames', () => {
      const client = new NoiseInitiator({
        prologue: hex(t.prologue),
        staticKeyPair: keyPair(t.keys.clientStatic),
        ephemeralKeyPair: keyPair(t.keys.clientEphemeral),
      });
      expect(toHex(client.handshakeHash)).toBe(t.hAfterPrologue);
      const encoder = new md.FrameEncoder(clientIntro(t));
      const hello = md.encodeClientHello(client.writeClientHello().ephemeral);
      expect(toHex(hello)).toBe(t.messages.clientHello.handshakeMessage);
      expect(toHex(encoder.encode(hello))).toBe(t.messages.clientHello.wire);

      // The server's first message, through the client's deframer.
      const [serverFrame] = new md.FrameDecoder().push(hex(t.messages.serverHello.wire));
      const { serverStatic, payload } = client.readServerHello(md.decodeServerHello(serverFrame!));
      expect(toHex(serverStatic)).toBe(t.decrypted.serverStatic);
      expect(toHex(payload)).toBe(t.decrypted.certChain);

      const finish = client.writeClientFinish(hex(t.decrypted.clientPayload));
      expect(toHex(finish.static)).toBe(t.messages.clientFinish.static);
      expect(toHex(finish.payload)).toBe(t.messages.clientFinish.payload);
      expect(toHex(encoder.encode(md.encodeClientFinish(finish)))).toBe(t.messages.clientFinish.wire);
      expect(toHex(client.handshakeHash)).toBe(t.hFinal);

      const transport = client.split();
      for (const frame of t.transport) {
        if (frame.direction === 'client->server') {
          expect(toHex(encoder.encode(transport.seal(hex(frame.plaintext))))).toBe(frame.wire);
        } else {
          const [body] = new md.FrameDecoder().push(hex(frame.wire));
          expect(toHex(transport.open(body!))).toBe(frame.plaintext);
        }
      }
      expect(transport.writeCounter).toBe(2);
      expect(transport.readCounter).toBe(2);
    });

    it('as responder with the server keys: every wire message, h, split keys and transport frames', () => {
      const server = new NoiseResponder({
        prologue: hex(t.prologue),
        staticKeyPair: keyPair(t.keys.serverStatic),
        ephemeralKeyPair: keyPair(t.keys.serverEphemeral),
      });
      const decoder = new md.FrameDecoder({ expectIntro: true });
      const [helloFrame] = decoder.push(hex(t.messages.clientHello.wire));
      expect(toHex(decoder.intro!.header)).toBe(t.prologue);
      expect(decoder.intro!.routingInfo && toHex(decoder.intro!.routingInfo)).toBe(t.routingInfo ?? null);
      server.readClientHello(md.decodeClientHello(helloFrame!));

      const serverHello = server.writeServerHello(hex(t.decrypted.certChain));
      expect(toHex(serverHello.static)).toBe(t.messages.serverHello.static);
      expect(toHex(serverHello.payload)).toBe(t.messages.serverHello.payload);
      expect(toHex(md.encodeFrame(md.encodeServerHello(serverHello)))).toBe(t.messages.serverHello.wire);

      const [finishFrame] = decoder.push(hex(t.messages.clientFinish.wire));
      const { clientStatic, payload } = server.readClientFinish(md.decodeClientFinish(finishFrame!));
      expect(toHex(clientStatic)).toBe(t.decrypted.clientStatic);
      expect(toHex(payload)).toBe(t.decrypted.clientPayload);
      expect(toHex(server.handshakeHash)).toBe(t.hFinal);

      const transport = server.split();
      for (const frame of t.transport) {
        if (frame.direction === 'server->client') {
          expect(toHex(md.encodeFrame(transport.seal(hex(frame.plaintext))))).toBe(frame.wire);
        } else {
          const [body] = decoder.push(hex(frame.wire));
          expect(toHex(transport.open(body!))).toBe(frame.plaintext);
        }
      }
    });

    it('replays the responder log step by step: every DH, every h, the AAD of each AEAD, the split keys', () => {
      const keys = {
        ee: () => x25519SharedSecret(hex(t.keys.serverEphemeral.private), hex(t.keys.clientEphemeral.public)),
        es: () => x25519SharedSecret(hex(t.keys.serverStatic.private), hex(t.keys.clientEphemeral.public)),
        se: () => x25519SharedSecret(hex(t.keys.serverEphemeral.private), hex(t.keys.clientStatic.public)),
      } as Record<string, () => Uint8Array>;
      const mixed: Record<string, string> = {
        'client ephemeral (e)': t.messages.clientHello.ephemeral,
        'server ephemeral (e)': t.messages.serverHello.ephemeral,
      };
      const encrypted = [t.keys.serverStatic.public, t.decrypted.certChain];
      const decrypted = [t.messages.clientFinish.static, t.messages.clientFinish.payload];
      const state = new NoiseSymmetricState(hex(t.prologue));
      const ops: string[] = [];
      for (const step of t.steps) {
        ops.push(step.op);
        if (step.op === 'MixHash') {
          if (step.what && mixed[step.what]) state.mixHash(hex(mixed[step.what]!));
          expect(toHex(state.handshakeHash), step.what).toBe(step.h);
        } else if (step.op === 'MixKey') {
          const dh = keys[step.what!]!();
          expect(toHex(dh), step.what).toBe(step.dh);
          state.mixKey(dh);
        } else if (step.op === 'EncryptAndHash' || step.op === 'DecryptAndHash') {
          expect(toHex(state.handshakeHash), step.what).toBe(step.ad);
          if (step.op === 'EncryptAndHash') state.encryptAndHash(hex(encrypted.shift()!));
          else state.decryptAndHash(hex(decrypted.shift()!));
        } else if (step.op === 'Split') {
          const [first, second] = state.split();
          expect([toHex(first), toHex(second)]).toEqual([step.k1, step.k2]);
          expect([toHex(first), toHex(second)]).toEqual([t.split.clientWriteKey, t.split.clientReadKey]);
        }
      }
      expect(ops.filter((op) => op === 'MixKey')).toHaveLength(3);
      expect(ops.at(-1)).toBe('Split');
      expect(toHex(state.handshakeHash)).toBe(t.hFinal);
    });

    it('split keys: the client writes with the first half, the server with the second', () => {
      const client = new NoiseTransport(hex(t.split.clientWriteKey), hex(t.split.clientReadKey));
      const server = new NoiseTransport(hex(t.split.clientReadKey), hex(t.split.clientWriteKey));
      const frame = t.transport.find((f) => f.direction === 'server->client' && f.counter === 0)!;
      expect(toHex(server.seal(hex(frame.plaintext)))).toBe(frame.ciphertext);
      expect(toHex(client.open(hex(frame.ciphertext)))).toBe(frame.plaintext);
    });
  });
});

function handshake(prologue = connectionHeader(3)) {
  const client = new NoiseInitiator({ prologue, staticKeyPair: x25519KeyPair() });
  const serverStatic = x25519KeyPair();
  const server = new NoiseResponder({ prologue, staticKeyPair: serverStatic });
  server.readClientHello(client.writeClientHello());
  const hello = client.readServerHello(server.writeServerHello(new Uint8Array([1, 2, 3])));
  const finish = server.readClientFinish(client.writeClientFinish(new Uint8Array([4, 5])));
  return { client, server, hello, finish, serverStatic };
}

describe('Noise XX between our own initiator and responder', () => {
  it('agrees on h, delivers both payloads and both statics', () => {
    const { client, server, hello, finish, serverStatic } = handshake();
    expect(hello.payload).toEqual(new Uint8Array([1, 2, 3]));
    expect(hello.serverStatic).toEqual(serverStatic.publicKey);
    expect(finish.payload).toEqual(new Uint8Array([4, 5]));
    expect(toHex(client.handshakeHash)).toBe(toHex(server.handshakeHash));
  });

  it('transport: frames in both directions with independent counters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }),
        (plan) => {
          const { client, server } = handshake();
          const a = client.split();
          const b = server.split();
          for (const [fromClient, body] of plan) {
            const [writer, reader] = fromClient ? [a, b] : [b, a];
            expect(reader.open(writer.seal(body))).toEqual(body);
          }
          const sent = plan.filter(([fromClient]) => fromClient).length;
          expect(a.writeCounter).toBe(sent);
          expect(b.readCounter).toBe(sent);
          expect(b.writeCounter).toBe(plan.length - sent);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a failed open is BAD_TAG and leaves the read counter where it was', () => {
    const { client, server } = handshake();
    const a = client.split();
    const b = server.split();
    const first = a.seal(new Uint8Array([1, 2, 3]));
    const tampered = first.slice();
    tampered[0]! ^= 1;
    expectCode(() => b.open(tampered), 'BAD_TAG');
    expectCode(() => b.open(new Uint8Array(5)), 'BAD_LENGTH');
    expect(b.readCounter).toBe(0);
    expect(b.open(first)).toEqual(new Uint8Array([1, 2, 3]));
    expect(b.readCounter).toBe(1);
    // A replayed frame is under the wrong counter now.
    expectCode(() => b.open(first), 'BAD_TAG');
  });

  it('a different prologue on each side fails the first decryption', () => {
    const client = new NoiseInitiator({ prologue: connectionHeader(2), staticKeyPair: x25519KeyPair() });
    const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    server.readClientHello(client.writeClientHello());
    const hello = server.writeServerHello(new Uint8Array([9]));
    expectCode(() => client.readServerHello(hello), 'BAD_TAG');
    // The failed handshake stays failed.
    expectCode(() => client.writeClientFinish(new Uint8Array([1])), 'NOISE_STATE');
  });

  it('a tampered ClientFinish is rejected by the responder', () => {
    const client = new NoiseInitiator({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    server.readClientHello(client.writeClientHello());
    client.readServerHello(server.writeServerHello(new Uint8Array([9])));
    const finish = client.writeClientFinish(new Uint8Array([1, 2]));
    const payload = finish.payload.slice();
    payload[payload.length - 1]! ^= 0x80;
    expectCode(() => server.readClientFinish({ static: finish.static, payload }), 'BAD_TAG');
  });

  it('steps out of order and malformed fields are typed errors', () => {
    const client = new NoiseInitiator({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    expectCode(() => client.writeClientFinish(new Uint8Array(1)), 'NOISE_STATE');
    expectCode(() => client.split(), 'NOISE_STATE');
    client.writeClientHello();
    expectCode(() => client.writeClientHello(), 'NOISE_STATE');
    const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    expectCode(() => server.readClientHello({ ephemeral: new Uint8Array(31) }), 'BAD_LENGTH');
    expectCode(
      () => new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: {} as never }),
      'BAD_LENGTH',
    );
    const fresh = new NoiseInitiator({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    fresh.writeClientHello();
    expectCode(
      () =>
        fresh.readServerHello({
          ephemeral: new Uint8Array(32),
          static: new Uint8Array(47),
          payload: new Uint8Array(0),
        }),
      'BAD_LENGTH',
    );
  });

  it('hostile handshake bytes give typed errors only (decoded frames, then Noise)', () => {
    const serverStatic = x25519KeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 120 }), (hello, finish) => {
        const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: serverStatic });
        try {
          server.readClientHello(md.decodeClientHello(hello));
          server.writeServerHello(new Uint8Array(10));
          server.readClientFinish(md.decodeClientFinish(finish));
          expect.unreachable('random bytes cannot complete a handshake');
        } catch (error) {
          expect(error instanceof CryptoError || error instanceof CodecError).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // Well-formed protobufs with random keys and ciphertexts get as far as the Noise checks.
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.uint8Array({ maxLength: 64 }),
        (ephemeral, encryptedStatic, payload) => {
          const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: serverStatic });
          try {
            server.readClientHello({ ephemeral });
            server.writeServerHello(new Uint8Array(10));
            server.readClientFinish({ static: encryptedStatic, payload });
            expect.unreachable('a forged ClientFinish cannot decrypt');
          } catch (error) {
            expect(error).toBeInstanceOf(CryptoError);
            expect(['BAD_TAG', 'BAD_LENGTH', 'BAD_PUBLIC_KEY']).toContain((error as CryptoError).code);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the IV is 8 zero bytes and the big-endian counter', () => {
    expect(toHex(noiseIv(0))).toBe('000000000000000000000000');
    expect(toHex(noiseIv(0x01020304))).toBe('000000000000000001020304');
    expect(toHex(noiseIv(0xffffffff))).toBe('0000000000000000ffffffff');
  });
});

describe('connection intro (edge-routing pre-intro)', () => {
  it('builds `WA 06 0N` alone, or behind `ED 00 01 ‖ u24 ‖ routing info`', () => {
    expect(toHex(connectionHeader(3))).toBe('57410603');
    expect(toHex(buildConnectionIntro(connectionHeader(2)))).toBe('57410602');
    const t = transcripts.find((x) => x.routingInfo)!;
    const intro = buildConnectionIntro(hex(t.prologue), hex(t.routingInfo!));
    expect(t.messages.clientHello.wire.startsWith(toHex(intro))).toBe(true);
    expect(intro).toHaveLength(29);
  });

  it('parses back what it builds, and waits for more bytes on any prefix of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.option(fc.uint8Array({ maxLength: 300 })),
        (v, routing) => {
          const intro = buildConnectionIntro(connectionHeader(v), routing);
          const parsed = parseConnectionIntro(intro)!;
          expect(parsed.dictVersion).toBe(v);
          expect(parsed.length).toBe(intro.length);
          expect(parsed.routingInfo).toEqual(routing ?? null);
          for (let cut = 0; cut < intro.length; cut++)
            expect(parseConnectionIntro(intro.subarray(0, cut))).toBeNull();
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects garbage as soon as it is seen, and routing info over the bound', () => {
    expectCode(() => parseConnectionIntro(Uint8Array.of(0x00)), 'BAD_INTRO');
    expectCode(() => parseConnectionIntro(Uint8Array.of(0x57, 0x42)), 'BAD_INTRO');
    expectCode(() => parseConnectionIntro(Uint8Array.of(0x57, 0x41, 0x05, 0x03)), 'BAD_INTRO');
    expectCode(() => parseConnectionIntro(Uint8Array.of(0x45, 0x44, 0x00, 0x02)), 'BAD_INTRO');
    expectCode(
      () => parseConnectionIntro(Uint8Array.of(0x45, 0x44, 0x00, 0x01, 0x00, 0x10, 0x00), 100),
      'BAD_INTRO',
    );
    const behind = buildConnectionIntro(connectionHeader(3), new Uint8Array(4));
    behind[behind.length - 4] = 0x58;
    expectCode(() => parseConnectionIntro(behind), 'BAD_INTRO');
    expectCode(() => connectionHeader(256), 'BAD_INTRO');
  });
});

describe('X25519 key pairs and agreement', () => {
  it('a low-order peer key is BAD_PUBLIC_KEY, also inside the handshake', () => {
    expectCode(() => x25519SharedSecret(x25519KeyPair().privateKey, new Uint8Array(32)), 'BAD_PUBLIC_KEY');
    const client = new NoiseInitiator({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    client.writeClientHello();
    const zero = { ephemeral: new Uint8Array(32), static: new Uint8Array(48), payload: new Uint8Array(16) };
    expectCode(() => client.readServerHello(zero), 'BAD_PUBLIC_KEY');
    const server = new NoiseResponder({ prologue: connectionHeader(3), staticKeyPair: x25519KeyPair() });
    server.readClientHello({ ephemeral: Uint8Array.of(1, ...new Uint8Array(31)) });
    expectCode(() => server.writeServerHello(new Uint8Array(1)), 'BAD_PUBLIC_KEY');
    expectCode(() => server.writeServerHello(new Uint8Array(1)), 'NOISE_STATE');
  });

  it('gives a private key whose X25519 public key is the one returned', () => {
    for (let i = 0; i < 20; i++) {
      const pair = x25519KeyPair();
      expect(pair.privateKey).toHaveLength(32);
      expect(x25519PublicKey(pair.privateKey)).toEqual(pair.publicKey);
    }
  });
});
