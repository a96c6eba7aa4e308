// The session's numbers: frames verified+decrypted+decoded per second through the protocol and the ready
// machine (beside the bare primitives as a reference), restore time from socket open to ready, and a
// scale run with many sessions in this process against the emulator in another process.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { createActor, fromCallback } from 'xstate';
import {
  ClientProtocol,
  type CredentialStore,
  createSession,
  MemoryCredentialStore,
  SessionManager,
  serializeCredentials,
} from '../actors/index.ts';
import { decodeNode, encodeNode, serverBinaryFrame } from '../codec/index.ts';
import { openFrame, randomBytes, sealFrame, toBase64, x25519KeyPair } from '../crypto/index.ts';
import { startEmulator } from '../emulator/index.ts';
import {
  type Credentials,
  type SocketActorInput,
  type SocketCommand,
  type SocketEvent,
  sessionMachine,
} from '../machines/index.ts';
import { build } from '../scripts/build.ts';
import { relayAction } from './corpus.ts';
import { measure, round } from './measure.ts';

const MIB = 1024 * 1024;

function readySession() {
  const keys = { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
  const machine = sessionMachine.provide({
    actors: { socket: fromCallback<SocketCommand, SocketActorInput>(() => undefined) },
    actions: { storeCredentials: () => undefined, clearCredentials: () => undefined },
  });
  const actor = createActor(machine, {
    input: {
      clientId: toBase64(randomBytes(16)),
      credentials: {
        clientId: 'x',
        clientToken: 'c',
        serverToken: 's',
        browserToken: 'b',
        ...keys,
        wid: 'w@c.us',
      },
      keyPair: x25519KeyPair(),
      timing: { keepAliveIdle: 3_600_000, phoneCheck: 3_600_000 },
    },
  });
  let messages = 0;
  actor.on('message', () => {
    messages += 1;
  });
  actor.start();
  for (const event of [
    { type: 'socket.open' },
    { type: 'init.ok', ref: '1@r', ttl: 20_000 },
    {
      type: 'server.conn',
      conn: { wid: 'w@c.us', clientToken: 'c2', serverToken: 's2', browserToken: 'b2' },
    },
    { type: 'login.result', status: 200 },
  ] as SocketEvent[])
    actor.send(event);
  const state = JSON.stringify(actor.getSnapshot().value);
  if (!state.includes('ready')) throw new Error(`bench session is not ready: ${state}`);
  return { actor, keys, messages: () => messages, protocol: new ClientProtocol({ keys }) };
}

function frameStream(): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const perFrame of [1, 50]) {
    const ready = readySession();
    const frames = Array.from({ length: 200 }, (_, i) => {
      const [, , children] = relayAction(perFrame, i);
      return serverBinaryFrame(
        `${i}.--${i}`,
        sealFrame(ready.keys, encodeNode(['action', { add: 'relay' }, children])),
      );
    });
    let next = 0;
    const full = measure(() => {
      const frame = frames[next++ % frames.length]!;
      ready.actor.send(ready.protocol.incoming(frame, true));
    });
    if (ready.messages() < full.iterations * perFrame)
      throw new Error('the ready machine did not emit every message');
    // Reference: the bare verify+decrypt+decode, no classification, no machine.
    const payloads = frames.map((f) => f.subarray(f.indexOf(0x2c) + 1));
    const bare = measure(() => decodeNode(openFrame(ready.keys, payloads[next++ % payloads.length]!)));
    ready.actor.stop();
    results[`${perFrame}msgPerFrame`] = {
      framesPerSecond: full.opsPerSecond,
      messagesPerSecond: round(full.opsPerSecond * perFrame),
      frameBytes: frames[0]!.length,
      referenceFramesPerSecond: bare.opsPerSecond,
      ratioToReference: round(full.opsPerSecond / bare.opsPerSecond, 2),
    };
  }
  return {
    ...results,
    note: 'full = ClientProtocol (split, HMAC, AES, decode, WebMessageInfo) + the ready machine emitting message events; reference = openFrame + decodeNode only',
  };
}

