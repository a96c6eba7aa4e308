// Hostile input: no byte sequence crashes the MD server or closes anything but its own connection, every
// refusal is a typed error, and memory per connection stays bounded. Most cases drive connections
// in-process (emulator.md.accept over a fake socket): the handshake, the framing and the nodes are fuzzed
// with fast-check, 10^5 cases in all; a few tests use real sockets.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import { randomBytes, x25519KeyPair } from '../../../crypto/index.ts';
import {
  buildConnectionIntro,
  connectionHeader,
  NoiseInitiator,
  type NoiseTransport,
} from '../../../crypto/md/index.ts';
import { type Emulator, type MdServer, startEmulator } from '../../../emulator/index.ts';
import { loginPayload, newClientKeys, registrationPayload } from '../../support/md-raw-client.ts';
import { harness } from './helpers.ts';

type MdConnection = ReturnType<MdServer['accept']>;

const TYPED_CODES = new Set([
  'BAD_DICTIONARY',
  'BAD_HANDSHAKE',
  'BAD_PAYLOAD',
  'BACKPRESSURE',
  'TIMEOUT',
  'BAD_STANZA',
  // CodecError / CryptoError codes the floors raise on garbage
  'BAD_INTRO',
  'BAD_FRAME',
  'FRAME_TOO_LARGE',
  'BAD_PROTO',
  'BAD_LENGTH',
  'BAD_TAG',
  'BAD_PUBLIC_KEY',
  'NOISE_STATE',
  'TRUNCATED',
  'TRAILING_BYTES',
  'BAD_LIST',
  'EMPTY_NODE',
  'UNKNOWN_TOKEN',
  'BAD_PACKED',
  'BAD_STRING',
  'BAD_JID',
  'TOO_DEEP',
  'TOO_LARGE',
  'BAD_ZLIB',
  'BAD_NODE',
]);

/** A socket in memory: what the server sends is collected; nothing reaches a network. */
class FakeSocket {
  readonly sent: Uint8Array[] = [];
  closed: { code: number; reason: string } | null = null;
  bufferedAmount = 0;
  paused = false;
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

let emulator: Emulator;
let server: MdServer;

beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    md: { firstFrameDelayMs: 0, streamErrorCloseMs: 0, handshakeTimeoutMs: 60_000, idleTimeoutMs: 60_000 },
  });
  server = emulator.md;
});
afterAll(async () => emulator.close());

function open(): { socket: FakeSocket; connection: MdConnection } {
  const socket = new FakeSocket();
  return { socket, connection: server.accept(socket) };
}

/** After a case: the connection ended with a typed code, or is still waiting (then it is closed here). */
function settle(connection: MdConnection): void {
  if (connection.closeInfo) {
    expect(TYPED_CODES, connection.closeInfo.message).toContain(connection.closeInfo.code);
  } else {
    connection.close('case done');
  }
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + payload.length);
  out[0] = payload.length >>> 16;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

/** Splits bytes into WebSocket messages at the given cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) parts.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return parts.length ? parts : [bytes];
}

const header = (version: number) => connectionHeader(version);

/** Tens of thousands of cases are seconds of CPU alone, and minutes on a machine shared with other work. */
const FUZZ_TIMEOUT_MS = 240_000;

