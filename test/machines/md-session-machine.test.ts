// The MD companion machine alone: a fake socket actor records commands, fake promise actors stand for
// the pair-code and pair-success procedures and the store, and the test plays the server with events.
// Time is SimulatedClock's, so every deadline (refs, code validity, ping, liveness, backoff) is exact.
import { describe, expect, it } from 'vitest';
import { jsonSafe } from '../../codec/index.ts';
import {
  checkPhone,
  DEFAULT_MD_LIMITS,
  DEFAULT_MD_TIMING,
  describeMachine,
  type MdSessionEvent,
  mdBackoffDelay,
  mdSessionMachine,
} from '../../machines/index.ts';
import {
  DEVICE_JID,
  DEVICE_LID,
  FINISHED,
  type MdHarness,
  mdCredentials,
  mdHarness,
  PHONE,
  PREPARED,
  pairedMdCredentials,
  REFS,
  serverEvents,
  toCodeShown,
  toLoggedIn,
  toPairing,
  toReady,
  VERIFIED,
} from '../support/md-machine-fakes.ts';

/** Time passes on a live server: a pong every 10 s keeps the liveness deadline from firing. */
function pass(h: MdHarness, ms: number): void {
  let left = ms;
  while (left > 0) {
    const step = Math.min(10_000, left);
    h.clock.increment(step);
    left -= step;
    if (h.state().startsWith('online')) h.send({ type: 'server.pong' });
  }
}

const PAIRING = 'online.pairing';

describe('md machine: connection', () => {
  it('registers an unpaired device and logs a paired one in', () => {
    const fresh = mdHarness();
    fresh.send({ type: 'socket.opened' });
    expect(fresh.state()).toBe('online.handshaking');
    fresh.send({ type: 'socket.secured' });
    expect(fresh.state()).toBe('online.registering');
    expect(fresh.sockets[0]!.mode).toBe('register');

    const paired = mdHarness({ credentials: pairedMdCredentials() });
    paired.send({ type: 'socket.opened' });
    paired.send({ type: 'socket.secured' });
    expect(paired.state()).toBe('online.loggingIn');
    expect(paired.sockets[0]!.mode).toBe('login');
  });

  const deadlines: [string, (h: MdHarness) => void, keyof typeof DEFAULT_MD_TIMING][] = [
    ['connecting', () => undefined, 'connectTimeout'],
    ['handshaking', (h) => h.send({ type: 'socket.opened' }), 'handshakeTimeout'],
    [
      'registering',
      (h) => {
        h.send({ type: 'socket.opened' });
        h.send({ type: 'socket.secured' });
      },
      'pairDeviceTimeout',
    ],
  ];
  for (const [state, reach, deadline] of deadlines) {
    it(`${state} gives the socket up after ${deadline} with a named reason`, () => {
      const h = mdHarness();
      reach(h);
      expect(h.state()).toBe(`online.${state}`);
      h.clock.increment(DEFAULT_MD_TIMING[deadline] - 1);
      expect(h.state()).toBe(`online.${state}`);
      h.clock.increment(1);
      expect(h.state()).toBe('reconnecting');
      expect(h.emittedOf('reconnecting')[0]!.reason).toMatch(/did not come within 20 s/);
      expect(h.stopped).toEqual([0]);
    });
  }

  it('a failed handshake (certificate chain) rests in failed(handshakeFailed)', () => {
    const h = mdHarness();
    h.send({ type: 'socket.opened' });
    h.send({ type: 'socket.handshakeFailed', reason: 'CERT_BAD_SIGNATURE' });
    expect(h.state()).toBe('failed');
    expect(h.emitted).toContainEqual({ type: 'failed', reason: 'handshakeFailed' });
    expect(h.context().lastDisconnect).toBe('handshake failed: CERT_BAD_SIGNATURE');
    h.clock.increment(3_600_000);
    expect(h.sockets).toHaveLength(1);
    h.send({ type: 'user.restart' });
    expect(h.state()).toBe('online.connecting');
    expect(h.context().failure).toBeNull();
  });

  it('a pair-device without a usable ref is acked by nobody and waits out its deadline', () => {
    const h = mdHarness();
    h.send({ type: 'socket.opened' });
    h.send({ type: 'socket.secured' });
    h.send(serverEvents.pairDevice(['', 'a,b']));
    expect(h.state()).toBe('online.registering');
    h.clock.increment(DEFAULT_MD_TIMING.pairDeviceTimeout);
    expect(h.state()).toBe('reconnecting');
  });
});

describe('md machine: the QR region', () => {
  it('acks pair-device and shows the refs one at a time, 60 s then 20 s each', () => {
    const h = mdHarness();
    toPairing(h);
    expect(h.commands[0]).toEqual({ type: 'send.iqResult', iqId: 'pd-1' });
    expect(h.state()).toBe(PAIRING);
    expect(h.tags()).toEqual(['needsScan', 'online']);
    const qr = h.emittedOf('qr');
    expect(qr).toHaveLength(1);
    expect(qr[0]).toMatchObject({ index: 0, expiresInMs: 60_000 });
    const b64 = (fill: number) => Buffer.from(new Uint8Array(32).fill(fill)).toString('base64');
    expect(qr[0]!.text).toBe(
      `https://wa.me/settings/linked_devices#2@ref0,${b64(101)},${b64(102)},${b64(5)},9`,
    );
    pass(h, 59_999);
    expect(h.emittedOf('qr')).toHaveLength(1);
    pass(h, 1);
    expect(h.emittedOf('qr').map((e) => [e.index, e.expiresInMs])).toEqual([
      [0, 60_000],
      [1, 20_000],
    ]);
    pass(h, 4 * 20_000);
    expect(h.emittedOf('qr').map((e) => e.text.split(',')[0]!.split('#')[1])).toEqual(REFS);
  });

  it('when the refs run out and no code is pending, rests in refsExhausted (160 s in all)', () => {
    const h = mdHarness();
    toPairing(h);
    pass(h, 160_000 - 1);
    expect(h.state()).toBe(PAIRING);
    pass(h, 1);
    expect(h.state()).toBe('refsExhausted');
    expect(h.tags()).toEqual(['offline', 'resting']);
    expect(h.emittedOf('qr.exhausted')).toHaveLength(1);
    expect(h.context().failure).toBe('refsExhausted');
    expect(h.stopped).toEqual([0]);
    h.send({ type: 'user.restart' });
    expect(h.state()).toBe('online.connecting');
    expect(h.sockets).toHaveLength(2);
  });

  it('shows at most maxRefs refs', () => {
    const h = mdHarness({ limits: { maxRefs: 2 } });
    toPairing(h);
    pass(h, 80_000);
    expect(h.emittedOf('qr')).toHaveLength(2);
    expect(h.state()).toBe('refsExhausted');
  });
});