async function restoreTime(): Promise<Record<string, unknown>> {
  const emu = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    // The client's own cost, not a real server's latency.
    legacy: { latencyMs: 0 },
  });
  try {
    const store = new MemoryCredentialStore();
    const pairing = await createSession({ url: emu.wsUrl, store });
    pairing.events$.subscribe((e) => {
      if (e.type === 'qr')
        void fetch(`${emu.url}/phones/491511112222/scan`, {
          method: 'POST',
          body: JSON.stringify({ qr: e.text }),
          headers: { 'content-type': 'application/json' },
        });
    });
    pairing.start();
    await pairing.waitFor((s) => s.name === 'online.ready', 10_000);
    await pairing.stop();
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      const session = await createSession({ url: emu.wsUrl, store });
      let opened = 0;
      session.events$.subscribe((e) => {
        // online.initializing is entered on socket.open.
        if (e.type === 'state' && e.state === 'online.initializing') opened = performance.now();
      });
      session.start();
      await session.waitFor((s) => s.name === 'online.ready', 10_000);
      samples.push(performance.now() - opened);
      await session.stop();
    }
    samples.sort((a, b) => a - b);
    return {
      restores: samples.length,
      medianMs: round(samples[samples.length >> 1]!, 2),
      p95Ms: round(samples[Math.floor(samples.length * 0.95)]!, 2),
      note: 'socket open → ready: init, login with takeover, Conn, 200, against the in-process emulator on 127.0.0.1',
    };
  } finally {
    await emu.close();
  }
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/**
 * The sessions of the scale run come from the compiled package (dist/, built by scaleRun), what an installed
 * walink runs: through tsx every closure the sources create per session also carries a `name` property
 * (esbuild's keepNames), which puts it in dictionary mode (~9 KiB per session that no user pays).
 */
async function compiledActors(): Promise<typeof import('../actors/index.ts')> {
  return (await import(
    new URL('../dist/actors/index.js', import.meta.url).href
  )) as typeof import('../actors/index.ts');
}

