// Multi-device sessions against `walink emulator` in another process (docs/protocol-md.md):
// - idle ready sessions in this process: WALINK_BENCH_MD_SESSIONS (default 1000; the target is
//   5,000 in < 1 GB RSS: WALINK_BENCH_MD_SESSIONS=5000) companions, paired beforehand by a child process
//   (bench/md-pair-child.ts, the emulator's phone scanning each QR code), are restored by login here in
//   five steps; after each step every session is ready and the process's RSS and heap are sampled, giving
//   MiB per session and the least-squares slope; then the sessions idle (pings every 30 s) for a while;
// - pairing + login: QR shown → the phone scans → pair-success → 515 → login → ready, and a restore by
//   login, each the median of WALINK_BENCH_MD_PAIRINGS (default 15) in a row;
// - incoming texts decrypted per second per core: WALINK_BENCH_MD_TEXTS (default 400) texts from 4 contacts
//   sent through the emulator's phone API to one ready session, counted as `md.message` events, over the
//   CPU time (user + system) this process spent meanwhile (the emulator's encryption runs in its own).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createSession,
  MD_CREDENTIAL_CODEC,
  type MdCredentialRecord,
  MemoryCredentialStore,
  type Session,
  SessionManager,
} from '../actors/index.ts';
import { round } from './measure.ts';

const MIB = 1024 * 1024;
const STEPS = 5;

interface RunningEmulator {
  child: ChildProcess;
  httpUrl: string;
  mdWsUrl: string;
  rootHex: string;
}

const progress = (text: string) => console.error(`bench: md-session: ${text}`);