describe('md machine: the pair-code region', () => {
  it('checks the number before anything is sent (typed problems)', () => {
    expect(checkPhone('+1 (555) 000-1111', DEFAULT_MD_LIMITS)).toEqual({ ok: true, phone: '15550001111' });
    expect(checkPhone('1555abc1111', DEFAULT_MD_LIMITS)).toEqual({ ok: false, problem: 'notDigits' });
    expect(checkPhone('123456', DEFAULT_MD_LIMITS)).toEqual({ ok: false, problem: 'tooShort' });
    expect(checkPhone('0155500011', DEFAULT_MD_LIMITS)).toEqual({ ok: false, problem: 'leadingZero' });
    expect(checkPhone('1'.repeat(16), DEFAULT_MD_LIMITS)).toEqual({ ok: false, problem: 'tooLong' });
    expect(checkPhone(42 as unknown as string, DEFAULT_MD_LIMITS)).toEqual({
      ok: false,
      problem: 'notDigits',
    });

    const h = mdHarness();
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: '0123456789' });
    expect(h.emittedOf('pairCode.failed')).toEqual([
      { type: 'pairCode.failed', reason: 'invalidPhone', problem: 'leadingZero' },
    ]);
    expect(h.prepare.calls).toHaveLength(0);
    expect(h.value()).toMatchObject({ online: { pairing: { code: 'idle' } } });
  });

  it('sends companion_hello and shows the code only after the server accepted it', async () => {
    const h = mdHarness();
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: '+1 555 000 1111' });
    expect(h.prepare.last.input).toEqual({ phone: PHONE });
    h.prepare.last.resolve(PREPARED);
    await h.flush();
    expect(h.commands.at(-1)).toEqual({
      type: 'send.companionHello',
      phone: PHONE,
      wrappedEphemeral: PREPARED.wrappedEphemeral,
      showPushNotification: true,
    });
    expect(h.emittedOf('pairCode')).toHaveLength(0);
    expect(h.tags()).not.toContain('needsCode');
    h.send({ type: 'server.codeAccepted', ref: '3@code-ref' });
    expect(h.emittedOf('pairCode')).toEqual([{ type: 'pairCode', code: 'ABCD-1234', expiresInMs: 180_000 }]);
    expect(h.tags()).toEqual(['needsCode', 'needsScan', 'online']);
  });

  const rejections: [number, string][] = [
    [400, 'badRequest'],
    [403, 'forbidden'],
    [452, 'useQr'],
    [500, 'serverError'],
    [418, 'rejected'],
  ];
  for (const [status, reason] of rejections) {
    it(`companion_hello answered ${status} ends the request with ${reason}; QR goes on`, async () => {
      const h = mdHarness({ prepare: PREPARED });
      toPairing(h);
      h.send({ type: 'user.requestPairingCode', phone: PHONE });
      await h.flush();
      h.send({ type: 'server.codeRejected', status, text: 'x' });
      expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason, status }]);
      expect(h.emittedOf('pairCode')).toHaveLength(0);
      expect(h.value()).toMatchObject({ online: { pairing: { code: 'idle', qr: 'showing' } } });
      expect(h.context().prepared).toBeNull();
      // Another request is accepted at once.
      h.send({ type: 'user.requestPairingCode', phone: PHONE });
      expect(h.prepare.calls).toHaveLength(2);
    });
  }

  it('429 backs off (the server backoff, else pairCodeRateBackoff) and refuses requests meanwhile', async () => {
    const h = mdHarness({ prepare: PREPARED });
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    await h.flush();
    h.send({ type: 'server.codeRejected', status: 429, text: 'rate-overlimit', backoff: 45 });
    expect(h.emittedOf('pairCode.failed')).toEqual([
      { type: 'pairCode.failed', reason: 'rateLimited', backoffMs: 45_000 },
    ]);
    expect(h.value()).toMatchObject({ online: { pairing: { code: 'backoff' } } });
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    expect(h.prepare.calls).toHaveLength(1);
    expect(h.emittedOf('pairCode.failed')).toHaveLength(2);
    pass(h, 45_000);
    expect(h.value()).toMatchObject({ online: { pairing: { code: 'idle' } } });
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    expect(h.prepare.calls).toHaveLength(2);
    await h.flush();
    h.send({ type: 'server.codeRejected', status: 429, text: 'rate-overlimit' });
    expect(h.context().codeBackoff).toBe(DEFAULT_MD_TIMING.pairCodeRateBackoff);
  });

  it('an unanswered companion_hello, a failed preparation and an expired code end with their reasons', async () => {
    const h = mdHarness({ timing: { livenessTimeout: 10_000_000 } });
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    h.prepare.last.reject(new Error('pbkdf2 failed'));
    await h.flush();
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    h.prepare.last.resolve(PREPARED);
    await h.flush();
    h.clock.increment(DEFAULT_MD_TIMING.companionHelloTimeout);
    await toCodeShown(h);
    h.clock.increment(180_000 - 1);
    expect(h.tags()).toContain('needsCode');
    h.clock.increment(1);
    expect(h.emittedOf('pairCode.failed').map((e) => e.reason)).toEqual([
      'prepareFailed',
      'noAnswer',
      'expired',
    ]);
    expect(h.tags()).not.toContain('needsCode');
  });

  it('a new request cancels the old one: a fresh ephemeral, the old preparation ignored', async () => {
    const h = mdHarness();
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    const first = h.prepare.last;
    h.send({ type: 'user.requestPairingCode', phone: '15550002222' });
    expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason: 'cancelled' }]);
    expect(h.prepare.calls).toHaveLength(2);
    first.resolve({ ...PREPARED, code: 'OLDOLDOL' });
    await h.flush();
    expect(h.commandsOf('send.companionHello')).toHaveLength(0);
    h.prepare.last.resolve(PREPARED);
    await h.flush();
    expect(h.commandsOf('send.companionHello')).toEqual([expect.objectContaining({ phone: '15550002222' })]);
    // An invalid number while a code is pending leaves the pending one alone.
    h.send({ type: 'user.requestPairingCode', phone: 'nope' });
    expect(h.value()).toMatchObject({ online: { pairing: { code: { pending: 'awaitingAnswer' } } } });
  });

  it('a code asked for before pair-device starts once pairing does', async () => {
    const h = mdHarness({ prepare: PREPARED });
    h.send({ type: 'socket.opened' });
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    expect(h.prepare.calls).toHaveLength(0);
    h.send({ type: 'socket.secured' });
    h.send(serverEvents.pairDevice());
    expect(h.prepare.calls).toHaveLength(1);
    await h.flush();
    expect(h.commandsOf('send.companionHello')).toHaveLength(1);
  });

  it('answers primary_hello for its ref with companion_finish and redraws the QR from the new adv secret', async () => {
    const h = mdHarness({ prepare: PREPARED });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.primaryHello('3@other-ref', 'n-0'));
    expect(h.finish.calls).toHaveLength(0);
    h.send(serverEvents.primaryHello());
    expect(h.commandsOf('send.ack')).toEqual([
      {
        type: 'send.ack',
        id: 'n-0',
        to: 's.whatsapp.net',
        class: 'notification',
        ackType: 'link_code_companion_reg',
      },
      {
        type: 'send.ack',
        id: 'n-1',
        to: 's.whatsapp.net',
        class: 'notification',
        ackType: 'link_code_companion_reg',
      },
    ]);
    expect(h.finish.last.input.prepared).toEqual(PREPARED);
    expect(h.finish.last.input.hello).toMatchObject({ ref: '3@code-ref' });
    h.finish.last.resolve(FINISHED);
    await h.flush();
    expect(h.commands.at(-1)).toEqual({
      type: 'send.companionFinish',
      phone: PHONE,
      ref: FINISHED.ref,
      wrappedKeyBundle: FINISHED.wrappedKeyBundle,
      identityPublic: FINISHED.identityPublic,
    });
    expect(h.context().credentials.advSecret).toEqual(FINISHED.advSecret);
    const qr = h.emittedOf('qr');
    expect(qr).toHaveLength(2);
    expect(qr[1]!.text.split(',')[3]).toBe(Buffer.from(FINISHED.advSecret).toString('base64'));
  });

  it('a wrong code: another try while hellos are left, then tooManyAttempts', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: FINISHED });
    toPairing(h);
    await toCodeShown(h);
    for (let attempt = 1; attempt <= 3; attempt++) {
      h.send(serverEvents.primaryHello('3@code-ref', `n-${attempt}`));
      await h.flush();
      expect(h.value()).toMatchObject({
        online: { pairing: { code: { pending: { live: 'awaitingPairSuccess' } } } },
      });
      h.send({ type: 'server.finishRejected', status: 400, text: 'bad-request' });
    }
    expect(h.emittedOf('pairCode.wrongCode')).toEqual([
      { type: 'pairCode.wrongCode', attemptsLeft: 2 },
      { type: 'pairCode.wrongCode', attemptsLeft: 1 },
    ]);
    expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason: 'tooManyAttempts' }]);
    expect(h.value()).toMatchObject({ online: { pairing: { code: 'idle' } } });
  });

  it('no pair-success within 60 s of companion_finish ends the code (noPairSuccess)', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: FINISHED });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.primaryHello());
    await h.flush();
    pass(h, 60_000);
    expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason: 'noPairSuccess' }]);
  });

  it('a failed finishPairCode ends the code (finishFailed)', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: new Error('bad bundle') });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.primaryHello());
    await h.flush();
    expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason: 'finishFailed' }]);
  });

  it('asked for when no pairing can start: notPairing', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    expect(h.emittedOf('pairCode.failed')).toEqual([{ type: 'pairCode.failed', reason: 'notPairing' }]);
  });
});

