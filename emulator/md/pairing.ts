// The phone's side of linking (docs/protocol-md.md §6, §7): a scanned QR code or a typed pair code leads to
// pair-success with a real ADV identity, the companion's pair-device-sign is verified for real, and the
// device is stored before the stream restarts (515).
import { md } from '../../codec/index.ts';
import {
  constantTimeEqual,
  isCryptoError,
  randomBytes,
  toBase64,
  utf8,
  x25519KeyPair,
} from '../../crypto/index.ts';
import {
  normalizePairCode,
  primaryOpenKeyBundle,
  unwrapPairingEphemeral,
  wrapPairingEphemeral,
} from '../../crypto/md/index.ts';
import { HttpError } from '../../http/index.ts';
import type { MdConnection } from './connection.ts';
import {
  type CodePairing,
  type ConnSession,
  deviceJid,
  lidJid,
  type MdContext,
  type PairingResult,
} from './context.ts';
import { storeDevice } from './devices.ts';
import {
  companionHelloResult,
  iqError,
  iqResult,
  pairSuccess,
  primaryHello,
  streamError,
} from './stanzas.ts';
import type { MdAccount } from './state.ts';

type Registering = Extract<ConnSession, { kind: 'registering' }>;

const PHONE_NUMBER = /^[1-9]\d{6,14}$/;

/** Browsers and operating systems a pair-code display may name: "<Browser> (<OS>)" (§7.3). */
export const PAIR_CODE_BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera', 'IE', 'Desktop'];
export const PAIR_CODE_OSES = [
  'Windows',
  'Mac OS',
  'macOS',
  'Linux',
  'Ubuntu',
  'Android',
  'iOS',
  'Chrome OS',
];
/**
 * companion_platform_id: one character of the web client type table (§6.2), or Baileys 6.17.16's form,
 * the decimal character code of a PlatformType digit ("49" for Chrome).
 */
const PLATFORM_ID = /^(?:[1-9a-f]|49|5[0-7])$/;

export function isPhoneNumber(number: string): boolean {
  return PHONE_NUMBER.test(number);
}

