// The companion's transport (actors/md/transport.ts) against the real MD emulator and against a scripted
// fake server that is wrong on purpose: bad certificates, a wrong root, silence, garbage (docs/protocol-md.md
// §1-§3).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isMdTransportError,
  type MdTransport,
  type MdTransportEvent,
  openMdTransport,
  registrationPayload,
} from '../../../actors/md/index.ts';
import { md } from '../../../codec/index.ts';
import { concatBytes, x25519KeyPair } from '../../../crypto/index.ts';
import { xeddsaSign } from '../../../crypto/md/index.ts';
import { type Emulator, startEmulator } from '../../../emulator/index.ts';
import {
  type FakeServer,
  type FakeServerOptions,
  startFakeMdServer,
  validChain,
} from '../../support/md-fake-server.ts';

function newKeys() {
  const identityKey = x25519KeyPair();
  const spk = x25519KeyPair();
  return {
    noiseKey: x25519KeyPair(),
    identityKey,
    signedPreKey: {
      keyId: 1,
      keyPair: spk,
      signature: xeddsaSign(identityKey.privateKey, concatBytes(Uint8Array.of(5), spk.publicKey)),
    },
    registrationId: 4242,
  };
}

let emulator: Emulator | null = null;
let fake: FakeServer | null = null;
const open: MdTransport[] = [];
afterEach(async () => {
  for (const transport of open.splice(0)) transport.close();
  await emulator?.close();
  await fake?.close();
  emulator = null;
  fake = null;
});

async function connect(
  url: string,
  root: Uint8Array,
  extra: Partial<Parameters<typeof openMdTransport>[0]> = {},
) {
  const keys = newKeys();
  const transport = await openMdTransport({
    url,
    rootPublicKey: root,
    noiseKey: keys.noiseKey,
    payload: registrationPayload(keys),
    timeouts: { handshakeMs: 2000 },
    ...extra,
  });
  open.push(transport);
  return { transport, keys };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; detail: string | null }> {
  try {
    await promise;
  } catch (error) {
    expect(isMdTransportError(error)).toBe(true);
    const typed = error as { code: string; detail: string | null };
    return { code: typed.code, detail: typed.detail };
  }
  throw new Error('expected the transport to fail');
}