describe('md machine: QR and code together', () => {
  it('the refs run out while a code is pending: the socket stays, then rests when the code ends', async () => {
    const h = mdHarness({ prepare: PREPARED });
    toPairing(h);
    pass(h, 150_000);
    await toCodeShown(h);
    pass(h, 10_000);
    expect(h.state()).toBe(PAIRING);
    expect(h.value()).toMatchObject({ online: { pairing: { qr: 'exhausted' } } });
    expect(h.emittedOf('qr.exhausted')).toHaveLength(1);
    expect(h.tags()).toEqual(['needsCode', 'online']);
    expect(h.stopped).toEqual([]);
    pass(h, 180_000);
    expect(h.state()).toBe('refsExhausted');
    expect(h.stopped).toEqual([0]);
  });

  it('a code rejected after the refs ran out rests at once', async () => {
    const h = mdHarness({ prepare: PREPARED, timing: { companionHelloTimeout: 200_000 } });
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    await h.flush();
    pass(h, 160_000);
    expect(h.state()).toBe(PAIRING);
    h.send({ type: 'server.codeRejected', status: 452, text: 'feature-not-available' });
    expect(h.state()).toBe('refsExhausted');
  });

  it('QR wins: the scan pairs while a code is pending, and the code region stops', async () => {
    const h = mdHarness({ prepare: PREPARED, verify: VERIFIED, store: 'ok' });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.pairSuccess());
    expect(h.state()).toBe('online.verifying');
    await h.flush();
    expect(h.state()).toBe('online.awaitingRestart');
    expect(h.emittedOf('paired')).toEqual([
      { type: 'paired', jid: DEVICE_JID, lid: DEVICE_LID, platform: 'android', method: 'qr' },
    ]);
    pass(h, 200_000);
    expect(h.emittedOf('qr')).toHaveLength(1);
    expect(h.emittedOf('pairCode.failed')).toHaveLength(0);
    expect(h.context().codePending).toBe(false);
    expect(h.context().prepared).toBeNull();
  });

  it('code wins: pair-success after companion_finish, and the QR stops rotating', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: FINISHED, verify: VERIFIED, store: 'ok' });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.primaryHello());
    await h.flush();
    h.send(serverEvents.pairSuccess());
    await h.flush();
    expect(h.emittedOf('paired')[0]!.method).toBe('code');
    expect(h.verify.last.input.credentials.advSecret).toEqual(FINISHED.advSecret);
    const shown = h.emittedOf('qr').length;
    pass(h, 60_000);
    expect(h.emittedOf('qr')).toHaveLength(shown);
  });
});

