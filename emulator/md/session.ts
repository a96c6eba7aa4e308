// The conversation on one MD socket once its handshake is done (docs/protocol-md.md §6-§14): a registration
// gets refs and waits for the phone, a login gets <success> (or <failure>), offline messages and the offline
// marker, and then every stanza is answered or accepted as the protocol says.
import { md } from '../../codec/index.ts';
import { constantTimeEqual } from '../../crypto/index.ts';
import { HttpError } from '../../http/index.ts';
import type { ConnectionHandler, HandshakeResult, MdConnection } from './connection.ts';
import { type ConnSession, deviceJid, lidJid, type MdContext, userJid } from './context.ts';
import { acknowledge, flushQueue, relayToDevice } from './delivery.ts';
import { isTypedError, MdEmulatorError } from './errors.ts';
import { answerIq, iqName } from './iq.ts';
import {
  issueRefs,
  onCompanionFinish,
  onCompanionHello,
  onPairSuccessAnswer,
  retireRefs,
} from './pairing.ts';
import { readLogin, readRegistration } from './registration.ts';
import { decryptFromDevice } from './signal-party.ts';
import {
  failure,
  iqError,
  iqResult,
  isServerAddress,
  messageAck,
  pairDevice,
  streamError,
  success,
} from './stanzas.ts';

type MdNode = md.MdNode;
type Authenticated = Extract<ConnSession, { kind: 'authenticated' }>;
type Registering = Extract<ConnSession, { kind: 'registering' }>;

/** Participants of one outgoing companion message the server looks at, at most. */
const MAX_PARTICIPANTS = 16;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

export function createSessionHandler(ctx: MdContext): ConnectionHandler {
  return {
    onHandshake: (connection, result) => onHandshake(ctx, connection, result),
    onNode: (connection, node) => onNode(ctx, connection, node),
    onClosed: (connection) => onClosed(ctx, connection),
  };
}

function refuse(ctx: MdContext, connection: MdConnection, reason: number, why: string): void {
  ctx.sessions.set(connection, { kind: 'refused' });
  ctx.log.info({ conn: connection.id, reason, why }, 'md: failure');
  connection.endStream(failure(reason), `failure ${reason}: ${why}`);
}

/** Runs a close-or-delay fault at a step; false when the socket was closed by it. */
async function atStep(
  ctx: MdContext,
  connection: MdConnection,
  step: Parameters<MdContext['faults']['atStep']>[0],
): Promise<boolean> {
  const fault = ctx.faults.atStep(step);
  if (!fault) return true;
  if ('close' in fault) {
    connection.close(`fault: closeSocket at ${step}`);
    return false;
  }
  await sleep(fault.delayMs);
  return connection.isOpen;
}

async function onHandshake(ctx: MdContext, connection: MdConnection, result: HandshakeResult): Promise<void> {
  ctx.stats.handshakes += 1;
  const forced = ctx.faults.take('failure');
  if (forced) return refuse(ctx, connection, forced.reason, 'fault');
  if (result.payload.devicePairingData) return register(ctx, connection, result);
  if (result.payload.username !== undefined) return login(ctx, connection, result);
  refuse(ctx, connection, 400, 'the payload is neither a registration nor a login');
}

/** §6.1: a would-be companion gets six refs. */
async function register(ctx: MdContext, connection: MdConnection, result: HandshakeResult): Promise<void> {
  let registration: Registering['registration'];
  try {
    registration = readRegistration(result.payload, result.clientStatic);
  } catch (error) {
    if (error instanceof MdEmulatorError) return refuse(ctx, connection, 400, error.message);
    throw error;
  }
  ctx.stats.registrations += 1;
  const session: Registering = { kind: 'registering', registration, serverIqs: new Set(), pairing: null };
  ctx.sessions.set(connection, session);
  if (!(await atStep(ctx, connection, 'pair-device'))) return;
  const id = ctx.nextId();
  session.serverIqs.add(id);
  const refs = issueRefs(ctx, connection);
  // The badRefs fault: refs a QR cannot carry (a comma is its field separator).
  connection.sendNode(pairDevice(id, ctx.faults.take('badRefs') ? refs.map((ref) => `${ref},x`) : refs));
}

/** §8.2: the device is known by user, device and the Noise static key the handshake proved. */
async function login(ctx: MdContext, connection: MdConnection, result: HandshakeResult): Promise<void> {
  let named: { number: string; device: number };
  try {
    named = readLogin(result.payload);
  } catch (error) {
    if (error instanceof MdEmulatorError) return refuse(ctx, connection, 400, error.message);
    throw error;
  }
  if (!(await atStep(ctx, connection, 'login'))) return;
  const account = ctx.state.accounts.get(named.number);
  const device = account?.devices.get(named.device);
  if (!account || !device || !constantTimeEqual(device.noiseStatic, result.clientStatic)) {
    return refuse(ctx, connection, 401, `no device ${named.number}:${named.device} with this Noise key`);
  }
  const jid = deviceJid(account, device);
  const previous = ctx.online.get(jid);
  if (previous && previous !== connection) {
    // §10: the older socket of the same device hears it was replaced.
    ctx.sessions.set(previous, { kind: 'refused' });
    previous.endStream(streamError('replaced'), 'replaced by a newer login of the same device');
  }
  const session: Authenticated = { kind: 'authenticated', account, device, jid, live: false };
  ctx.sessions.set(connection, session);
  ctx.online.set(jid, connection);
  ctx.stats.logins += 1;
  connection.sendNode(
    success({
      t: ctx.nowSeconds(),
      lidJid: lidJid(account, device),
      creation: Math.floor(device.linkedAt / 1000),
    }),
  );
  ctx.log.info({ conn: connection.id, device: jid }, 'md: logged in');
  if (!(await atStep(ctx, connection, 'success'))) return;
  if (ctx.session(connection) !== session) return;
  flushQueue(ctx, connection, session);
}

