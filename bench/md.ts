// Multi-device: Noise XX handshakes, transport frames beside raw node:crypto AES-256-GCM, pair-code PBKDF2,
// incoming Signal messages per second (md-signal.ts).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { x25519KeyPair } from '../crypto/index.ts';
import {
  connectionHeader,
  derivePairCodeKey,
  NoiseInitiator,
  NoiseResponder,
  NoiseTransport,
} from '../crypto/md/index.ts';
import { signalMessages } from './md-signal.ts';
import { interleaved, round } from './measure.ts';

const FRAME_SIZES = [64, 1024, 16384];
const ROUNDS = 5;
const PROLOGUE = connectionHeader(3);
const CERT_CHAIN = new Uint8Array(240);
const CLIENT_PAYLOAD = new Uint8Array(250);

/** One full XX handshake with a fresh initiator; returns the seconds the responder's own steps took. */
function handshake(
  serverStatic: ReturnType<typeof x25519KeyPair>,
  clientStatic: ReturnType<typeof x25519KeyPair>,
) {
  const client = new NoiseInitiator({ prologue: PROLOGUE, staticKeyPair: clientStatic });
  const hello = client.writeClientHello();
  let started = performance.now();
  const server = new NoiseResponder({ prologue: PROLOGUE, staticKeyPair: serverStatic });
  server.readClientHello(hello);
  const serverHello = server.writeServerHello(CERT_CHAIN);
  let responderMs = performance.now() - started;
  client.readServerHello(serverHello);
  const finish = client.writeClientFinish(CLIENT_PAYLOAD);
  started = performance.now();
  server.readClientFinish(finish);
  server.split();
  responderMs += performance.now() - started;
  client.split();
  return responderMs;
}

function handshakes(): Record<string, unknown> {
  const serverStatic = x25519KeyPair();
  const clientStatic = x25519KeyPair();
  for (let i = 0; i < 20; i++) handshake(serverStatic, clientStatic);
  let responderMs = 0;
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < 2000) {
    responderMs += handshake(serverStatic, clientStatic);
    count++;
  }
  const totalSeconds = (performance.now() - started) / 1000;
  return {
    handshakes: count,
    // The responder's share: its own steps only (a fresh ephemeral, 3 X25519, HKDFs, 4 GCM operations).
    responderHandshakesPerSecond: round(count / (responderMs / 1000)),
    // Both sides in one process, as a client and the emulator on one machine.
    fullHandshakesPerSecond: round(count / totalSeconds),
  };
}

function rawSealOpen(key: Buffer, iv: Buffer, plaintext: Buffer): void {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

function transport(): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const size of FRAME_SIZES) {
    const key = randomBytes(32);
    const writer = new NoiseTransport(key, key);
    const reader = new NoiseTransport(key, key);
    const plaintext = new Uint8Array(randomBytes(size));
    const iv = Buffer.alloc(12);
    const bytes = Buffer.from(plaintext.buffer, plaintext.byteOffset, size);
    // Interleaved slices on the same bytes; the ratio from CPU time, which a loaded neighbour changes least.
    const rates = interleaved(
      { noise: () => reader.open(writer.seal(plaintext)), raw: () => rawSealOpen(key, iv, bytes) },
      { rounds: ROUNDS, sliceMs: 200 },
    );
    const noise = rates.noise.opsPerSecond;
    const raw = rates.raw.opsPerSecond;
    results[`${size}B`] = {
      sealOpenPerSecond: noise,
      rawAesGcmSealOpenPerSecond: raw,
      ratioToRaw: round(rates.noise.opsPerCpuSecond! / rates.raw.opsPerCpuSecond!, 2),
      megabytesPerSecond: round((noise * size) / 1e6, 1),
    };
  }
  return results;
}

async function pairCodePbkdf2(): Promise<Record<string, unknown>> {
  const salt = new Uint8Array(32);
  await derivePairCodeKey('ABCD1234', salt);
  const runs = 5;
  const started = performance.now();
  for (let i = 0; i < runs; i++) await derivePairCodeKey('ABCD1234', salt);
  const perDerivation = (performance.now() - started) / runs;
  // Four at once: libuv's pool (4 threads by default) runs them beside each other and beside the loop.
  const parallelStart = performance.now();
  await Promise.all([1, 2, 3, 4].map(() => derivePairCodeKey('ABCD1234', salt)));
  return {
    iterations: 131072,
    millisecondsPerDerivation: round(perDerivation, 1),
    millisecondsForFourConcurrent: round(performance.now() - parallelStart, 1),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  return {
    noiseXX: handshakes(),
    transportFrames: transport(),
    pairCodePbkdf2: await pairCodePbkdf2(),
    signalMessages: await signalMessages(),
  };
}