describe('md machine: pair-success', () => {
  it('verifies, stores the device durably, then signs it back; nothing is kept before', async () => {
    const h = mdHarness();
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    expect(h.verify.last.input.pairSuccess).toMatchObject({ iqId: 'ps-1', jid: DEVICE_JID });
    expect(h.context().credentials.me).toBeNull();
    h.verify.last.resolve(VERIFIED);
    await h.flush();
    expect(h.state()).toBe('online.storing');
    expect(h.commandsOf('send.pairDeviceSign')).toHaveLength(0);
    expect(h.storeDevice.last.input.credentials).toMatchObject({
      me: VERIFIED.ok ? VERIFIED.me : null,
      account: VERIFIED.ok ? VERIFIED.account : null,
      platform: 'android',
    });
    expect(h.context().credentials.me).toBeNull();
    h.storeDevice.last.resolve();
    await h.flush();
    expect(h.commandsOf('send.pairDeviceSign')).toEqual([
      {
        type: 'send.pairDeviceSign',
        iqId: 'ps-1',
        deviceIdentity: VERIFIED.ok ? VERIFIED.deviceIdentity : null,
        keyIndex: 1,
      },
    ]);
    expect(h.context().credentials.me).toEqual({ jid: DEVICE_JID, lid: DEVICE_LID });
    expect(h.context().verified).toBeNull();
    expect(h.emittedOf('credentials.updated')).toEqual([{ type: 'credentials.updated', jid: DEVICE_JID }]);
  });

  const refusals: [string, Parameters<MdHarness['verify']['last']['resolve']>[0], string, number, string][] =
    [
      [
        'the HMAC (step 2)',
        { ok: false, code: 401, text: 'hmac-mismatch' },
        'hmacMismatch',
        401,
        'hmac-mismatch',
      ],
      [
        'the account signature (step 4)',
        { ok: false, code: 401, text: 'signature-mismatch' },
        'signatureMismatch',
        401,
        'signature-mismatch',
      ],
      [
        'an undecodable container (steps 1, 3)',
        { ok: false, code: 500, text: 'internal-error' },
        'invalidPairSuccess',
        500,
        'internal-error',
      ],
    ];
  for (const [what, result, reason, code, text] of refusals) {
    it(`a pair-success failing ${what} is answered ${code} ${text} and rests in pairFailed(${reason})`, async () => {
      const h = mdHarness({ verify: result });
      toPairing(h);
      h.send(serverEvents.pairSuccess());
      await h.flush();
      expect(h.commands.at(-1)).toEqual({ type: 'send.pairError', iqId: 'ps-1', code, text });
      expect(h.state()).toBe('pairFailed');
      expect(h.tags()).toEqual(['offline', 'resting']);
      expect(h.emitted).toContainEqual({ type: 'pairFailed', reason });
      expect(h.storeDevice.calls).toHaveLength(0);
      expect(h.stored).toHaveLength(0);
      expect(h.commandsOf('send.pairDeviceSign')).toHaveLength(0);
      expect(h.context().credentials.me).toBeNull();
      expect(h.stopped).toEqual([0]);
    });
  }

  it('the device signature step (step 5) failing in the verifier is a 500 and verifyFailed', async () => {
    const h = mdHarness({ verify: new Error('xeddsa sign failed') });
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    await h.flush();
    expect(h.commands.at(-1)).toEqual({
      type: 'send.pairError',
      iqId: 'ps-1',
      code: 500,
      text: 'internal-error',
    });
    expect(h.emitted).toContainEqual({ type: 'pairFailed', reason: 'verifyFailed' });
  });

  it('a verifier that never answers misses verifyTimeout: 500, verifyFailed', async () => {
    const h = mdHarness();
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    h.clock.increment(DEFAULT_MD_TIMING.verifyTimeout);
    expect(h.state()).toBe('pairFailed');
    expect(h.context().failure).toBe('verifyFailed');
  });

  it('a device that cannot be stored is refused (500) and never signed: storeFailed', async () => {
    const h = mdHarness({ verify: VERIFIED, store: new Error('disk full') });
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    await h.flush();
    expect(h.commands.at(-1)).toEqual({
      type: 'send.pairError',
      iqId: 'ps-1',
      code: 500,
      text: 'internal-error',
    });
    expect(h.emitted).toContainEqual({ type: 'pairFailed', reason: 'storeFailed' });
    expect(h.commandsOf('send.pairDeviceSign')).toHaveLength(0);
    expect(h.context().credentials.me).toBeNull();
  });

  it('no 515 after pair-device-sign: restartTimeout, then a login on a new socket', async () => {
    const h = mdHarness({ verify: VERIFIED, store: 'ok' });
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    await h.flush();
    h.clock.increment(DEFAULT_MD_TIMING.restartTimeout);
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(DEFAULT_MD_TIMING.backoffBase);
    expect(h.sockets.at(-1)!.mode).toBe('login');
  });
});