/** The next `count` events, bounded. */
function events(transport: MdTransport, count: number, timeoutMs = 2000): Promise<MdTransportEvent[]> {
  return new Promise((resolve, reject) => {
    const seen: MdTransportEvent[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} events`)), timeoutMs);
    const stop = transport.listen((event) => {
      seen.push(event);
      if (seen.length === count) {
        clearTimeout(timer);
        stop();
        resolve(seen);
      }
    });
  });
}

async function fakeServer(options: FakeServerOptions): Promise<FakeServer> {
  fake = await startFakeMdServer(options);
  return fake;
}

describe('against the MD emulator', () => {
  it('handshakes under the emulator root, verifies its chain and receives pair-device with 6 refs', async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', md: { firstFrameDelayMs: 1 } });
    const { transport } = await connect(emulator.mdWsUrl, emulator.md.rootPublicKey);
    expect(transport.certificates.intermediate.issuerSerial ?? 0).toBe(0);
    expect(transport.certificates.leaf.issuerSerial).toBe(transport.certificates.intermediate.serial);
    const [event] = await events(transport, 1);
    expect(event!.type).toBe('node');
    const iq = (event as { node: md.MdNode }).node;
    expect(iq.attrs).toMatchObject({ type: 'set', xmlns: 'md' });
    expect(md.childNodes(md.requireChild(iq, 'pair-device'))).toHaveLength(6);
    // An encrypted node back: the ack of pair-device (§6.1) is accepted, and a ping is answered.
    transport.send(md.mdNode('iq', { to: 's.whatsapp.net', type: 'result', id: iq.attrs.id! }));
    transport.send(
      md.mdNode('iq', { id: 'p1', to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, [md.mdNode('ping')]),
    );
    const [pong] = await events(transport, 1);
    expect((pong as { node: md.MdNode }).node.attrs).toMatchObject({ id: 'p1', type: 'result' });
  });

  it('refuses the emulator under WhatsApp’s root (the intermediate is not signed by it)', async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    const keys = newKeys();
    const result = await failure(
      openMdTransport({ url: emulator.mdWsUrl, noiseKey: keys.noiseKey, payload: registrationPayload(keys) }),
    );
    expect(result).toEqual({ code: 'CERTIFICATE', detail: 'INTERMEDIATE_SIGNATURE' });
  });

  it('names an HTTP refusal (wrong Origin) and a refused path', async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    const root = emulator.md.rootPublicKey;
    expect((await failure(connect(emulator.mdWsUrl, root, { origin: 'https://evil.example' }))).code).toBe(
      'HTTP',
    );
    expect((await failure(connect(`${emulator.url.replace('http', 'ws')}/nope`, root))).code).toBe('HTTP');
  });
});

describe('against a hostile server', () => {
  it('a chain under another root is a CERTIFICATE error', async () => {
    const server = await fakeServer({});
    const result = await failure(connect(server.url, x25519KeyPair().publicKey));
    expect(result).toEqual({ code: 'CERTIFICATE', detail: 'INTERMEDIATE_SIGNATURE' });
  });

  it('a leaf that certifies another key than the server static is refused', async () => {
    const server = await fakeServer({
      chain: (keys) => validChain({ ...keys, serverStatic: x25519KeyPair() }),
    });
    expect(await failure(connect(server.url, server.root.publicKey))).toEqual({
      code: 'CERTIFICATE',
      detail: 'LEAF_KEY',
    });
  });

  it('a leaf signed by a key other than the intermediate’s is refused', async () => {
    const server = await fakeServer({
      chain: (keys) => {
        const good = md.decodeCertChain(validChain(keys));
        const forged = md.decodeCertChain(validChain({ ...keys, intermediate: x25519KeyPair() }));
        return md.encodeCertChain({ intermediate: good.intermediate, leaf: forged.leaf });
      },
    });
    expect((await failure(connect(server.url, server.root.publicKey))).detail).toBe('LEAF_SIGNATURE');
  });

  it('a leaf naming another issuer serial is refused', async () => {
    const server = await fakeServer({
      chain: (keys) => {
        const now = Math.floor(Date.now() / 1000);
        const chain = md.decodeCertChain(validChain(keys));
        const details = md.encodeCertDetails({
          serial: 2,
          issuerSerial: 7,
          key: keys.serverStatic.publicKey,
          notBefore: now - 60,
          notAfter: now + 60,
        });
        return md.encodeCertChain({
          intermediate: chain.intermediate,
          leaf: { details, signature: xeddsaSign(keys.intermediate.privateKey, details) },
        });
      },
    });
    expect((await failure(connect(server.url, server.root.publicKey))).detail).toBe('LEAF_ISSUER');
  });

  it('an expired chain is refused by the clock the transport is given', async () => {
    const server = await fakeServer({});
    const later = () => Date.now() + 2 * 3600_000;
    expect((await failure(connect(server.url, server.root.publicKey, { now: later }))).detail).toBe(
      'EXPIRED',
    );
  });

  it('a silent server is a TIMEOUT within the handshake deadline', async () => {
    const server = await fakeServer({ onHello: 'silent' });
    const result = await failure(
      connect(server.url, server.root.publicKey, { timeouts: { handshakeMs: 80 } }),
    );
    expect(result.code).toBe('TIMEOUT');
  });

  it('garbage instead of a ServerHello is BAD_HANDSHAKE; a close is CLOSED; an abort is ABORTED', async () => {
    const garbage = await fakeServer({ onHello: 'garbage' });
    expect((await failure(connect(garbage.url, garbage.root.publicKey))).code).toBe('BAD_HANDSHAKE');
    await garbage.close();
    const closing = await fakeServer({ onHello: 'close' });
    expect((await failure(connect(closing.url, closing.root.publicKey))).code).toBe('CLOSED');
    await closing.close();
    const silent = await fakeServer({ onHello: 'silent' });
    const controller = new AbortController();
    const pending = connect(silent.url, silent.root.publicKey, { signal: controller.signal });
    setImmediate(() => controller.abort());
    expect((await failure(pending)).code).toBe('ABORTED');
  });

  it('drops frames that do not open or decode, and keeps reading the next ones', async () => {
    const server = await fakeServer({
      onConnection: (connection) => {
        connection.sendRaw(md.encodeFrame(new Uint8Array(40).fill(7)));
        connection.sendSealed(Uint8Array.of(0, 0xf8));
        connection.sendNode(md.mdNode('success', { t: '1', lid: '1:1@lid' }));
      },
    });
    const { transport } = await connect(server.url, server.root.publicKey);
    const seen = await events(transport, 3);
    expect(seen.map((event) => (event.type === 'dropped' ? event.code : event.type))).toEqual([
      'FRAME_UNDECRYPTABLE',
      'FRAME_MALFORMED',
      'node',
    ]);
    expect(server.connections[0]!.payload.devicePairingData?.eRegid).toEqual(Uint8Array.of(0, 0, 0x10, 0x92));
  });

  it('arbitrary frames after the handshake are dropped with a typed code, never thrown (fast-check)', async () => {
    const payloads = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ sealed: false, bytes })),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ sealed: true, bytes })),
      ),
      { numRuns: 60, seed: 11 },
    );
    const server = await fakeServer({
      onConnection: (connection) => {
        for (const { sealed, bytes } of payloads) {
          if (sealed) connection.sendSealed(bytes);
          else connection.sendRaw(md.encodeFrame(bytes));
        }
        connection.sendNode(md.mdNode('success', { t: '1' }));
      },
    });
    const { transport } = await connect(server.url, server.root.publicKey);
    const seen = await events(transport, payloads.length + 1);
    for (const event of seen.slice(0, -1)) {
      expect(event.type === 'dropped' || event.type === 'node').toBe(true);
      if (event.type === 'dropped') expect(['FRAME_UNDECRYPTABLE', 'FRAME_MALFORMED']).toContain(event.code);
    }
    expect(seen.at(-1)).toMatchObject({ type: 'node', node: { tag: 'success' } });
  });

  it('a frame longer than the limit closes the connection with FRAME_TOO_LARGE', async () => {
    const server = await fakeServer({
      onConnection: (connection) => connection.sendRaw(Uint8Array.of(0x7f, 0xff, 0xff, 1, 2)),
    });
    const { transport } = await connect(server.url, server.root.publicKey, { maxFramePayload: 1024 });
    const [closed] = await events(transport, 1);
    expect(closed).toMatchObject({ type: 'closed', reason: 'FRAME_TOO_LARGE' });
    expect(transport.isOpen).toBe(false);
    expect(() => transport.send(md.mdNode('presence'))).toThrow(/not open/);
  });

  it('sends nodes the server reads with the dictionary the header named', async () => {
    const server = await fakeServer({});
    const { transport } = await connect(server.url, server.root.publicKey, { dictionary: 2 });
    expect(transport.dictionary).toBe(2);
    transport.send(md.mdNode('iq', { id: 'x', type: 'get', xmlns: 'passive' }, [md.mdNode('active')]));
    for (let i = 0; i < 200 && server.connections[0]?.nodes.length !== 1; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.connections[0]!.nodes[0]).toMatchObject({ tag: 'iq', attrs: { xmlns: 'passive' } });
  });
});
