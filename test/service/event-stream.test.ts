// Backpressure on the live stream: clients that never read are dropped once they hold more than the
// limit, a client that reads gets every frame, and the service wires the hub's options.
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStreamHub } from '../../service/index.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hubServer(hub: EventStreamHub): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => hub.open(req, res, 'event: hello\ndata: {}\n\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    hub.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as { port: number }).port };
}

/** A client that asks for the stream and then never reads a byte. */
function silentClient(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      socket.pause();
      resolve({ socket, closed: new Promise((done) => socket.on('close', () => done())) });
    });
    socket.on('error', reject);
    cleanups.push(() => {
      socket.destroy();
    });
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the live stream', () => {
  it('drops clients that do not read once they hold more than the limit, and keeps those that do', async () => {
    const limit = 256 * 1024;
    const hub = new EventStreamHub({ maxBufferedBytes: limit });
    const { port } = await hubServer(hub);
    const silent = await Promise.all(Array.from({ length: 3 }, () => silentClient(port)));

    // One client that reads everything.
    const reader = (await fetch(`http://127.0.0.1:${port}/api/events`)).body!.getReader();
    cleanups.push(() => reader.cancel().catch(() => undefined));
    let received = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += value.length;
      }
    })();
    await until(() => hub.size === 4, 'four clients');

    // 16 MB per client, far beyond what the kernel's socket buffers take (about 4 MB on loopback).
    const frame = `event: update\ndata: ${'x'.repeat(64 * 1024)}\n\n`;
    const frames = 256;
    for (let i = 0; i < frames; i++) {
      hub.broadcast(frame);
      await tick();
    }
    expect(hub.dropped).toBe(3);
    expect(hub.size).toBe(1);
    // Their sockets are closed (a paused socket only notices once it reads again).
    for (const client of silent) client.socket.resume();
    await Promise.all(silent.map((client) => client.closed));

    const hello = 'event: hello\ndata: {}\n\n'.length;
    await until(() => received === hello + frames * frame.length, 'every frame at the reader');
    hub.closeAll();
    await reading;
  });

  it('sends a frame larger than the limit to a client that has read everything before it', async () => {
    const hub = new EventStreamHub({ maxBufferedBytes: 1024 });
    const { port } = await hubServer(hub);
    const reader = (await fetch(`http://127.0.0.1:${port}/api/events`)).body!.getReader();
    cleanups.push(() => reader.cancel().catch(() => undefined));
    await until(() => hub.size === 1, 'a client');
    let text = '';
    const big = `event: update\ndata: ${'y'.repeat(10_000)}\n\n`;
    const reading = (async () => {
      while (!text.includes(big)) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    await until(() => text.includes('hello'), 'hello');
    hub.broadcast(big);
    await reading;
    expect(text).toContain(big);
    expect(hub.dropped).toBe(0);
  });

  it('keeps an idle stream alive with heartbeat comments', async () => {
    const hub = new EventStreamHub({ heartbeatMs: 20 });
    const { port } = await hubServer(hub);
    const reader = (await fetch(`http://127.0.0.1:${port}/api/events`)).body!.getReader();
    cleanups.push(() => reader.cancel().catch(() => undefined));
    let text = '';
    while (!text.includes(': keep-alive\n\n')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    expect(text.startsWith('event: hello\n')).toBe(true);
  });
});