describe('md machine: 515 and login', () => {
  async function paired(h: MdHarness) {
    toPairing(h);
    h.send(serverEvents.pairSuccess());
    await h.flush();
  }

  it('515 restarts at once in login mode; success stores the LID; pre-keys uploaded at 5 or fewer; passive; ready', async () => {
    const h = mdHarness({
      verify: { ...VERIFIED, me: { jid: DEVICE_JID, lid: null } } as typeof VERIFIED,
      store: 'ok',
    });
    await paired(h);
    h.send(serverEvents.streamError(515));
    expect(h.state()).toBe('online.connecting');
    expect(h.emittedOf('reconnecting')).toHaveLength(0);
    expect(h.sockets.map((s) => s.mode)).toEqual(['register', 'login']);
    expect(h.sockets[1]!.credentials.me).toEqual({ jid: DEVICE_JID, lid: null });
    toLoggedIn(h);
    expect(h.state()).toBe('online.countingPreKeys');
    expect(h.stored.at(-1)!.me).toEqual({ jid: DEVICE_JID, lid: DEVICE_LID });
    expect(h.commands.at(-1)).toEqual({ type: 'send.preKeyCount' });
    h.send({ type: 'server.preKeyCount', count: 5 });
    expect(h.commands.at(-1)).toEqual({ type: 'send.preKeyUpload', count: 30, firstId: 1 });
    h.send({ type: 'server.preKeysUploaded' });
    expect(h.stored.at(-1)).toMatchObject({ nextPreKeyId: 31, firstUnuploadedPreKeyId: 31 });
    expect(h.commands.at(-1)).toEqual({ type: 'send.passiveActive' });
    h.send({ type: 'server.passiveActive' });
    expect(h.state()).toBe('online.ready');
    expect(h.tags()).toEqual(['online', 'ready']);
    expect(h.emitted).toContainEqual({ type: 'ready', jid: DEVICE_JID });
    expect(h.states).toEqual([
      'online.connecting',
      'online.handshaking',
      'online.registering',
      'online.pairing',
      'online.verifying',
      'online.storing',
      'online.awaitingRestart',
      'online.connecting',
      'online.handshaking',
      'online.loggingIn',
      'online.countingPreKeys',
      'online.uploadingPreKeys',
      'online.activating',
      'online.ready',
    ]);
  });

  it('more than 5 pre-keys on the server: no upload', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toLoggedIn(h);
    h.send({ type: 'server.preKeyCount', count: 6 });
    expect(h.state()).toBe('online.activating');
    expect(h.commandsOf('send.preKeyUpload')).toHaveLength(0);
  });

  it('an error answer to count, upload or passive gives the socket up', () => {
    for (const reach of [
      (h: MdHarness) => toLoggedIn(h),
      (h: MdHarness) => {
        toLoggedIn(h);
        h.send({ type: 'server.preKeyCount', count: 0 });
      },
      (h: MdHarness) => {
        toLoggedIn(h);
        h.send({ type: 'server.preKeyCount', count: 50 });
      },
    ]) {
      const h = mdHarness({ credentials: pairedMdCredentials() });
      reach(h);
      h.send({ type: 'server.iqError', iqId: 'x', code: 500, text: 'internal-server-error' });
      expect(h.state()).toBe('reconnecting');
      expect(h.emittedOf('reconnecting')[0]!.reason).toBe(
        'an IQ was answered with error 500 internal-server-error',
      );
    }
  });

  const failures: [number, string, string, boolean][] = [
    [401, 'loggedOut', 'removed', true],
    [403, 'loggedOut', 'mainDeviceGone', true],
    [406, 'loggedOut', 'unknownLogout', true],
    [405, 'failed', 'clientOutdated', false],
  ];
  for (const [reason, state, failure, cleared] of failures) {
    it(`<failure reason=${reason}> → ${state}(${failure})${cleared ? ', the device cleared' : ''}`, () => {
      const fresh = mdCredentials({
        noiseKey: { privateKey: new Uint8Array(32), publicKey: new Uint8Array(32) },
      });
      const h = mdHarness({ credentials: pairedMdCredentials(), freshCredentials: () => fresh });
      h.send({ type: 'socket.opened' });
      h.send({ type: 'socket.secured' });
      h.send({ type: 'server.failure', reason });
      expect(h.state()).toBe(state);
      expect(h.context().failure).toBe(failure);
      expect(h.cleared).toEqual(cleared ? [failure] : []);
      expect(h.context().credentials.me === null).toBe(cleared);
      if (cleared) {
        expect(h.emitted).toContainEqual({ type: 'credentials.cleared', reason: failure });
        expect(h.emitted).toContainEqual({ type: 'loggedOut', reason: failure });
        expect(h.context().credentials).toBe(fresh);
        h.send({ type: 'user.restart' });
        expect(h.sockets.at(-1)!.mode).toBe('register');
      } else {
        expect(h.emitted).toContainEqual({ type: 'failed', reason: failure });
      }
      h.clock.increment(3_600_000);
      expect(h.sockets).toHaveLength(cleared ? 2 : 1);
    });
  }

  for (const reason of [429, 503]) {
    it(`<failure reason=${reason}> backs off at least throttledBackoff, then tries again`, () => {
      const h = mdHarness({ credentials: pairedMdCredentials() });
      toLoggedIn(h);
      h.send({ type: 'server.failure', reason });
      expect(h.state()).toBe('reconnecting');
      expect(h.emittedOf('reconnecting')[0]).toMatchObject({ delay: 30_000, reason: `failure ${reason}` });
      h.clock.increment(29_999);
      expect(h.sockets).toHaveLength(1);
      h.clock.increment(1);
      expect(h.sockets).toHaveLength(2);
      expect(h.context().throttled).toBe(false);
    });
  }

  it('any other <failure> reconnects with the ordinary backoff', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toLoggedIn(h);
    h.send({ type: 'server.failure', reason: 500 });
    expect(h.emittedOf('reconnecting')[0]).toMatchObject({ delay: 750, reason: 'failure 500' });
  });

  it('no <success> within loginTimeout: reconnect', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    h.send({ type: 'socket.opened' });
    h.send({ type: 'socket.secured' });
    h.clock.increment(DEFAULT_MD_TIMING.loginTimeout);
    expect(h.state()).toBe('reconnecting');
  });
});

