// `walink serve` under clients that never read its live stream: a child process with one ready
// session, N SSE clients that ask for /api/events and then read nothing, and M phone messages
// through the embedded emulator. Reports the child's RSS (from /proc) before, at its peak and after,
// and how many of the silent clients the service closed.
//
// WALINK_BENCH_ROOT=<a checkout> runs that checkout's `walink serve` instead (before/after figures).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { round } from './measure.ts';

const CLIENTS = Number(process.env.WALINK_BENCH_SSE_CLIENTS ?? 20);
const MESSAGES = Number(process.env.WALINK_BENCH_SSE_MESSAGES ?? 10_000);
const PHONE = '491577778888';
const MIB = 1024 * 1024;

function rssOf(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return round((kib * 1024) / MIB);
}

function startServe(root: string, home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin/walink.js'), 'serve', '--port', '0', '--home', home],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('walink serve did not start')), 30_000);
    child.once('exit', (code) => reject(new Error(`walink serve exited ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /open (http:\/\/[^/\s]+)/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolvePromise({ child, url: match[1]! });
    });
  });
}

async function json(url: string, method: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks for the stream, then never reads: what the service sends piles up somewhere. */
function silentClient(url: string, headers: Record<string, string>): Promise<Socket> {
  const { hostname, port, host } = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = Object.entries({ host, ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET /api/events HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      socket.pause();
      resolvePromise(socket);
    });
    socket.on('error', reject);
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const root = resolve(process.env.WALINK_BENCH_ROOT ?? '.');
  const home = mkdtempSync(join(tmpdir(), 'walink-bench-serve-'));
  const { child, url } = await startServe(root, home);
  const sockets: Socket[] = [];
  try {
    const tokenFile = join(home, 'api-token');
    const auth: Record<string, string> = existsSync(tokenFile)
      ? { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }
      : {};
    const info = (await json(`${url}/api/info`, 'GET', auth)) as { emulator: string };
    await json(`${url}/api/sessions`, 'POST', auth, { name: 'bench' });
    const qr = await until(async () => {
      const view = await json(`${url}/api/sessions/bench`, 'GET', auth);
      return (view.qr as { text: string } | null) ?? undefined;
    }, 'a QR code');
    await json(`${info.emulator}/phones/${PHONE}/scan`, 'POST', {}, { qr: qr.text });
    await until(async () => {
      const view = await json(`${url}/api/sessions/bench`, 'GET', auth);
      return view.state === 'online.ready' ? true : undefined;
    }, 'ready');

    for (let i = 0; i < CLIENTS; i++) sockets.push(await silentClient(url, auth));
    const closed = new Set<Socket>();
    for (const socket of sockets) socket.on('close', () => closed.add(socket));
    await new Promise((r) => setTimeout(r, 500));
    const before = rssOf(child);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(child));
    }, 100);

    const started = performance.now();
    let next = 0;
    const text = 'a message of some length, as people write them: '.repeat(4);
    const sender = async () => {
      while (next < MESSAGES) {
        const n = next++;
        await json(
          `${info.emulator}/phones/${PHONE}/messages`,
          'POST',
          {},
          {
            from: '491700000009@c.us',
            text: `${n} ${text}`,
          },
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    // The session has logged the last message once its event reaches the history.
    await until(
      async () => {
        const { events } = (await json(`${url}/api/sessions/bench/events`, 'GET', auth)) as {
          events: { payload: unknown }[];
        };
        return JSON.stringify(events.slice(-20)).includes(`${MESSAGES - 1} a message`) ? true : undefined;
      },
      'the last message',
      120_000,
    );
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1_000));
    clearInterval(sampler);
    const after = rssOf(child);
    peak = Math.max(peak, after);
    // A paused socket notices the service's close only once it has read what the kernel holds for it.
    for (const socket of sockets) socket.resume();
    const settled = Date.now() + 15_000;
    while (closed.size < sockets.length && Date.now() < settled) await new Promise((r) => setTimeout(r, 100));
    return {
      sseClientsNotReading: CLIENTS,
      messages: MESSAGES,
      messagesPerSecond: round(MESSAGES / seconds),
      rssBeforeMiB: before,
      rssPeakMiB: peak,
      rssAfterMiB: after,
      silentClientsClosedByService: closed.size,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  }
}