describe('the handshake and the framing, fuzzed in-process', () => {
  it(
    'any bytes at all: typed refusals only (30,000 cases)',
    () => {
      // 30,000 + 30,000 + 300 here, 2 × 20,000 + 400 below: 100,700 cases.
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.array(fc.nat(400), { maxLength: 3 }),
          (bytes, cuts) => {
            const { connection } = open();
            for (const message of split(bytes, cuts)) connection.receive(message);
            settle(connection);
          },
        ),
        { numRuns: 30_000 },
      );
      expect(server.stats.internalErrors).toBe(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'a valid header (either dictionary, with or without a pre-intro) then random frames (30,000 cases)',
    () => {
      let serverHellos = 0;
      const payload = fc.oneof(
        fc.uint8Array({ maxLength: 120 }),
        // Protobuf-looking: a ClientHello field with a random body.
        fc.uint8Array({ maxLength: 80 }).map((body) => Uint8Array.of(0x12, body.length, ...body)),
        // A ClientHello whose ephemeral is random: mostly 32 bytes (a ServerHello follows), sometimes not.
        fc
          .oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 }))
          .map((key) => Uint8Array.of(0x12, key.length + 2, 0x0a, key.length, ...key)),
      );
      fc.assert(
        fc.property(
          fc.constantFrom(2, 3, 0, 7),
          fc.option(fc.uint8Array({ maxLength: 30 }), { nil: undefined }),
          fc.array(payload, { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          (version, routing, payloads, lie) => {
            const { socket, connection } = open();
            const intro = buildConnectionIntro(header(version), routing ?? null);
            const frames = payloads.map((p) => {
              const f = frame(p);
              // A length that does not match what follows.
              if (lie) f[2] = (f[2]! + 7) & 0xff;
              return f;
            });
            connection.receive(new Uint8Array(Buffer.concat([intro, ...frames])));
            if (socket.sent.length > 0) serverHellos += 1;
            settle(connection);
          },
        ),
        { numRuns: 30_000 },
      );
      // Not vacuous: cases got past the intro to the dictionary check, the protobuf, the key and ServerHello.
      expect(server.stats.refusals.BAD_DICTIONARY).toBeGreaterThan(1000);
      expect(server.stats.refusals.BAD_PROTO).toBeGreaterThan(1000);
      expect(server.stats.refusals.BAD_LENGTH).toBeGreaterThan(100);
      expect(serverHellos).toBeGreaterThan(100);
      expect(server.stats.internalErrors).toBe(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  // A full handshake costs a few X25519 operations (milliseconds here): few cases, the rest above and below.
  it(
    'a real ClientHello, then a random or tampered ClientFinish (300 cases)',
    () => {
      const keys = newClientKeys(0);
      const genuine = md.encodeClientPayload(registrationPayload(keys));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ raw: bytes })),
            fc.nat(500).map((flip) => ({ flip })),
          ),
          (finish) => {
            const { socket, connection } = open();
            const noise = new NoiseInitiator({ prologue: header(3), staticKeyPair: keys.noise });
            connection.receive(
              new md.FrameEncoder(header(3)).encode(md.encodeClientHello(noise.writeClientHello().ephemeral)),
            );
            const serverHello = new md.FrameDecoder().push(socket.sent[0]!)[0]!;
            noise.readServerHello(md.decodeServerHello(serverHello));
            let bytes: Uint8Array;
            if ('raw' in finish) {
              bytes = finish.raw;
            } else {
              bytes = md.encodeClientFinish(noise.writeClientFinish(genuine));
              bytes[finish.flip % bytes.length]! ^= 0x01;
            }
            connection.receive(frame(bytes));
            settle(connection);
          },
        ),
        { numRuns: 300 },
      );
      // A flipped bit anywhere in the encrypted static or payload fails its GCM tag.
      expect(server.stats.refusals.BAD_TAG).toBeGreaterThan(50);
      expect(server.stats.internalErrors).toBe(0);
    },
    FUZZ_TIMEOUT_MS,
  );
});

/** An in-process companion on a fake socket: the client half of the transport, by hand. */
class InProcessCompanion {
  readonly socket = new FakeSocket();
  readonly connection: MdConnection;
  private readonly decoder = new md.FrameDecoder();
  private transport!: NoiseTransport;
  private read = 0;
  readonly nodes: md.MdNode[] = [];

  constructor(readonly dictVersion: 2 | 3) {
    this.connection = server.accept(this.socket);
  }