describe('md machine: stream errors and dropped sockets', () => {
  it('conflict replaced → conflict, which never reconnects on its own', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send(serverEvents.streamError(null, { conflict: 'replaced' }));
    expect(h.state()).toBe('conflict');
    expect(h.emitted).toContainEqual({ type: 'conflict' });
    expect(h.context().failure).toBe('replaced');
    expect(h.cleared).toEqual([]);
    h.clock.increment(3_600_000);
    expect(h.sockets).toHaveLength(1);
    h.send({ type: 'user.restart' });
    expect(h.sockets).toHaveLength(2);
  });

  it('device_removed → loggedOut(deviceRemoved), the device cleared', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send(serverEvents.streamError(401, { conflict: 'device_removed', deviceRemoved: true }));
    expect(h.state()).toBe('loggedOut');
    expect(h.cleared).toEqual(['deviceRemoved']);
    expect(h.context().credentials.me).toBeNull();
    expect(h.context().credentials.account).toBeNull();
  });

  it('another stream error reconnects with backoff; a 515 while logged in restarts', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send(serverEvents.streamError(503));
    expect(h.state()).toBe('reconnecting');
    expect(h.emittedOf('reconnecting')[0]!.reason).toBe('stream error 503');
    h.clock.increment(1_000);
    toReady(h);
    h.send(serverEvents.streamError(515));
    expect(h.state()).toBe('online.connecting');
  });

  const steps: [string, (h: MdHarness) => Promise<void> | void][] = [
    ['connecting', () => undefined],
    ['handshaking', (h) => h.send({ type: 'socket.opened' })],
    [
      'registering',
      (h) => {
        h.send({ type: 'socket.opened' });
        h.send({ type: 'socket.secured' });
      },
    ],
    ['pairing', (h) => toPairing(h)],
    [
      'verifying',
      (h) => {
        toPairing(h);
        h.send(serverEvents.pairSuccess());
      },
    ],
    [
      'storing',
      async (h) => {
        toPairing(h);
        h.send(serverEvents.pairSuccess());
        h.verify.last.resolve(VERIFIED);
        await h.flush();
      },
    ],
    [
      'awaitingRestart',
      async (h) => {
        toPairing(h);
        h.send(serverEvents.pairSuccess());
        h.verify.last.resolve(VERIFIED);
        await h.flush();
        h.storeDevice.last.resolve();
        await h.flush();
      },
    ],
  ];
  for (const [state, reach] of steps) {
    it(`a dropped socket while ${state} reconnects with backoff`, async () => {
      const h = mdHarness();
      await reach(h);
      expect(h.state()).toBe(`online.${state}`);
      h.send(serverEvents.closed());
      expect(h.state()).toBe('reconnecting');
      expect(h.emittedOf('reconnecting')[0]).toMatchObject({
        attempt: 1,
        reason: 'socket closed (1006: dropped)',
      });
      h.clock.increment(750);
      expect(h.state()).toBe('online.connecting');
      expect(h.sockets).toHaveLength(2);
    });
  }

  const loginSteps: [string, (h: MdHarness) => void][] = [
    [
      'loggingIn',
      (h) => {
        h.send({ type: 'socket.opened' });
        h.send({ type: 'socket.secured' });
      },
    ],
    ['countingPreKeys', (h) => toLoggedIn(h)],
    [
      'uploadingPreKeys',
      (h) => {
        toLoggedIn(h);
        h.send({ type: 'server.preKeyCount', count: 0 });
      },
    ],
    [
      'activating',
      (h) => {
        toLoggedIn(h);
        h.send({ type: 'server.preKeyCount', count: 50 });
      },
    ],
    ['ready', (h) => toReady(h)],
  ];
  for (const [state, reach] of loginSteps) {
    it(`a dropped socket while ${state} reconnects and logs in again`, () => {
      const h = mdHarness({ credentials: pairedMdCredentials() });
      reach(h);
      expect(h.state()).toBe(`online.${state}`);
      h.send(serverEvents.closed());
      expect(h.state()).toBe('reconnecting');
      h.clock.increment(750);
      expect(h.sockets.map((s) => s.mode)).toEqual(['login', 'login']);
    });
  }

  it('each waiting state of the pre-ready sequence has its own deadline', () => {
    const after = new Map<string, string[]>();
    for (const t of describeMachine(mdSessionMachine).transitions) {
      if (t.trigger.kind === 'after') after.set(t.source, [...(after.get(t.source) ?? []), t.trigger.delay]);
    }
    const structure = describeMachine(mdSessionMachine);
    const leaves = structure.states.filter((s) => s.kind === 'atomic').map((s) => s.path);
    // A leaf waits when it is neither resting nor passed through (an eventless transition).
    const always = new Set(
      structure.transitions.filter((t) => t.trigger.kind === 'always').map((t) => t.source),
    );
    const resting = new Set(['refsExhausted', 'conflict', 'loggedOut', 'failed', 'pairFailed']);
    const deadlineless = leaves.filter((leaf) => {
      if (resting.has(leaf) || always.has(leaf)) return false;
      const parts = leaf.split('.');
      for (let i = parts.length; i > 0; i--) if (after.has(parts.slice(0, i).join('.'))) return false;
      return true;
    });
    expect(deadlineless).toEqual([]);
  });
});