export async function scale(count: number): Promise<Record<string, unknown>> {
  const { FileCredentialStore, MemoryCredentialStore, SessionManager } = await compiledActors();
  // One phone per session, idle sockets kept, and the client's own cost rather than a server's latency.
  const emulatorArgs = ['--port', '0', '--ref-ttl', '120000', '--latency', '0'];
  emulatorArgs.push('--max-phones', String(count + 100), '--idle-timeout', '3600000');
  const child = spawn(process.execPath, ['bin/walink.js', 'emulator', ...emulatorArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once('line', resolve),
    );
    const httpUrl = /listening on (\S+)/.exec(line)![1]!;
    const wsUrl = `${httpUrl.replace(/^http/, 'ws')}/ws`;
    // Pair every session once (distinct phones) in a process of its own, as a real service's earlier life
    // did: this process then only restarts them, and its RSS holds nothing the pairing left in the allocator.
    const credentialsDir = mkdtempSync(join(tmpdir(), 'walink-bench-scale-'));
    await new Promise<void>((resolve, reject) => {
      const pairing = spawn(
        process.execPath,
        ['bin/run-ts.js', 'bench/session-scale-child.ts', '--pair', String(count), httpUrl, credentialsDir],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      pairing.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`pairing exited with ${code}`)),
      );
    });
    const stores: CredentialStore<Credentials>[] = [];
    for (let i = 0; i < count; i++) {
      const credentials = await new FileCredentialStore(join(credentialsDir, `${i}.json`)).load();
      if (!credentials) throw new Error(`session ${i} was not paired`);
      stores.push(new MemoryCredentialStore(credentials));
    }
    rmSync(credentialsDir, { recursive: true, force: true });
    collectGarbage();
    const atStart = process.memoryUsage();
    const timing = { keepAliveIdle: 120_000, phoneCheck: 600_000 };
    const before = process.memoryUsage();
    const manager = new SessionManager({ concurrentConnects: 100 });
    const started = performance.now();
    const sessions = await Promise.all(
      stores.map((store, i) => manager.add(String(i), { url: wsUrl, store, timing })),
    );
    await Promise.all(sessions.map((s) => s.waitFor((state) => state.name === 'online.ready', 60_000)));
    const seconds = (performance.now() - started) / 1000;
    collectGarbage();
    const after = process.memoryUsage();
    // committed (what RSS pays) and used per V8 space: where the heap beyond the live objects sits
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics()
        .filter((space) => space.space_size > MIB)
        .map((space) => [
          space.space_name,
          {
            committedMiB: round(space.physical_space_size / MIB),
            usedMiB: round(space.space_used_size / MIB),
          },
        ]),
    );
    // WALINK_BENCH_HEAP_SNAPSHOT=<file>: a heap snapshot with every session ready, to attribute their memory
    if (process.env.WALINK_BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.WALINK_BENCH_HEAP_SNAPSHOT);
    const perSession = (after.heapUsed + after.external - before.heapUsed - before.external) / count;
    await manager.stopAll();
    return {
      sessions: count,
      loginsPerSecond: round(count / seconds),
      concurrentConnects: 100,
      heapPlusExternalKiBPerSession: round(perSession / 1024),
      processRssMiBAllReady: round(after.rss / MIB),
      processRssMiBBeforeRestore: round(before.rss / MIB),
      heapUsedMiBAllReady: round(after.heapUsed / MIB),
      // what RSS holds beside the live heap: the heap V8 keeps committed, and memory outside it
      heapTotalMiBAllReady: round(after.heapTotal / MIB),
      externalMiBAllReady: round(after.external / MIB),
      arrayBuffersMiBAllReady: round(after.arrayBuffers / MIB),
      heapSpacesAllReady: spaces,
      heapUsedMiBWithStoresLoaded: round(atStart.heapUsed / MIB),
      heapUsedMiBBeforeRestore: round(before.heapUsed / MIB),
      note: 'all sessions restored and ready at once in this process (one WebSocket each) from credentials paired earlier in another process, running the compiled package (dist/); the emulator runs in a child process',
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/** Pairs `count` sessions against the emulator at `httpUrl` and writes each one's credentials to `dir`/<i>.json. */
export async function pairSessions(count: number, httpUrl: string, dir: string): Promise<void> {
  const wsUrl = `${httpUrl.replace(/^http/, 'ws')}/ws`;
  // In memory while the sockets are open (each one holds a file descriptor already), written out at the end.
  const stores = Array.from({ length: count }, () => new MemoryCredentialStore());
  const timing = { keepAliveIdle: 120_000, phoneCheck: 600_000 };
  const pairing = new SessionManager({ concurrentConnects: 100 });
  pairing.events$.subscribe(({ session, event }) => {
    if (event.type === 'qr')
      void fetch(`${httpUrl}/phones/4916${session.padStart(8, '0')}/scan`, {
        method: 'POST',
        body: JSON.stringify({ qr: event.text }),
        headers: { 'content-type': 'application/json' },
      }).catch(() => undefined);
  });
  await Promise.all(stores.map((store, i) => pairing.add(String(i), { url: wsUrl, store, timing })));
  await Promise.all(
    pairing.names().map((n) => pairing.get(n)!.waitFor((s) => s.name === 'online.ready', 120_000)),
  );
  await pairing.stopAll();
  for (const [i, store] of stores.entries()) {
    const credentials = await store.load();
    if (credentials) writeFileSync(join(dir, `${i}.json`), serializeCredentials(credentials));
  }
}

/** The open-file limit of a process started here (each session holds one socket, so it caps the count). */
function fdLimit(): number {
  const result = spawnSync('bash', ['-c', 'ulimit -Sn $(ulimit -Hn) 2>/dev/null; ulimit -Sn'], {
    encoding: 'utf8',
  });
  const limit = Number(result.stdout.trim());
  return Number.isFinite(limit) ? limit : 1024;
}

/**
 * One scale point in a fresh process (bench/session-scale-child.ts) whose soft open-file limit is raised to
 * the hard one, so that each point's RSS is its own and not what an earlier point left in the allocator.
 */
function scalePoint(count: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'bash',
      [
        '-c',
        // WALINK_BENCH_SCALE_NODE_FLAGS: node flags for the measured process only (e.g. a heap bound).
        'ulimit -Sn $(ulimit -Hn) 2>/dev/null; exec "$0" $WALINK_BENCH_SCALE_NODE_FLAGS bin/run-ts.js bench/session-scale-child.ts "$1"',
        process.execPath,
        String(count),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the scale run of ${count} sessions exited with ${code}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

export async function scaleRun(requested: number): Promise<Record<string, unknown>> {
  // The emulator's child process holds the other end of every socket under the same limit.
  const limit = fdLimit();
  const ceiling = limit - 200;
  const count = Math.min(requested, ceiling);
  console.error('bench: session scale: building dist/…');
  await build(false);
  const small = await scalePoint(Math.min(1000, count));
  if (count <= 1000) return { ...small, openFileLimit: limit };
  const large = await scalePoint(count);
  const rss = (point: Record<string, unknown>) => point.processRssMiBAllReady as number;
  const slope = ((rss(large) - rss(small)) * 1024) / (count - (small.sessions as number));
  return {
    ...large,
    requested,
    openFileLimit: limit,
    ...(count < requested
      ? {
          cappedBy: `the hard open-file limit ${limit} of this machine (one socket per session in each process)`,
          rssMiBAt20000ByTheSlope: round(rss(large) + ((20_000 - count) * slope) / 1024),
        }
      : {}),
    rssMiBPerSession: round(rss(large) / count, 4),
    slopeKiBPerSession: round(slope),
    slopeBetween: `${small.sessions} and ${count} sessions (process RSS, all ready)`,
    smallPoint: small,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const count = Number(process.env.WALINK_BENCH_SESSIONS ?? 1000);
  return {
    frames: frameStream(),
    restore: await restoreTime(),
    scale: await scaleRun(count),
  };
}