  handshake(payload: md.ClientPayload, noiseKeys = x25519KeyPair()): void {
    const noise = new NoiseInitiator({ prologue: header(this.dictVersion), staticKeyPair: noiseKeys });
    const encoder = new md.FrameEncoder(header(this.dictVersion));
    this.connection.receive(encoder.encode(md.encodeClientHello(noise.writeClientHello().ephemeral)));
    const serverHello = this.decoder.push(this.socket.sent[this.read++]!)[0]!;
    noise.readServerHello(md.decodeServerHello(serverHello));
    this.connection.receive(
      encoder.encode(md.encodeClientFinish(noise.writeClientFinish(md.encodeClientPayload(payload)))),
    );
    this.transport = noise.split();
  }

  /** Everything the server sent since the last call, decrypted and decoded (each must open). */
  drain(): md.MdNode[] {
    const fresh: md.MdNode[] = [];
    while (this.read < this.socket.sent.length) {
      for (const sealed of this.decoder.push(this.socket.sent[this.read++]!)) {
        fresh.push(md.decodeMdNode(this.transport.open(sealed), this.dictVersion));
      }
    }
    this.nodes.push(...fresh);
    return fresh;
  }

  sendPlaintext(plaintext: Uint8Array): void {
    this.connection.receive(frame(this.transport.seal(plaintext)));
  }

  send(node: md.MdNode): void {
    this.sendPlaintext(md.encodeMdNode(node, this.dictVersion));
  }
}

interface StoredDevice {
  keys: ReturnType<typeof newClientKeys>;
  id: number;
}

/** A companion of an account stored as linked (pairing itself is the conformance suite's business). */
function storeDevice(): StoredDevice {
  const keys = newClientKeys(0);
  const account = server.context.state.account('15559990000');
  const id = account.nextDevice++;
  account.devices.set(id, {
    id,
    keyIndex: account.nextKeyIndex++,
    noiseStatic: keys.noise.publicKey,
    identity: keys.identity.publicKey,
    registrationId: keys.registrationId,
    signedPreKey: {
      keyId: 1,
      publicKey: keys.signedPreKey.keyPair.publicKey,
      signature: keys.signedPreKey.signature,
    },
    preKeys: [],
    platform: {},
    linkedAt: Date.now(),
    bootstrapped: true,
    queue: [],
  });
  return { keys, id };
}

/** Logs a stored device in on a new in-process connection. */
function linkedCompanion(dictVersion: 2 | 3, device: StoredDevice = storeDevice()): InProcessCompanion {
  const companion = new InProcessCompanion(dictVersion);
  companion.handshake(loginPayload('15559990000', device.id), device.keys.noise);
  return companion;
}

const word = (values: string[]) => fc.oneof(fc.constantFrom(...values), fc.string({ maxLength: 12 }));
const anyNode: fc.Arbitrary<md.MdNode> = fc.letrec<{ node: md.MdNode }>((tie) => ({
  node: fc.record({
    tag: word([
      'iq',
      'ack',
      'receipt',
      'message',
      'presence',
      'chatstate',
      'notification',
      'count',
      'list',
      'key',
      'id',
      'value',
      'enc',
      'sync',
      'collection',
      'participants',
      'to',
      'item',
      'skey',
      'registration',
      'identity',
      'type',
      'link_code_companion_reg',
    ]),
    attrs: fc.dictionary(
      word(['id', 'type', 'xmlns', 'to', 'class', 'jid', 'stage', 'name', 'version', 'from']),
      word([
        'get',
        'set',
        'result',
        'error',
        'encrypt',
        'w:p',
        'passive',
        'w',
        'md',
        's.whatsapp.net',
        '@s.whatsapp.net',
        'message',
        'notification',
        '4917000000001@s.whatsapp.net',
        'companion_hello',
        'companion_finish',
        'msg',
        'pkmsg',
        '5',
      ]),
      { maxKeys: 5 },
    ),
    content: fc.oneof(
      { depthSize: 'small' },
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 64 }),
      fc.string({ maxLength: 20 }),
      fc.array(tie('node'), { maxLength: 4 }),
    ),
  }) as fc.Arbitrary<md.MdNode>,
})).node;