describe('md machine: ready', () => {
  it('pings every 30 s; any stanza is life; 35 s without one gives the socket up', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.clock.increment(30_000);
    expect(h.commandsOf('send.ping')).toHaveLength(1);
    h.send({ type: 'server.pong' });
    h.clock.increment(30_000);
    expect(h.commandsOf('send.ping')).toHaveLength(2);
    expect(h.state()).toBe('online.ready');
    h.clock.increment(4_999);
    expect(h.state()).toBe('online.ready');
    h.clock.increment(1);
    expect(h.state()).toBe('reconnecting');
    expect(h.emittedOf('reconnecting')[0]!.reason).toBe('a stanza did not come within 35 s');
  });

  it('life in the liveness region does not keep a stream error from reaching online', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send(serverEvents.streamError(null, { conflict: 'replaced' }));
    expect(h.state()).toBe('conflict');
    const p = mdHarness();
    toPairing(p);
    p.send({ type: 'server.failure', reason: 405 });
    expect(p.state()).toBe('failed');
  });

  it('a stanza taken inside a region (companion_hello answer, a message) is life too', async () => {
    const h = mdHarness({ prepare: PREPARED });
    toPairing(h);
    h.send({ type: 'user.requestPairingCode', phone: PHONE });
    await h.flush();
    h.clock.increment(34_000);
    h.send({ type: 'server.codeAccepted', ref: '3@code-ref' });
    h.clock.increment(34_000);
    expect(h.state()).toBe(PAIRING);
    h.clock.increment(1_000);
    expect(h.state()).toBe('reconnecting');

    const r = mdHarness({ credentials: pairedMdCredentials() });
    toReady(r);
    r.clock.increment(34_000);
    r.send({
      type: 'server.message',
      id: 'm',
      from: 'a@s.whatsapp.net',
      t: 1,
      content: { kind: 'text', text: '.' },
    });
    r.clock.increment(34_000);
    expect(r.state()).toBe('online.ready');
  });

  it('pings while pairing too, and gives a silent pairing socket up after 35 s', () => {
    const h = mdHarness();
    toPairing(h);
    h.clock.increment(30_000);
    expect(h.commandsOf('send.ping')).toHaveLength(1);
    h.clock.increment(5_000);
    expect(h.state()).toBe('reconnecting');
  });

  it('acks and receipts every message, emits it without key bytes, queues media and stores app-state keys', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    const mediaKey = new Uint8Array(32).fill(0xee);
    const keyData = new Uint8Array(32).fill(0xdd);
    const messages: MdSessionEvent[] = [
      {
        type: 'server.message',
        id: 'm1',
        from: 'a@s.whatsapp.net',
        t: 1,
        messageType: 'text',
        content: { kind: 'text', text: 'hi' },
      },
      {
        type: 'server.message',
        id: 'm2',
        from: 'g@g.us',
        participant: 'b@s.whatsapp.net',
        t: 2,
        messageType: 'media',
        content: {
          kind: 'media',
          media: { type: 'image', mediaKey, directPath: '/m/1', mimetype: 'image/jpeg' },
          caption: 'pic',
        },
      },
      {
        type: 'server.message',
        id: 'm3',
        from: DEVICE_JID,
        t: 3,
        peer: true,
        content: {
          kind: 'appStateKeys',
          keys: [{ keyId: { keyId: new Uint8Array(6) }, keyData: { keyData } }],
        },
      },
      {
        type: 'server.message',
        id: 'm4',
        from: DEVICE_JID,
        t: 4,
        peer: true,
        content: { kind: 'historySync', syncType: 5 },
      },
      {
        type: 'server.message',
        id: 'm5',
        from: 'c@s.whatsapp.net',
        t: 5,
        content: { kind: 'undecryptable', reason: 'no session' },
      },
    ];
    for (const message of messages) h.send(message);
    expect(h.commands.filter((c) => c.type === 'send.ack' || c.type === 'send.receipt')).toEqual([
      { type: 'send.receipt', id: 'm1', to: 'a@s.whatsapp.net', receiptType: 'inactive' },
      { type: 'send.ack', id: 'm1', to: 'a@s.whatsapp.net', class: 'message', ackType: 'text' },
      {
        type: 'send.receipt',
        id: 'm2',
        to: 'g@g.us',
        participant: 'b@s.whatsapp.net',
        receiptType: 'inactive',
      },
      {
        type: 'send.ack',
        id: 'm2',
        to: 'g@g.us',
        class: 'message',
        ackType: 'media',
        participant: 'b@s.whatsapp.net',
      },
      { type: 'send.receipt', id: 'm3', to: DEVICE_JID, receiptType: 'peer_msg' },
      { type: 'send.ack', id: 'm3', to: DEVICE_JID, class: 'message' },
      { type: 'send.receipt', id: 'm4', to: DEVICE_JID, receiptType: 'peer_msg' },
      { type: 'send.receipt', id: 'm4', to: DEVICE_JID, receiptType: 'hist_sync' },
      { type: 'send.ack', id: 'm4', to: DEVICE_JID, class: 'message' },
      { type: 'send.ack', id: 'm5', to: 'c@s.whatsapp.net', class: 'message' },
    ]);
    expect(h.emittedOf('message').map((e) => e.message.content)).toEqual([
      { kind: 'text', text: 'hi' },
      { kind: 'media', media: { type: 'image', directPath: '/m/1', mimetype: 'image/jpeg' }, caption: 'pic' },
      { kind: 'appStateKeys', count: 1 },
      { kind: 'historySync', syncType: 5 },
      { kind: 'undecryptable', reason: 'no session' },
    ]);
    expect(h.media).toEqual([
      {
        media: { type: 'image', mediaKey, directPath: '/m/1', mimetype: 'image/jpeg' },
        messageId: 'm2',
        chat: 'g@g.us',
      },
    ]);
    expect(h.appStateKeys).toHaveLength(1);
    const everything = JSON.stringify(h.emitted.map((e) => jsonSafe(e)));
    expect(everything).not.toContain(Buffer.from(mediaKey).toString('base64'));
    expect(everything).not.toContain(Buffer.from(keyData).toString('base64'));
  });

  it('acks notifications and receipts, reports receipts and the offline marker, even before ready', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toLoggedIn(h);
    h.send({
      type: 'server.message',
      id: 'o1',
      from: 'a@s.whatsapp.net',
      t: 1,
      content: { kind: 'text', text: 'queued' },
    });
    h.send({ type: 'server.offline', count: 1 });
    h.send({ type: 'server.notification', id: 'n1', from: 's.whatsapp.net', notificationType: 'devices' });
    h.send({ type: 'server.receipt', id: 'r1', from: 'a@s.whatsapp.net', receiptType: 'read' });
    expect(h.commands.filter((c) => c.type === 'send.ack').slice(1)).toEqual([
      { type: 'send.ack', id: 'n1', to: 's.whatsapp.net', class: 'notification', ackType: 'devices' },
      { type: 'send.ack', id: 'r1', to: 'a@s.whatsapp.net', class: 'receipt', ackType: 'read' },
    ]);
    expect(h.emitted).toContainEqual({ type: 'offline', count: 1 });
    expect(h.emitted).toContainEqual({
      type: 'receipt',
      id: 'r1',
      from: 'a@s.whatsapp.net',
      receiptType: 'read',
    });
    expect(h.emittedOf('message')).toHaveLength(1);
  });

  it('answers a text asked for before ready with send.failed notReady, and sends nothing', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toLoggedIn(h);
    h.send({ type: 'user.sendText', jid: 'a@s.whatsapp.net', text: 'early', id: 'E1' });
    expect(h.emitted).toContainEqual({
      type: 'send.failed',
      id: 'E1',
      to: 'a@s.whatsapp.net',
      reason: 'notReady',
    });
    expect(h.commandsOf('send.text')).toEqual([]);
  });

  it('asks props, blocklist and privacy on entering ready (§9)', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    expect(h.commands.filter((c) => c.type === 'send.accountQueries')).toHaveLength(1);
  });

  it('sends texts, reports their acks and failures; counts dropped frames', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toReady(h);
    h.send({ type: 'user.sendText', jid: 'a@s.whatsapp.net', text: 'yo', id: 'X1' });
    expect(h.commands.at(-1)).toEqual({ type: 'send.text', jid: 'a@s.whatsapp.net', text: 'yo', id: 'X1' });
    // §12.7: the server's ack is `sent`; an ack with an error and a send the socket could not make are
    // typed `send.failed` events.
    h.send({ type: 'server.messageAck', id: 'X1', from: 'a@s.whatsapp.net' });
    h.send({ type: 'server.messageAck', id: 'X2', from: 'a@s.whatsapp.net', error: 479 });
    h.send({
      type: 'socket.sendFailed',
      id: 'X3',
      to: 'b@s.whatsapp.net',
      reason: 'noDevices',
      detail: 'none',
    });
    expect(h.emitted).toContainEqual({ type: 'sent', id: 'X1', to: 'a@s.whatsapp.net' });
    expect(h.emitted).toContainEqual({
      type: 'send.failed',
      id: 'X2',
      to: 'a@s.whatsapp.net',
      reason: 'serverError',
      detail: 'ack error 479',
    });
    expect(h.emitted).toContainEqual({
      type: 'send.failed',
      id: 'X3',
      to: 'b@s.whatsapp.net',
      reason: 'noDevices',
      detail: 'none',
    });
    expect(h.state()).toBe('online.ready');
    h.send({ type: 'server.frameDropped', code: 'FRAME_UNDECODABLE', reason: 'bad node' });
    expect(h.emitted).toContainEqual({
      type: 'frame.dropped',
      code: 'FRAME_UNDECODABLE',
      reason: 'bad node',
      count: 1,
    });
  });

  for (const [how, answer] of [
    ['the server accepts', (h: MdHarness) => h.send({ type: 'server.logoutAccepted' })],
    ['the socket closes', (h: MdHarness) => h.send(serverEvents.closed())],
    ['nobody answers', (h: MdHarness) => h.clock.increment(DEFAULT_MD_TIMING.logoutTimeout)],
  ] as const) {
    it(`logout sends remove-companion-device and forgets the device when ${how}`, () => {
      const h = mdHarness({ credentials: pairedMdCredentials() });
      toReady(h);
      h.send({ type: 'user.logout' });
      expect(h.state()).toBe('online.loggingOut');
      expect(h.commands.at(-1)).toEqual({ type: 'send.logout' });
      answer(h);
      expect(h.state()).toBe('loggedOut');
      expect(h.cleared).toEqual(['loggedOut']);
      expect(h.emitted).toContainEqual({ type: 'loggedOut', reason: 'loggedOut' });
    });
  }

  it('logout before ready, or while waiting to reconnect, forgets the device at once', () => {
    const h = mdHarness({ credentials: pairedMdCredentials() });
    toLoggedIn(h);
    h.send({ type: 'user.logout' });
    expect(h.state()).toBe('loggedOut');
    const r = mdHarness({ credentials: pairedMdCredentials() });
    r.send(serverEvents.closed());
    r.send({ type: 'user.logout' });
    expect(r.state()).toBe('loggedOut');
    expect(r.cleared).toEqual(['loggedOut']);
  });
});

