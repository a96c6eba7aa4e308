// A legacy "server" on 127.0.0.1 that answers as a hostile one would (docs/protocol.md §2 turned against
// the client): each client frame is handed to a script that writes whatever it likes back. Optionally,
// sockets whose init carries a clientId the script does not claim are piped to a real emulator, so one
// URL can serve a hostile session and an honest one side by side.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { parseClientFrame } from '../../codec/index.ts';

export interface HostileSocket {
  /** Sends raw text (a frame, or anything). */
  send(text: string): void;
  close(): void;
}

/** What the script sees of one client frame. */
export interface ClientMessage {
  tag: string;
  /** The JSON payload (`["admin","init",…]`), or null for a ping or a binary frame. */
  data: unknown;
}

export interface HostileServer {
  url: string;
  /** Sockets opened so far (hostile and piped). */
  readonly sockets: number;
  close(): Promise<void>;
}

export async function startHostileServer(options: {
  script: (socket: HostileSocket, message: ClientMessage) => void;
  /** Pipe sockets whose init clientId this says are not hostile to `pipeTo` (an emulator's ws URL). */
  hostile?: (clientId: string) => boolean;
  pipeTo?: string;
}): Promise<HostileServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  let sockets = 0;
  server.on('connection', (ws) => {
    sockets += 1;
    const hostileSocket: HostileSocket = {
      send: (text) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
      },
      close: () => ws.close(),
    };
    let pipe: WebSocket | null = null;
    let decided = !options.pipeTo;
    const backlog: { data: WebSocket.RawData; isBinary: boolean }[] = [];
    ws.on('message', (data, isBinary) => {
      if (pipe) {
        if (pipe.readyState === WebSocket.OPEN) pipe.send(data, { binary: isBinary });
        else backlog.push({ data, isBinary });
        return;
      }
      let message: ClientMessage;
      try {
        const frame = parseClientFrame(new Uint8Array(data as Buffer), isBinary);
        message = { tag: 'tag' in frame ? frame.tag : '', data: frame.kind === 'json' ? frame.data : null };
      } catch {
        return;
      }
      if (!decided && options.pipeTo && options.hostile) {
        decided = true;
        const clientId = Array.isArray(message.data) ? String(message.data[4]) : '';
        if (!options.hostile(clientId)) {
          const upstream = new WebSocket(options.pipeTo, { origin: 'https://web.whatsapp.com' });
          pipe = upstream;
          backlog.push({ data, isBinary });
          upstream.on('open', () => {
            for (const held of backlog.splice(0)) upstream.send(held.data, { binary: held.isBinary });
          });
          upstream.on('message', (up, upBinary) => {
            if (ws.readyState === WebSocket.OPEN) ws.send(up, { binary: upBinary });
          });
          upstream.on('close', () => ws.close());
          upstream.on('error', () => ws.close());
          ws.on('close', () => upstream.close());
          return;
        }
      }
      options.script(hostileSocket, message);
    });
    ws.on('error', () => undefined);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    get sockets() {
      return sockets;
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A script that answers every request with hostile fields: init and reref with a ref holding a comma and a
 * huge ttl, a login with odd statuses, Conn pushes with empty, huge or path-like tokens and wids.
 * `initRef` lets init through with a ref that is fine, so that the login's answers are read.
 */
export function hostileScript(options: { initRef?: string } = {}) {
  return (socket: HostileSocket, message: ClientMessage) => hostileAnswers(socket, message, options);
}

export function hostileAnswers(
  socket: HostileSocket,
  { tag, data }: ClientMessage,
  options: { initRef?: string } = {},
): void {
  if (!Array.isArray(data) || data[0] !== 'admin') return;
  const kind = data[1] === 'Conn' ? data[2] : data[1];
  switch (kind) {
    case 'init':
      socket.send(
        `${tag},${JSON.stringify({ status: 200, ref: options.initRef ?? '1@evil,ref', ttl: 2 ** 40 })}`,
      );
      return;
    case 'reref':
      socket.send(`${tag},${JSON.stringify({ status: 200, ref: '2@evil,ref', ttl: 1e300 })}`);
      return;
    case 'login':
      for (const fields of [
        { clientToken: '', serverToken: '', wid: '../../../tmp/pwned' },
        { clientToken: 'x'.repeat(100_000), serverToken: '1@y', wid: '491511112222@c.us' },
        { clientToken: 'a', serverToken: 'b', wid: '491511112222@c.us', binVersion: 'eleven' },
      ])
        socket.send(`s1,${JSON.stringify(['Conn', fields])}`);
      socket.send(`s2,${JSON.stringify(['Cmd', { type: 'disconnect', kind: { nested: true } }])}`);
      socket.send(`s3,${JSON.stringify(['Msg', { cmd: 'ack', id: 42 }])}`);
      socket.send(`${tag},${JSON.stringify({ status: 'two hundred', tos: 'x' })}`);
      return;
  }
}