function refText(prefix: '2@' | '3@'): string {
  return `${prefix}${toBase64(randomBytes(33))}${toBase64(randomBytes(12))}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

// ---- QR ----

/** §6.1, §6.3: six refs for a registration socket, the first living longer than the others. */
export function issueRefs(ctx: MdContext, connection: MdConnection): string[] {
  const now = ctx.now();
  const refs: string[] = [];
  for (let i = 0; i < 6; i++) {
    const ref = refText('2@');
    ctx.refs.set(ref, {
      connection,
      expiresAt: now + ctx.options.qrRefFirstTtlMs + i * ctx.options.qrRefNextTtlMs,
    });
    refs.push(ref);
  }
  return refs;
}

/** Every ref of a connection is gone (used, or the socket closed). */
export function retireRefs(ctx: MdContext, connection: MdConnection): void {
  for (const [ref, entry] of ctx.refs) if (entry.connection === connection) ctx.refs.delete(ref);
}

/** The expireRefs fault: every QR and pair-code ref alive now expires. */
export function expireAllRefs(ctx: MdContext): number {
  const now = ctx.now();
  let count = 0;
  for (const entry of ctx.refs.values()) {
    entry.expiresAt = Math.min(entry.expiresAt, now);
    count += 1;
  }
  for (const pairing of ctx.codePairings.values()) {
    pairing.expiresAt = Math.min(pairing.expiresAt, now);
    count += 1;
  }
  return count;
}

/**
 * POST /md/phones/<n>/scan (§6.2, §2.8 of the recipe): the ref must be live, and the QR's noise key and
 * identity must be the ones that connection handshook and registered with.
 */
export async function scanQr(ctx: MdContext, number: string, qr: unknown): Promise<PairingResult> {
  if (typeof qr !== 'string' || qr.length > 2048) throw new HttpError(400, '"qr" must be the QR text');
  let parsed: md.ParsedMdQr;
  try {
    parsed = md.parseMdQr(qr);
  } catch (error) {
    throw new HttpError(400, `not a multi-device QR code: ${(error as Error).message}`);
  }
  const entry = ctx.refs.get(parsed.ref);
  if (!entry) throw new HttpError(404, 'no such ref (unknown, used, or its socket closed)');
  if (entry.expiresAt <= ctx.now()) throw new HttpError(410, 'the ref has expired');
  const session = ctx.session(entry.connection);
  if (session.kind !== 'registering' || !entry.connection.isOpen) {
    throw new HttpError(410, "the ref's socket is no longer waiting for a scan");
  }
  if (session.pairing) throw new HttpError(409, 'that companion is already being linked');
  const { registration } = session;
  if (!constantTimeEqual(parsed.noisePublicKey, registration.noiseStatic)) {
    throw new HttpError(400, "the QR's noise key is not the Noise static key of the ref's connection");
  }
  if (!constantTimeEqual(parsed.identityPublicKey, registration.identity)) {
    throw new HttpError(400, "the QR's identity key is not the one its connection registered");
  }
  const account = ctx.state.account(number);
  checkCapacity(ctx, account);
  retireRefs(ctx, entry.connection);
  return startPairing(ctx, entry.connection, session, account, parsed.advSecret);
}

function checkCapacity(ctx: MdContext, account: MdAccount): void {
  let pending = 0;
  for (const session of ctx.sessions.values()) {
    if (session.kind === 'registering' && session.pairing?.account === account) pending += 1;
  }
  if (account.devices.size + pending >= ctx.options.maxDevices) {
    throw new HttpError(409, `the phone already has ${ctx.options.maxDevices} linked devices`);
  }
}

/** §6.4-§6.6: pair-success, then wait (bounded) for the verified pair-device-sign. */
async function startPairing(
  ctx: MdContext,
  connection: MdConnection,
  session: Registering,
  account: MdAccount,
  advSecret: Uint8Array,
  display?: string,
): Promise<PairingResult> {
  const fault = ctx.faults.atStep('pair-success');
  if (fault && 'close' in fault) {
    connection.close('fault: closeSocket at pair-success');
    throw new HttpError(422, 'the companion socket closed before pair-success (fault)');
  }
  // Reserved now: a concurrent link never gets the same number, and a failed one burns its number.
  const deviceId = account.nextDevice++;
  const keyIndex = account.nextKeyIndex++;
  ctx.state.changed();
  const identity = md.buildPairSuccessIdentity({
    primaryIdentity: account.identity,
    companionIdentityPublicKey: session.registration.identity,
    advSecret,
    device: {
      rawId: new DataView(randomBytes(4).buffer).getUint32(0),
      timestamp: ctx.nowSeconds(),
      keyIndex,
    },
  });
  const iqId = ctx.nextId();
  const outcome = new Promise<PairingResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      settle({ error: new HttpError(408, 'the companion did not answer pair-success in time') });
    }, ctx.options.pairingReplyTimeoutMs);
    timer.unref?.();
    const settle = (result: { ok: PairingResult } | { error: HttpError }) => {
      clearTimeout(timer);
      if (session.pairing?.iqId === iqId) session.pairing = null;
      if ('ok' in result) resolve(result.ok);
      else reject(result.error);
    };
    session.pairing = {
      iqId,
      account,
      deviceId,
      keyIndex,
      details: identity.details,
      settle,
      ...(display ? { display } : {}),
    };
  });
  session.serverIqs.add(iqId);
  if (fault) await sleep(fault.delayMs);
  connection.sendNode(
    pairSuccess({
      id: iqId,
      t: ctx.nowSeconds(),
      container: identity.container,
      platform: 'android',
      deviceJid: deviceJid(account, deviceId),
      lidJid: lidJid(account, deviceId),
    }),
  );
  ctx.log.info({ conn: connection.id, device: deviceJid(account, deviceId) }, 'md: pair-success sent');
  return outcome;
}

/** §6.6: the companion's answer to pair-success. */
export function onPairSuccessAnswer(
  ctx: MdContext,
  connection: MdConnection,
  session: Registering,
  iq: md.MdNode,
): void {
  const pairing = session.pairing;
  if (!pairing) return;
  if (iq.attrs.type === 'error') {
    const error = md.findChild(iq, 'error');
    const why = `${error?.attrs.code ?? '?'} ${error?.attrs.text ?? ''}`.trim();
    pairing.settle({ error: new HttpError(422, `the companion refused pair-success: ${why}`) });
    return;
  }
  const sign = md.findChild(iq, 'pair-device-sign');
  const identityNode = sign ? md.findChild(sign, 'device-identity') : undefined;
  try {
    if (!identityNode) throw new md.AdvError('MALFORMED', 'the answer carries no pair-device-sign');
    md.verifyPairDeviceSign({
      reply: md.contentBytes(identityNode),
      keyIndexAttribute: identityNode.attrs['key-index'],
      expectedDetails: pairing.details,
      companionIdentityPublicKey: session.registration.identity,
      primaryIdentityPublicKey: pairing.account.identity.publicKey,
    });
  } catch (error) {
    const message = (error as Error).message;
    ctx.log.info({ conn: connection.id, reason: message }, 'md: pair-device-sign refused');
    connection.endStream(streamError(401), 'pair-device-sign refused');
    pairing.settle({ error: new HttpError(422, `pair-device-sign does not verify: ${message}`) });
    return;
  }
  storeDevice(ctx, pairing.account, {
    deviceId: pairing.deviceId,
    keyIndex: pairing.keyIndex,
    registration: session.registration,
    ...(pairing.display ? { display: pairing.display } : {}),
  });
  const jid = deviceJid(pairing.account, pairing.deviceId);
  ctx.log.info({ conn: connection.id, device: jid }, 'md: device linked, restarting the stream');
  // §8.1: restart required; the companion logs in on a new socket.
  connection.endStream(streamError(515), 'restart required after pairing');
  pairing.settle({ ok: { jid, device: pairing.deviceId } });
}

// ---- pair code ----

function childBytes(node: md.MdNode, tag: string): Uint8Array | undefined {
  const child = md.findChild(node, tag);
  if (!child || child.content === undefined || Array.isArray(child.content)) return undefined;
  return md.contentBytes(child);
}

function childText(node: md.MdNode, tag: string): string | undefined {
  const bytes = childBytes(node, tag);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

function userOf(jid: string | undefined): string | undefined {
  const parsed = jid === undefined ? undefined : md.tryParseMdJid(jid);
  return parsed?.server === 's.whatsapp.net' && parsed.device === undefined ? parsed.user : undefined;
}

/** Why a companion_hello is refused, or null (§7.3). */
function helloProblem(session: Registering, reg: md.MdNode): string | null {
  const number = userOf(reg.attrs.jid);
  if (!number || !isPhoneNumber(number)) return 'jid is not an international phone number @s.whatsapp.net';
  if (childBytes(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub')?.length !== 80) {
    return 'the wrapped companion ephemeral is not 80 bytes';
  }
  const authKey = childBytes(reg, 'companion_server_auth_key_pub');
  if (!authKey || !constantTimeEqual(authKey, session.registration.noiseStatic)) {
    return 'companion_server_auth_key_pub is not the Noise static key of this connection';
  }
  const platformId = childText(reg, 'companion_platform_id');
  if (!platformId || !PLATFORM_ID.test(platformId)) return 'companion_platform_id is not a client type';
  const display = childText(reg, 'companion_platform_display') ?? '';
  const shape = /^(.+) \((.+)\)$/.exec(display);
  if (!shape || !PAIR_CODE_BROWSERS.includes(shape[1]!) || !PAIR_CODE_OSES.includes(shape[2]!)) {
    return 'companion_platform_display is not "<Browser> (<OS>)" with a known browser and OS';
  }
  const nonce = childBytes(reg, 'link_code_pairing_nonce');
  if (!nonce || !(nonce.length === 1 && (nonce[0] === 0 || nonce[0] === 0x30))) {
    return 'link_code_pairing_nonce is neither 00 nor "0"';
  }
  return null;
}

/** §7.3 stage 1: validate, remember by phone number, answer with a ref. */
export function onCompanionHello(
  ctx: MdContext,
  connection: MdConnection,
  session: Registering,
  iq: md.MdNode,
): void {
  const id = iq.attrs.id!;
  const reg = md.findChild(iq, 'link_code_companion_reg')!;
  const refused = ctx.faults.take('companionHello');
  if (refused) {
    const texts: Record<number, string> = {
      400: 'bad-request',
      403: 'forbidden',
      429: 'rate-overlimit',
      452: 'feature-not-available',
      500: 'internal-server-error',
    };
    connection.sendNode(iqError(id, refused.status, texts[refused.status]!));
    return;
  }
  const problem = helloProblem(session, reg);
  if (problem) {
    ctx.log.info({ conn: connection.id, reason: problem }, 'md: companion_hello refused');
    connection.sendNode(iqError(id, 400, 'bad-request'));
    return;
  }
  const number = userOf(reg.attrs.jid)!;
  const previous = ctx.codePairings.get(number);
  previous?.typed?.settle({ error: new HttpError(409, 'a newer companion_hello replaced this code') });
  const pairing: CodePairing = {
    number,
    connection,
    ref: refText('3@'),
    wrappedCompanionEphemeral: childBytes(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub')!,
    display: childText(reg, 'companion_platform_display')!,
    expiresAt: ctx.now() + ctx.options.pairCodeTtlMs,
  };
  ctx.codePairings.set(number, pairing);
  connection.sendNode(companionHelloResult(id, pairing.ref));
  for (const wake of ctx.codeWaiters.get(number) ?? []) wake();
}

function livePairing(ctx: MdContext, number: string): CodePairing | undefined {
  const pairing = ctx.codePairings.get(number);
  return pairing?.connection.isOpen && pairing.expiresAt > ctx.now() && !pairing.typed ? pairing : undefined;
}

/** Waits (bounded) for a companion_hello of this number. */
async function waitForHello(ctx: MdContext, number: string): Promise<CodePairing> {
  const ready = livePairing(ctx, number);
  if (ready) return ready;
  return new Promise<CodePairing>((resolve, reject) => {
    const waiters = ctx.codeWaiters.get(number) ?? new Set<() => void>();
    ctx.codeWaiters.set(number, waiters);
    const done = () => {
      clearTimeout(timer);
      waiters.delete(check);
      if (waiters.size === 0) ctx.codeWaiters.delete(number);
    };
    const check = () => {
      const pairing = livePairing(ctx, number);
      if (!pairing) return;
      done();
      resolve(pairing);
    };
    const timer = setTimeout(() => {
      done();
      reject(new HttpError(408, `no companion asked for a pair code for ${number} in time`));
    }, ctx.options.linkCodeWaitMs);
    timer.unref?.();
    waiters.add(check);
  });
}

/**
 * POST /md/phones/<n>/link-code: the user types the code on the phone. §7.4 (primary_hello), then
 * companion_finish is checked (§7.5) and pairing goes on as for a QR with the derived adv secret.
 */
export async function linkCode(ctx: MdContext, number: string, code: unknown): Promise<PairingResult> {
  let typed: string;
  try {
    typed = normalizePairCode(code as string);
  } catch {
    throw new HttpError(400, '"code" must be 8 pair-code characters (a dash in the middle is fine)');
  }
  const account = ctx.state.account(number);
  const pairing = await waitForHello(ctx, number);
  const session = ctx.session(pairing.connection);
  if (session.kind !== 'registering')
    throw new HttpError(410, "the companion's socket is no longer registering");
  checkCapacity(ctx, account);
  const companionEphemeral = await unwrapPairingEphemeral(typed, pairing.wrappedCompanionEphemeral);
  const primaryEphemeral = x25519KeyPair();
  const wrapped = await wrapPairingEphemeral(typed, primaryEphemeral.publicKey);
  const finished = new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => {
      settle({ error: new HttpError(408, 'the companion sent no companion_finish in time') });
    }, ctx.options.pairingReplyTimeoutMs);
    timer.unref?.();
    const settle = (outcome: { advSecret: Uint8Array } | { error: HttpError }) => {
      clearTimeout(timer);
      if (ctx.codePairings.get(number) === pairing) ctx.codePairings.delete(number);
      if ('advSecret' in outcome) resolve(outcome.advSecret);
      else reject(outcome.error);
    };
    pairing.typed = { primaryEphemeral, companionEphemeral, settle };
  });
  pairing.connection.sendNode(
    primaryHello({
      id: ctx.nextId(),
      t: ctx.nowSeconds(),
      ref: pairing.ref,
      wrappedPrimaryEphemeral: wrapped,
      primaryIdentityPublicKey: account.identity.publicKey,
    }),
  );
  const advSecret = await finished;
  if (!pairing.connection.isOpen)
    throw new HttpError(422, "the companion's socket closed after companion_finish");
  return startPairing(ctx, pairing.connection, session, account, advSecret, pairing.display);
}

/** §7.5 stage 3 on the phone: open the key bundle (a wrong code fails here), check both identities. */
export function onCompanionFinish(
  ctx: MdContext,
  connection: MdConnection,
  session: Registering,
  iq: md.MdNode,
): void {
  const id = iq.attrs.id!;
  const reg = md.findChild(iq, 'link_code_companion_reg')!;
  const number = userOf(reg.attrs.jid);
  const pairing = number === undefined ? undefined : ctx.codePairings.get(number);
  if (!pairing?.typed || pairing.connection !== connection) {
    connection.sendNode(iqError(id, 400, 'bad-request'));
    return;
  }
  const typed = pairing.typed;
  const refuse = (reason: string) => {
    ctx.log.info({ conn: connection.id, reason }, 'md: companion_finish refused');
    connection.sendNode(iqError(id, 400, 'bad-request'));
    typed.settle({ error: new HttpError(422, `the link failed: ${reason}`) });
  };
  const ref = childBytes(reg, 'link_code_pairing_ref');
  const companionIdentity = childBytes(reg, 'companion_identity_public');
  const bundle = childBytes(reg, 'link_code_pairing_wrapped_key_bundle');
  const problem =
    !ref || !constantTimeEqual(ref, utf8(pairing.ref))
      ? 'companion_finish names another ref'
      : !companionIdentity || !constantTimeEqual(companionIdentity, session.registration.identity)
        ? 'companion_identity_public is not the identity this connection registered'
        : bundle?.length !== 156
          ? 'the wrapped key bundle is not 156 bytes'
          : null;
  if (problem || !bundle) {
    refuse(problem ?? 'no key bundle');
    return;
  }
  let advSecret: Uint8Array;
  try {
    advSecret = primaryOpenKeyBundle({
      primaryEphemeralPrivateKey: typed.primaryEphemeral.privateKey,
      companionEphemeralPublicKey: typed.companionEphemeral,
      primaryIdentity: ctx.state.account(pairing.number).identity,
      wrappedKeyBundle: bundle,
      expectedCompanionIdentityPublicKey: session.registration.identity,
    }).advSecret;
  } catch (error) {
    if (!isCryptoError(error)) throw error;
    refuse(
      error.code === 'BAD_TAG'
        ? 'the key bundle does not open: wrong code'
        : `bad key bundle: ${error.message}`,
    );
    return;
  }
  connection.sendNode(iqResult(id));
  typed.settle({ advSecret });
}
