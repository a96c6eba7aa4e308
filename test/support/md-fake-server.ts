// A scripted multi-device "server" on 127.0.0.1 for the companion's transport tests: a Noise XX responder
// (docs/protocol-md.md §2) whose certificate chain, silence and garbage a test chooses. Not the emulator: it
// exists to be wrong in exactly the way a test asks.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { md } from '../../codec/index.ts';
import { type X25519KeyPair, x25519KeyPair } from '../../crypto/index.ts';
import { NoiseResponder, type NoiseTransport } from '../../crypto/md/index.ts';

export interface FakeConnection {
  /** The client's decrypted ClientPayload. */
  payload: md.ClientPayload;
  clientStatic: Uint8Array;
  /** Received nodes, in order. */
  nodes: md.MdNode[];
  sendNode(node: md.MdNode): void;
  /** One framed transport ciphertext of arbitrary plaintext bytes. */
  sendSealed(plaintext: Uint8Array): void;
  /** Raw bytes as one WebSocket message (no framing). */
  sendRaw(bytes: Uint8Array): void;
  close(code?: number): void;
}

export interface ChainKeys {
  root: X25519KeyPair;
  intermediate: X25519KeyPair;
  serverStatic: X25519KeyPair;
}

export interface FakeServerOptions {
  /** What to do with ClientHello: answer (default), stay silent, or answer with garbage bytes. */
  onHello?: 'answer' | 'silent' | 'garbage' | 'close';
  /** The ServerHello payload; default a valid chain under `root`. */
  chain?: (keys: ChainKeys) => Uint8Array;
  onConnection?: (connection: FakeConnection) => void;
  onNode?: (connection: FakeConnection, node: md.MdNode) => void;
}

export interface FakeServer {
  url: string;
  root: X25519KeyPair;
  connections: FakeConnection[];
  close(): Promise<void>;
}

export function validChain(keys: ChainKeys, now = Math.floor(Date.now() / 1000)): Uint8Array {
  return md.buildCertChain({
    rootPrivateKey: keys.root.privateKey,
    intermediate: { serial: 1, notBefore: now - 3600, notAfter: now + 3600, keyPair: keys.intermediate },
    leaf: { serial: 2, notBefore: now - 3600, notAfter: now + 3600, publicKey: keys.serverStatic.publicKey },
  });
}

export async function startFakeMdServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const root = x25519KeyPair();
  const connections: FakeConnection[] = [];
  server.on('connection', (ws) => {
    const keys: ChainKeys = { root, intermediate: x25519KeyPair(), serverStatic: x25519KeyPair() };
    const decoder = new md.FrameDecoder({ expectIntro: true });
    let responder: NoiseResponder | null = null;
    let transport: NoiseTransport | null = null;
    let dictionary: 2 | 3 = 3;
    const sendFrame = (payload: Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(md.encodeFrame(payload));
    };
    const connection: FakeConnection = {
      payload: {},
      clientStatic: new Uint8Array(0),
      nodes: [],
      sendNode: (node) => sendFrame(transport!.seal(md.encodeMdNode(node, dictionary))),
      sendSealed: (plaintext) => sendFrame(transport!.seal(plaintext)),
      sendRaw: (bytes) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
      },
      close: (code = 1000) => ws.close(code),
    };
    ws.on('message', (data: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(new Uint8Array(data));
      } catch {
        ws.close(1002);
        return;
      }
      for (const frame of frames) {
        if (!responder) {
          dictionary = decoder.intro!.dictVersion as 2 | 3;
          const mode = options.onHello ?? 'answer';
          if (mode === 'silent') return;
          if (mode === 'close') return ws.close(1000);
          if (mode === 'garbage') return connection.sendRaw(Uint8Array.of(0, 0, 4, 1, 2, 3, 4));
          responder = new NoiseResponder({
            prologue: decoder.intro!.header,
            staticKeyPair: keys.serverStatic,
          });
          responder.readClientHello(md.decodeClientHello(frame));
          const chain = (options.chain ?? validChain)(keys);
          sendFrame(md.encodeServerHello(responder.writeServerHello(chain)));
        } else if (!transport) {
          const finish = responder.readClientFinish(md.decodeClientFinish(frame));
          connection.payload = md.decodeClientPayload(finish.payload);
          connection.clientStatic = finish.clientStatic;
          transport = responder.split();
          connections.push(connection);
          options.onConnection?.(connection);
        } else {
          const node = md.decodeMdNode(transport.open(frame), dictionary);
          connection.nodes.push(node);
          options.onNode?.(connection, node);
        }
      }
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws/chat`,
    root,
    connections,
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