/** IQs shaped like the ones companions send (§9), with random details and random children. */
const iqArbitrary: fc.Arbitrary<md.MdNode> = fc
  .record({
    type: fc.constantFrom('get', 'set', 'result', 'error', 'probe'),
    xmlns: word([
      'encrypt',
      'passive',
      'w',
      'blocklist',
      'privacy',
      'w:p',
      'w:sync:app:state',
      'md',
      'usync',
      'w:profile:picture',
    ]),
    to: fc.constantFrom(undefined, 's.whatsapp.net', '@s.whatsapp.net', '4917000000001@s.whatsapp.net'),
    first: fc.record({
      tag: word([
        'count',
        'active',
        'passive',
        'props',
        'privacy',
        'ping',
        'sync',
        'list',
        'registration',
        'link_code_companion_reg',
        'remove-companion-device',
        'usync',
        'picture',
      ]),
      attrs: fc.dictionary(
        word(['protocol', 'hash', 'stage', 'jid', 'name', 'version']),
        fc.string({ maxLength: 12 }),
        { maxKeys: 3 },
      ),
      content: fc.oneof(fc.constant(undefined), fc.array(anyNode, { maxLength: 4 })),
    }),
    rest: fc.array(anyNode, { maxLength: 3 }),
  })
  .map(({ type, xmlns, to, first, rest }) => {
    const attrs: Record<string, string> = { type, xmlns };
    if (to !== undefined) attrs.to = to;
    return md.mdNode('iq', attrs, [md.mdNode(first.tag, first.attrs, first.content), ...rest]);
  });

const nodeArbitrary = fc.oneof({ arbitrary: iqArbitrary, weight: 3 }, { arbitrary: anyNode, weight: 1 });

describe('nodes after login, fuzzed in-process', () => {
  it.each([2, 3] as const)(
    'dictionary v%i: every request IQ gets exactly one answer, and the socket stays open (20,000 cases)',
    async (dictVersion) => {
      const companion = linkedCompanion(dictVersion);
      await companion.connection.idle();
      expect(companion.drain().map((node) => node.tag)).toEqual(['success', 'ib']);
      let counter = 0;
      let answered = 0;
      const iqsBefore = Object.values(server.stats.iqs).reduce((a, b) => a + b, 0);
      await fc.assert(
        fc.asyncProperty(nodeArbitrary, async (node) => {
          const id = `f${counter++}`;
          const stanza = node.tag === 'iq' ? { ...node, attrs: { ...node.attrs, id } } : node;
          let plaintext: Uint8Array;
          try {
            plaintext = md.encodeMdNode(stanza, dictVersion);
          } catch {
            return; // the client-side encoder refuses it: nothing to send
          }
          companion.sendPlaintext(plaintext);
          await companion.connection.idle();
          const answers = companion.drain().filter((answer) => answer.tag === 'iq' && answer.attrs.id === id);
          // A request (any type but result/error) is answered exactly once: a result, an error, or 501.
          const isRequest =
            stanza.tag === 'iq' && stanza.attrs.type !== 'result' && stanza.attrs.type !== 'error';
          expect(answers.length).toBe(isRequest ? 1 : 0);
          answered += answers.length;
          expect(companion.connection.isOpen).toBe(true);
        }),
        { numRuns: 20_000 },
      );
      // Not vacuous: thousands of requests reached the IQ table and were answered.
      expect(answered).toBeGreaterThan(2000);
      expect(Object.values(server.stats.iqs).reduce((a, b) => a + b, 0) - iqsBefore).toBeGreaterThan(500);
      expect(server.stats.internalErrors).toBe(0);
      companion.connection.close('done');
    },
    FUZZ_TIMEOUT_MS,
  );

  it('random plaintext after a real handshake: decoded or refused with a typed error (400 cases)', async () => {
    const device = storeDevice();
    let current = linkedCompanion(3, device);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), async (plaintext) => {
        // A refused frame ends its connection: the same device logs in again (replacing nothing).
        if (!current.connection.isOpen) current = linkedCompanion(3, device);
        await current.connection.idle();
        current.sendPlaintext(plaintext);
        await current.connection.idle();
        if (current.connection.closeInfo) settle(current.connection);
      }),
      { numRuns: 400 },
    );
    expect(server.stats.internalErrors).toBe(0);
  }, 60_000);
});