/** `walink emulator` as a child process, allowed the sockets the run needs, no first-frame delay. */
async function spawnEmulator(maxConnections: number): Promise<RunningEmulator> {
  const child = spawn(
    process.execPath,
    [
      'bin/walink.js',
      'emulator',
      '--port',
      '0',
      '--first-frame-delay',
      '0',
      '--md-max-connections',
      String(maxConnections),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const wanted = new Promise<{ httpUrl: string; mdWsUrl: string; rootHex: string }>((resolve, reject) => {
    let httpUrl: string | undefined;
    lines.on('line', (line) => {
      const listening = /listening on (\S+)/.exec(line);
      if (listening) httpUrl = listening[1]!;
      const md = /multi-device WebSocket (\S+), certificate root ([0-9a-f]{64})/.exec(line);
      if (md && httpUrl) resolve({ httpUrl, mdWsUrl: md[1]!, rootHex: md[2]! });
    });
    child.once('exit', (code) => reject(new Error(`walink emulator exited ${code}`)));
  });
  return { child, ...(await wanted) };
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** Pairs `count` companions in a child process (phones from `first`); their serialized records. */
async function preSeed(emu: RunningEmulator, count: number, first: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'walink-bench-md-'));
  const out = join(dir, 'records.jsonl');
  try {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        'bin/run-ts.js',
        'bench/md-pair-child.ts',
        emu.mdWsUrl,
        emu.httpUrl,
        emu.rootHex,
        String(count),
        out,
        String(first),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`the pairing child exited ${code}`);
    const records = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string);
    if (records.length !== count) throw new Error(`the pairing child paired ${records.length} of ${count}`);
    progress(`pre-seeded ${count} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return records;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isReady = (session: Session) => session.state.tags.includes('ready');

async function idleSessions(emu: RunningEmulator, count: number): Promise<Record<string, unknown>> {
  const seedStarted = performance.now();
  const records = await preSeed(emu, count, 0);
  const preSeedSeconds = (performance.now() - seedStarted) / 1000;
  collectGarbage();
  const before = process.memoryUsage();
  const manager = new SessionManager({ concurrentConnects: 50 });
  const samples: { sessions: number; rssMiB: number; heapMiB: number; externalMiB: number }[] = [
    {
      sessions: 0,
      rssMiB: round(before.rss / MIB),
      heapMiB: round(before.heapUsed / MIB),
      externalMiB: round(before.external / MIB),
    },
  ];
  const started = performance.now();
  try {
    for (let step = 1; step <= STEPS; step++) {
      const from = Math.floor(((step - 1) * count) / STEPS);
      const to = Math.floor((step * count) / STEPS);
      const sessions = await Promise.all(
        records.slice(from, to).map((text, k) =>
          manager.add(String(from + k), {
            protocol: 'md',
            url: emu.mdWsUrl,
            rootPublicKey: new Uint8Array(Buffer.from(emu.rootHex, 'hex')),
            store: new MemoryCredentialStore<MdCredentialRecord>(
              MD_CREDENTIAL_CODEC.parse(text, 'bench'),
              MD_CREDENTIAL_CODEC,
            ),
          }),
        ),
      );
      await Promise.all(sessions.map((s) => s.waitFor((state) => state.tags.includes('ready'), 120_000)));
      collectGarbage();
      const now = process.memoryUsage();
      samples.push({
        sessions: to,
        rssMiB: round(now.rss / MIB),
        heapMiB: round(now.heapUsed / MIB),
        externalMiB: round(now.external / MIB),
      });
      progress(`${to} ready, RSS ${round(now.rss / MIB)} MiB`);
    }
    const loginSeconds = (performance.now() - started) / 1000;
    // Idle: every session pings every 30 s (docs/protocol-md.md §11); how much of a core they take.
    const idleMs = Number(process.env.WALINK_BENCH_MD_IDLE_MS ?? 35_000);
    const cpuBefore = process.cpuUsage();
    const idleStart = performance.now();
    await sleep(idleMs);
    const cpu = process.cpuUsage(cpuBefore);
    const idleWall = performance.now() - idleStart;
    const names = manager.names();
    const stillReady = names.filter((name) => isReady(manager.get(name)!)).length;
    collectGarbage();
    const after = process.memoryUsage();
    const last = samples.at(-1)!;
    return {
      sessions: count,
      stillReadyAfterIdle: stillReady,
      idleSeconds: round(idleWall / 1000),
      idleCpuPercentOfOneCore: round(((cpu.user + cpu.system) / 1000 / idleWall) * 100, 2),
      processRssMiBAllReady: last.rssMiB,
      processRssMiBAfterIdle: round(after.rss / MIB),
      processRssMiBBefore: samples[0]!.rssMiB,
      rssMiBPerSession: round((last.rssMiB - samples[0]!.rssMiB) / count, 4),
      rssSlopeMiBPer1000Sessions: round(
        slope(samples.map((s) => ({ x: s.sessions, y: s.rssMiB }))) * 1000,
        1,
      ),
      heapSlopeMiBPer1000Sessions: round(
        slope(samples.map((s) => ({ x: s.sessions, y: s.heapMiB }))) * 1000,
        1,
      ),
      externalSlopeMiBPer1000Sessions: round(
        slope(samples.map((s) => ({ x: s.sessions, y: s.externalMiB }))) * 1000,
        1,
      ),
      target: '5,000 ready in < 1 GB RSS (WALINK_BENCH_MD_SESSIONS=5000)',
      meetsTarget: count >= 5000 ? last.rssMiB < (1000 * 1e6) / MIB : null,
      loginsPerSecond: round(count / loginSeconds),
      concurrentConnects: 50,
      preSeedSeconds: round(preSeedSeconds),
      samples,
      note: 'sessions restored by login from memory credential stores (paired by a child process), one WebSocket each, to walink emulator in another process; RSS of this process after a full GC at each step',
    };
  } finally {
    await manager.stopAll();
  }
}

interface Timed {
  session: Session;
  store: MemoryCredentialStore<MdCredentialRecord>;
}

async function pairingAndLogin(
  emu: RunningEmulator,
  runs: number,
): Promise<Record<string, unknown> & { keep: Timed; phone: string }> {
  const rootPublicKey = new Uint8Array(Buffer.from(emu.rootHex, 'hex'));
  const qrShown: number[] = [];
  const pairing: number[] = [];
  const login: number[] = [];
  const total: number[] = [];
  const restores: number[] = [];
  let keep: Timed | undefined;
  let keptPhone = '';
  for (let i = 0; i < runs; i++) {
    const phone = `1666${String(i).padStart(7, '0')}`;
    const store = new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
    const session = await createSession({ protocol: 'md', url: emu.mdWsUrl, rootPublicKey, store });
    let shownAt = 0;
    let pairedAt = 0;
    const scanned = new Promise<void>((resolve, reject) => {
      session.events$.subscribe((event) => {
        if (event.type === 'qr' && shownAt === 0) {
          shownAt = performance.now();
          fetch(`${emu.httpUrl}/md/phones/${phone}/scan`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ qr: event.text }),
          }).then((r) => (r.ok ? resolve() : reject(new Error(`scan: ${r.status}`))), reject);
        }
        if (event.type === 'md.paired') pairedAt = performance.now();
      });
    });
    const startedAt = performance.now();
    session.start();
    await session.waitFor((state) => state.tags.includes('ready'), 30_000);
    const readyAt = performance.now();
    await scanned;
    qrShown.push(shownAt - startedAt);
    pairing.push(pairedAt - shownAt);
    login.push(readyAt - pairedAt);
    total.push(readyAt - startedAt);
    await sleep(200); // the phone's bootstrap messages
    await session.stop();
    // The same companion again: a restore by login.
    const again = await createSession({ protocol: 'md', url: emu.mdWsUrl, rootPublicKey, store });
    const restoreStart = performance.now();
    again.start();
    await again.waitFor((state) => state.tags.includes('ready'), 30_000);
    restores.push(performance.now() - restoreStart);
    if (i === runs - 1) {
      keep = { session: again, store };
      keptPhone = phone;
    } else await again.stop();
  }
  return {
    runs,
    medianMs: {
      startToQr: round(median(qrShown), 1),
      qrToPaired: round(median(pairing), 1),
      pairedToReady: round(median(login), 1),
      startToReady: round(median(total), 1),
      restoreByLogin: round(median(restores), 1),
    },
    maxStartToReadyMs: round(Math.max(...total), 1),
    note: 'one at a time; qrToPaired includes the phone API call and the emulator phone’s own checks; pairedToReady is 515, a new socket, Noise XX, login, pre-key count and upload, passive active; emulator --first-frame-delay 0, 127.0.0.1',
    keep: keep!,
    phone: keptPhone,
  };
}

async function decryptedTexts(
  emu: RunningEmulator,
  target: Timed,
  phone: string,
): Promise<Record<string, unknown>> {
  const count = Number(process.env.WALINK_BENCH_MD_TEXTS ?? 400);
  const contacts = 4;
  const inFlight = 8;
  let received = 0;
  let resolveAll: () => void = () => undefined;
  const allIn = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  target.session.events$.subscribe((event) => {
    if (event.type === 'md.message' && event.message.content.kind === 'text') {
      received += 1;
      if (received === count) resolveAll();
    }
  });
  const send = (n: number) =>
    fetch(`${emu.httpUrl}/md/phones/${phone}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        from: `4917000000${n % contacts}@s.whatsapp.net`,
        text: `bench message ${n}: ${'x'.repeat(60)}`,
      }),
    }).then((r) => {
      if (!r.ok) throw new Error(`send: ${r.status}`);
    });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await send(next++);
    }),
  );
  await Promise.race([
    allIn,
    sleep(60_000).then(() => {
      throw new Error(`only ${received} of ${count} texts arrived`);
    }),
  ]);
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const stored = await target.store.load();
  await target.session.stop();
  return {
    texts: count,
    contacts,
    textsPerCpuSecond: round(count / cpuSeconds),
    textsPerSecondWall: round(count / wall),
    clientCpuSeconds: round(cpuSeconds, 2),
    signalSessionsStored: stored ? Object.keys(stored.signal.sessions ?? {}).length : null,
    note: 'per core = texts over the CPU time of this process (socket, Noise, stanza, Signal decrypt through the device store saved in memory, the machine, the ack and receipt) while the emulator, another process, encrypted and sent them; wall rate is bounded by the emulator',
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const count = Number(process.env.WALINK_BENCH_MD_SESSIONS ?? 1000);
  const pairings = Number(process.env.WALINK_BENCH_MD_PAIRINGS ?? 15);
  const emu = await spawnEmulator(count + 100);
  try {
    const idle = await idleSessions(emu, count);
    progress('pairing + login…');
    const { keep, phone, ...pairingTimes } = await pairingAndLogin(emu, pairings);
    progress('decrypted texts…');
    const texts = await decryptedTexts(emu, keep, phone);
    return { idleReadySessions: idle, pairingAndLogin: pairingTimes, incomingTexts: texts };
  } finally {
    emu.child.kill('SIGTERM');
  }
}
