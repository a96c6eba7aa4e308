// Runs the public npm client @whiskeysockets/baileys@6.17.16 (installed by scripts/install-peer.mjs into
// .cache/peers/, nobody here wrote it) against a walink emulator, the way a Baileys application does,
// and reports each step as one JSON line on stdout. Started by test/interop/baileys-md.test.ts.
//
//   node baileys-md-peer.mjs '<json config>'
//   config: { peerDir, wsUrl, httpUrl, phone, mode: "qr" | "code", authDir, from, text, reply?, stepTimeoutMs }
//
// qr:   QR from connection.update → POST /md/phones/<n>/scan → 515 → a new socket (as Baileys apps must)
//       → open → a text sent through /md/phones/<n>/messages arrives as messages.upsert → (with `reply`,
//       Baileys sends a text back to the contact) → end → a socket
//       restored from the saved useMultiFileAuthState credentials → open again.
// code: the first QR event (pair-device arrived) → requestPairingCode(phone) → POST link-code → 515 → open.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const config = JSON.parse(process.argv[2] ?? '{}');
const require = createRequire(join(config.peerDir, 'package.json'));
const baileys = require('@whiskeysockets/baileys');
const pino = require('pino');
const makeWASocket = baileys.default ?? baileys.makeWASocket;
const { useMultiFileAuthState, DisconnectReason } = baileys;

const stepTimeoutMs = config.stepTimeoutMs ?? 20_000;
const logger = pino({ level: process.env.PEER_LOG ?? 'silent' }, pino.destination(2));
const sockets = [];

function report(step, data = {}) {
  process.stdout.write(`${JSON.stringify({ step, at: Date.now(), ...data })}\n`);
}

function finish(code, error) {
  if (error) report('error', { message: String(error?.stack ?? error) });
  for (const sock of sockets) {
    try {
      sock.end(undefined);
    } catch {}
  }
  // Let the last lines flush.
  setTimeout(() => process.exit(code), 50);
}

process.on('uncaughtException', (error) => finish(1, error));
process.on('unhandledRejection', (error) => finish(1, error));

async function post(path, body) {
  const res = await fetch(config.httpUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(stepTimeoutMs),
  });
  return { status: res.status, json: await res.json() };
}

/** A socket with its credentials; resolves `events` as they come. */
async function openSocket(authDir) {
  const { state, saveCreds } = await useMultiFileAuthState(authDir);
  let saving = Promise.resolve();
  const sock = makeWASocket({
    waWebSocketUrl: config.wsUrl,
    auth: state,
    logger,
    printQRInTerminal: false,
    connectTimeoutMs: stepTimeoutMs,
    defaultQueryTimeoutMs: stepTimeoutMs,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    fireInitQueries: true,
  });
  sockets.push(sock);
  sock.ev.on('creds.update', () => {
    saving = saving.then(() => saveCreds());
  });
  return { sock, state, flush: () => saving };
}

/** Waits for a connection.update / messages.upsert condition, bounded. */
function waitFor(sock, what, test) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), stepTimeoutMs);
    const onUpdate = (update) => {
      const value = test(update);
      if (value === undefined) return;
      clearTimeout(timer);
      sock.ev.off('connection.update', onUpdate);
      sock.ev.off('messages.upsert', onUpsert);
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onUpsert = (upsert) => onUpdate({ upsert });
    sock.ev.on('connection.update', onUpdate);
    sock.ev.on('messages.upsert', onUpsert);
  });
}

const closedWith = (update) => update.lastDisconnect?.error?.output?.statusCode;

/** After pair-device-sign the server restarts the stream: Baileys closes with 515, the app reconnects. */
async function expectRestart(sock, flush) {
  const status = await waitFor(sock, 'the 515 close', (u) =>
    u.connection === 'close' ? (closedWith(u) ?? -1) : undefined,
  );
  if (status !== DisconnectReason.restartRequired) throw new Error(`closed with ${status}, not 515`);
  await flush();
  return status;
}

async function waitOpen(sock) {
  await waitFor(sock, "connection 'open'", (u) => {
    if (u.connection === 'open') return true;
    if (u.connection === 'close') return new Error(`closed with ${closedWith(u)} before open`);
    return undefined;
  });
}

async function qrFlow() {
  const first = await openSocket(config.authDir);
  const qr = await waitFor(first.sock, 'a QR', (u) => u.qr);
  report('qr', { fields: qr.split(',').length });
  // The 515 comes before the scan's answer: listen first.
  const restart = expectRestart(first.sock, first.flush);
  restart.catch(() => {});
  const scanned = await post(`/md/phones/${config.phone}/scan`, { qr });
  report('scanned', scanned);
  if (scanned.status !== 200) throw new Error(`scan answered ${scanned.status}`);
  report('closed', { status: await restart });

  const second = await openSocket(config.authDir);
  await waitOpen(second.sock);
  report('open', { me: second.state.creds.me?.id, lid: second.state.creds.me?.lid });
  // The phone's history notification and app-state key share arrive, Baileys syncs app state, then
  // releases its buffered events: a text sent now reaches the application live.
  const arrived = waitFor(second.sock, 'the text as messages.upsert', ({ upsert }) => {
    const message = upsert?.messages?.find((m) => m.message?.conversation === config.text);
    return message ? { id: message.key.id, from: message.key.remoteJid, type: upsert.type } : undefined;
  });
  const sent = await post(`/md/phones/${config.phone}/messages`, { from: config.from, text: config.text });
  report('sent', sent);
  report('message', await arrived);
  // Baileys answers: usync for the contact's devices and its own, one <enc> per device (§12.7).
  if (config.reply) {
    const replied = await second.sock.sendMessage(config.from, { text: config.reply });
    report('replied', { id: replied?.key?.id });
  }
  await second.flush();
  second.sock.end(undefined);

  const restored = await openSocket(config.authDir);
  await waitOpen(restored.sock);
  report('restored', { me: restored.state.creds.me?.id, registered: restored.state.creds.registered });
  await restored.flush();
}

async function codeFlow() {
  const first = await openSocket(config.authDir);
  // requestPairingCode needs the registration handshake done: the first QR event says pair-device came.
  await waitFor(first.sock, 'pair-device (the first QR event)', (u) => u.qr);
  const code = await first.sock.requestPairingCode(config.phone);
  report('code', { length: code.length });
  const restart = expectRestart(first.sock, first.flush);
  restart.catch(() => {});
  const linked = await post(`/md/phones/${config.phone}/link-code`, {
    code: `${code.slice(0, 4)}-${code.slice(4)}`,
  });
  report('linked', linked);
  if (linked.status !== 200) throw new Error(`link-code answered ${linked.status}`);
  report('closed', { status: await restart });
  const second = await openSocket(config.authDir);
  await waitOpen(second.sock);
  report('open', { me: second.state.creds.me?.id, lid: second.state.creds.me?.lid });
  await second.flush();
}

(config.mode === 'code' ? codeFlow() : qrFlow()).then(
  () => {
    report('done');
    finish(0);
  },
  (error) => finish(1, error),
);
