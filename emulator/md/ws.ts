// A `ws` WebSocket as an MdSocket: binary sends, the bytes still buffered, reading paused and resumed.
import type { WebSocket } from 'ws';
import type { MdConnection, MdSocket } from './connection.ts';

export function wsSocket(ws: WebSocket): MdSocket {
  return {
    send: (bytes) => ws.send(bytes, { binary: true }),
    close: (code, reason) => {
      ws.close(code, reason);
      // A peer that never finishes the close handshake must not keep the socket.
      setTimeout(() => ws.terminate(), 2000).unref();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

/** Feeds a connection from its WebSocket. */
export function attachWs(ws: WebSocket, connection: MdConnection): void {
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer | Buffer[] | ArrayBuffer) => {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    connection.receive(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  ws.on('close', () => connection.socketClosed());
  ws.on('error', () => connection.socketClosed());
}