function onClosed(ctx: MdContext, connection: MdConnection): void {
  const session = ctx.sessions.get(connection);
  ctx.sessions.delete(connection);
  ctx.connections.delete(connection);
  if (connection.closeInfo && !['peer', 'server'].includes(connection.closeInfo.code)) {
    ctx.count(ctx.stats.refusals, connection.closeInfo.code);
  }
  retireRefs(ctx, connection);
  for (const [number, pairing] of ctx.codePairings) {
    if (pairing.connection !== connection) continue;
    ctx.codePairings.delete(number);
    pairing.typed?.settle({ error: new HttpError(422, "the companion's socket closed") });
  }
  if (session?.kind === 'registering' && session.pairing) {
    session.pairing.settle({
      error: new HttpError(422, 'the companion closed its socket before a valid pair-device-sign'),
    });
  }
  if (session?.kind === 'authenticated' && ctx.online.get(session.jid) === connection) {
    ctx.online.delete(session.jid);
  }
}

async function onNode(ctx: MdContext, connection: MdConnection, node: MdNode): Promise<void> {
  const session = ctx.session(connection);
  switch (node.tag) {
    case 'iq':
      return onIq(ctx, connection, session, node);
    case 'ack':
      if (session.kind === 'authenticated' && node.attrs.class === 'message' && node.attrs.id) {
        acknowledge(ctx, session.device, node.attrs.id);
      }
      ctx.count(ctx.stats.stanzas, `ack ${node.attrs.class ?? '-'}`);
      return;
    case 'receipt':
      ctx.count(ctx.stats.stanzas, `receipt ${node.attrs.type ?? 'delivery'}`);
      if (session.kind === 'authenticated') onReceipt(ctx, session, node);
      return;
    case 'message':
      ctx.count(ctx.stats.stanzas, 'message');
      return onMessage(ctx, connection, session, node);
    case 'presence':
    case 'chatstate':
      ctx.count(ctx.stats.stanzas, node.tag);
      return;
    default:
      ctx.count(ctx.stats.stanzas, `other ${node.tag.slice(0, 40)}`);
      ctx.log.debug({ conn: connection.id, tag: node.tag }, 'md: stanza ignored');
  }
}

async function onIq(
  ctx: MdContext,
  connection: MdConnection,
  session: ConnSession,
  iq: MdNode,
): Promise<void> {
  const { id, type } = iq.attrs;
  if (!id) {
    ctx.count(ctx.stats.stanzas, 'iq without id');
    return;
  }
  if (type === 'result' || type === 'error') {
    if (session.kind === 'registering' && session.serverIqs.delete(id) && session.pairing?.iqId === id) {
      onPairSuccessAnswer(ctx, connection, session, iq);
    }
    return;
  }
  if (type !== 'get' && type !== 'set') {
    connection.sendNode(iqError(id, 400, 'bad-request'));
    return;
  }
  if (!isServerAddress(iq.attrs.to)) {
    // IQs to other users (usync, profile pictures, …) are not modelled here.
    connection.sendNode(iqError(id, 501, 'feature-not-implemented'));
    ctx.count(ctx.stats.unhandledIqs, `to-user ${iqName(iq)}`);
    return;
  }
  ctx.count(ctx.stats.iqs, iqName(iq));
  if (session.kind === 'authenticated') return answerIq(ctx, connection, session, iq);
  if (session.kind === 'registering') return answerRegisteringIq(ctx, connection, session, iq);
  connection.sendNode(iqError(id, 401, 'not-authorized'));
}

/** Before pairing only keep-alive and the pair-code stages make sense (§7, §11). */
function answerRegisteringIq(
  ctx: MdContext,
  connection: MdConnection,
  session: Registering,
  iq: MdNode,
): void {
  const id = iq.attrs.id!;
  const first = md.childNodes(iq)[0];
  const stage =
    first?.tag === 'link_code_companion_reg' && iq.attrs.xmlns === 'md' ? first.attrs.stage : null;
  if (iq.attrs.xmlns === 'w:p' && first?.tag === 'ping') connection.sendNode(iqResult(id));
  else if (stage === 'companion_hello') onCompanionHello(ctx, connection, session, iq);
  else if (stage === 'companion_finish') onCompanionFinish(ctx, connection, session, iq);
  else if (stage !== null) connection.sendNode(iqError(id, 400, 'bad-request'));
  else connection.sendNode(iqError(id, 401, 'not-authorized'));
}