describe('md machine: backoff', () => {
  it('is jittered and capped', () => {
    const ctx = (random: number) => ({ timing: DEFAULT_MD_TIMING, random: () => random });
    expect(mdBackoffDelay(ctx(0), 0)).toBe(500);
    expect(mdBackoffDelay(ctx(1), 0)).toBe(1_000);
    expect(mdBackoffDelay(ctx(1), 3)).toBe(8_000);
    expect(mdBackoffDelay(ctx(1), 50)).toBe(60_000);
    expect(mdBackoffDelay(ctx(0), 50)).toBe(30_000);
    expect(mdBackoffDelay(ctx(0), 0, true)).toBe(30_000);
  });

  it('grows across ready sessions that drop early, and resets only after a stable period', () => {
    const h = mdHarness({ credentials: pairedMdCredentials(), random: () => 1 });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      toReady(h);
      h.clock.increment(10_000);
      h.send({ type: 'server.pong' });
      h.send(serverEvents.closed());
      delays.push(h.emittedOf('reconnecting').at(-1)!.delay);
      h.clock.increment(delays.at(-1)!);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000]);
    toReady(h);
    pass(h, DEFAULT_MD_TIMING.readyStable);
    expect(h.context().reconnectAttempts).toBe(0);
    h.send(serverEvents.closed());
    expect(h.emittedOf('reconnecting').at(-1)!.delay).toBe(1_000);
  });
});

describe('md machine: secrets', () => {
  it('nothing emitted carries a private key, the adv secret (outside the QR) or the ephemeral', async () => {
    const h = mdHarness({ prepare: PREPARED, finish: FINISHED, verify: VERIFIED, store: 'ok' });
    toPairing(h);
    await toCodeShown(h);
    h.send(serverEvents.primaryHello());
    await h.flush();
    h.send(serverEvents.pairSuccess());
    await h.flush();
    h.send(serverEvents.streamError(515));
    toReady(h);
    const creds = mdCredentials();
    const secrets = [
      creds.noiseKey.privateKey,
      creds.identityKey.privateKey,
      creds.signedPreKey.keyPair.privateKey,
      PREPARED.ephemeral.privateKey,
    ].map((b) => Buffer.from(b).toString('base64'));
    const adv = [creds.advSecret, FINISHED.advSecret].map((b) => Buffer.from(b).toString('base64'));
    const outside = JSON.stringify(h.emitted.filter((e) => e.type !== 'qr').map((e) => jsonSafe(e)));
    for (const secret of [...secrets, ...adv]) expect(outside).not.toContain(secret);
    const qrs = JSON.stringify(h.emittedOf('qr'));
    for (const secret of secrets) expect(qrs).not.toContain(secret);
  });
});