describe('bounded resources', () => {
  it('refuses a frame larger than maxFramePayload without buffering it', async () => {
    const h = await harness({ md: { maxFramePayload: 1024 } });
    try {
      const client = await h.connect();
      client.sendRaw(new Uint8Array([...connectionHeader(3), 0x00, 0x10, 0x00]));
      await client.waitClosed();
      expect(h.emulator.md.stats.refusals.FRAME_TOO_LARGE).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('pauses reading while the peer leaves output unread, and drops it past the limit', () => {
    const { socket, connection } = open();
    const local = new InProcessCompanionOn(socket, connection);
    local.handshake();
    socket.bufferedAmount = 2 * 1024 * 1024;
    connection.sendNode(md.mdNode('iq', { id: 'x', type: 'result' }));
    expect(socket.paused).toBe(true);
    socket.bufferedAmount = 9 * 1024 * 1024;
    connection.sendNode(md.mdNode('iq', { id: 'y', type: 'result' }));
    expect(connection.closeInfo?.code).toBe('BACKPRESSURE');
  });

  it('pauses reading when frames pile up faster than they are handled, and closes far past the limit', () => {
    const companion = linkedCompanion(3);
    const pings = Array.from({ length: 300 }, (_, i) =>
      md.mdNode('iq', { id: `p${i}`, to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, [md.mdNode('ping')]),
    );
    for (const ping of pings) companion.send(ping);
    expect(companion.socket.paused).toBe(true);
    for (let i = 0; i < 800; i++) companion.send(pings[0]!);
    expect(companion.connection.closeInfo?.code).toBe('BACKPRESSURE');
  });

  it('closes an idle socket and one that never finishes its handshake', async () => {
    const h = await harness({ md: { idleTimeoutMs: 60, handshakeTimeoutMs: 40 } });
    try {
      const silent = await h.connect();
      const half = await h.connect();
      half.sendRaw(connectionHeader(3));
      await Promise.all([silent.waitClosed(), half.waitClosed()]);
      expect(h.emulator.md.stats.refusals.TIMEOUT).toBe(2);
    } finally {
      await h.close();
    }
  });

  it('keeps serving other sockets while a hostile one sends garbage over a real WebSocket', async () => {
    const h = await harness();
    try {
      const hostile = await h.connect();
      const honest = await h.connect();
      hostile.sendRaw(randomBytes(5000));
      await hostile.waitClosed();
      await honest.register(h.emulator.md.rootPublicKey);
      expect(md.findChild(await honest.nextTag('iq'), 'pair-device')).toBeDefined();
      expect(h.emulator.md.stats.internalErrors).toBe(0);
    } finally {
      await h.close();
    }
  });
});

/** A handshake on an already opened in-process connection (for the backpressure case). */
class InProcessCompanionOn {
  constructor(
    private readonly socket: FakeSocket,
    private readonly connection: MdConnection,
  ) {}
  handshake(): void {
    const keys = newClientKeys(0);
    const noise = new NoiseInitiator({ prologue: header(3), staticKeyPair: keys.noise });
    const encoder = new md.FrameEncoder(header(3));
    this.connection.receive(encoder.encode(md.encodeClientHello(noise.writeClientHello().ephemeral)));
    noise.readServerHello(md.decodeServerHello(new md.FrameDecoder().push(this.socket.sent[0]!)[0]!));
    this.connection.receive(
      encoder.encode(
        md.encodeClientFinish(noise.writeClientFinish(md.encodeClientPayload(registrationPayload(keys)))),
      ),
    );
  }
}