/** §12.4: receipts for messages the account's contacts (or its phone) sent are recorded. */
function onReceipt(ctx: MdContext, session: Authenticated, receipt: MdNode): void {
  const ids = [
    receipt.attrs.id,
    ...md.findChildren(md.findChild(receipt, 'list') ?? receipt, 'item').map((i) => i.attrs.id),
  ];
  for (const id of ids.slice(0, 64)) {
    if (!id) continue;
    acknowledge(ctx, session.device, id);
    ctx.state.recordReceipt(session.account, {
      id,
      device: session.jid,
      type: receipt.attrs.type ?? 'delivery',
      to: receipt.attrs.to ?? '',
      t: ctx.nowSeconds(),
    });
  }
}

/**
 * A message a companion sends (docs/protocol-md.md §12.7): acked at once; each `<to jid=device>` of its
 * `<participants>` (or the one `<enc>` for the device `to` names) goes to that device. A contact (device 0)
 * or a phone (device 0 of an account) decrypts it with its Signal party, and the text is recorded for the
 * phone API; a deviceSentMessage (the sender's copy for its own phone) is read through. Another companion
 * gets the `<enc>` relayed in its queue, from the sending device. The recipient's delivery receipt comes
 * back once it decrypted.
 */
async function onMessage(
  ctx: MdContext,
  connection: MdConnection,
  session: ConnSession,
  message: MdNode,
): Promise<void> {
  const { id, to } = message.attrs;
  if (!id || !to) return;
  connection.sendNode(messageAck(id, to, ctx.nowSeconds()));
  if (session.kind !== 'authenticated') return;
  const targets: [string, MdNode][] = md.findChildren(message, 'enc').map((enc) => [to, enc]);
  const participants = md.findChild(message, 'participants');
  for (const target of participants ? md.findChildren(participants, 'to').slice(0, MAX_PARTICIPANTS) : []) {
    const enc = md.findChild(target, 'enc');
    if (enc && target.attrs.jid) targets.push([target.attrs.jid, enc]);
  }
  let delivered: string | null = null;
  for (const [jid, enc] of targets.slice(0, MAX_PARTICIPANTS)) {
    const outcome = await deliverEnc(ctx, connection, session, message, jid, enc);
    if (outcome && !delivered && outcome.to !== userJid(session.account)) delivered = outcome.to;
  }
  // §12.4: the recipient's device has it (a delivery receipt has no type).
  if (delivered && connection.isOpen) {
    connection.sendNode(md.mdNode('receipt', { from: delivered, id, t: String(ctx.nowSeconds()) }));
  }
}

/** One device's `<enc>`: decrypted by a party, or relayed to a companion. The chat it was for, if read. */
async function deliverEnc(
  ctx: MdContext,
  connection: MdConnection,
  session: Authenticated,
  message: MdNode,
  jid: string,
  enc: MdNode,
): Promise<{ to: string } | null> {
  const parsed = md.tryParseMdJid(jid);
  const type = enc.attrs.type;
  if (parsed?.server !== 's.whatsapp.net' || parsed.user === '') return null;
  if ((type !== 'msg' && type !== 'pkmsg') || !(enc.content instanceof Uint8Array)) return null;
  const device = parsed.device ?? 0;
  const account = ctx.state.accounts.get(parsed.user);
  if (device !== 0) {
    const companion = account?.devices.get(device);
    if (!account || !companion || companion === session.device) return null;
    relayToDevice(ctx, account, companion, {
      id: message.attrs.id!,
      from: session.jid,
      t: ctx.nowSeconds(),
      type: message.attrs.type === 'media' ? 'media' : 'text',
      encType: type,
      body: enc.content,
    });
    return null;
  }
  const party = account ?? ctx.state.contacts.get(`${parsed.user}@s.whatsapp.net`);
  if (!party) return null;
  const partyJid = `${parsed.user}@s.whatsapp.net`;
  try {
    const plaintext = await decryptFromDevice(
      party,
      () => ctx.state.changed(),
      { name: session.account.number, deviceId: session.device.id },
      type,
      enc.content,
    );
    const decoded = md.decodeMessage(plaintext);
    const sent = decoded.deviceSentMessage;
    const inner = sent?.message ?? decoded;
    const chat = sent?.destinationJid ?? partyJid;
    ctx.recordSent(session.account.number, {
      id: message.attrs.id!,
      to: chat,
      device: session.jid,
      text: inner.conversation ?? inner.extendedTextMessage?.text ?? null,
      t: ctx.nowSeconds(),
      encType: type,
      readBy: partyJid,
      ...(sent ? { deviceSent: true } : {}),
    });
    return { to: partyJid };
  } catch (error) {
    if (!isTypedError(error)) throw error;
    ctx.log.info({ conn: connection.id, err: error.message }, 'md: a companion message did not decrypt');
    return null;
  }
}
