// Pairing (docs/protocol-md.md §6-7): after pair-device, a QR region and a pair-code region run side by
// side with the keep-alive; the first pair-success, whichever method brought it, wins and stops both
// (§7.7). It is verified (the HMAC with the adv secret, the account signature, the device signature,
// §6.5) before anything is kept; a verified device is stored durably and only then signed back
// (pair-device-sign, §6.6); then the server restarts the stream (515, §8.1). A pair-success that fails a
// check is answered with the error IQ and the session rests in pairFailed with the reason.
import { assertEvent, assign, sendTo } from 'xstate';
import { fail, KEEP_ALIVE_REGIONS, silence, timer } from './md-setup.ts';
import type {
  MdCredentials,
  MdPairFailure,
  MdSessionContext,
  MdSocketCommand,
  VerifyPairSuccessResult,
} from './md-types.ts';
import { codeRegion, codeSetup } from './pairing-code.ts';
import { qrRegion } from './pairing-qr.ts';

/** The reason a refused pair-success rests with (docs/protocol-md.md §6.5's replies). */
export function pairFailureOf(result: Extract<VerifyPairSuccessResult, { ok: false }>): MdPairFailure {
  if (result.text === 'hmac-mismatch') return 'hmacMismatch';
  if (result.text === 'signature-mismatch') return 'signatureMismatch';
  return 'invalidPairSuccess';
}

/** The error IQ for a refused pair-success: the verifier's 401s, anything else 500 internal-error (§6.6). */
function pairErrorOf(result: Extract<VerifyPairSuccessResult, { ok: false }>) {
  return result.code === 401 && (result.text === 'hmac-mismatch' || result.text === 'signature-mismatch')
    ? { code: 401, text: result.text }
    : INTERNAL_ERROR;
}

const INTERNAL_ERROR = { code: 500, text: 'internal-error' } as const;

/** The credentials of the verified device: who it is, the account as kept, the primary's platform. */
export function pairedCredentials(context: MdSessionContext): MdCredentials {
  const verified = context.verified!;
  const platform = context.pairSuccess?.platform;
  return {
    ...context.credentials,
    me: verified.me,
    account: verified.account,
    ...(platform ? { platform } : {}),
  };
}

export const pairingSetup = codeSetup.extend({
  actions: {
    /** The pair-success to verify, and which method brought it (a code once companion_finish went out). */
    rememberPairSuccess: assign(({ context, event }) => {
      assertEvent(event, 'server.pairSuccess');
      return { pairSuccess: event, pairingMethod: context.finishSent ? ('code' as const) : ('qr' as const) };
    }),
    rememberVerified: assign((_, params: { result: VerifyPairSuccessResult }) => ({
      verified: params.result.ok ? params.result : null,
    })),
    rememberPairError: assign((_, params: { code: number; text: string }) => ({
      pairError: { code: params.code, text: params.text },
    })),
    sendPairError: sendTo(
      'socket',
      ({ context }): MdSocketCommand => ({
        type: 'send.pairError',
        iqId: context.pairSuccess?.iqId ?? '',
        code: context.pairError?.code ?? INTERNAL_ERROR.code,
        text: context.pairError?.text ?? INTERNAL_ERROR.text,
      }),
    ),
    /** The device is durable: it becomes the session's, and the application hears it. */
    adoptDevice: codeSetup.enqueueActions(({ context, enqueue }) => {
      const credentials = pairedCredentials(context);
      enqueue.assign({ credentials });
      enqueue.emit({
        type: 'paired',
        jid: credentials.me!.jid,
        lid: credentials.me!.lid,
        platform: context.pairSuccess?.platform ?? null,
        method: context.pairingMethod ?? 'qr',
      });
      enqueue.emit({ type: 'credentials.updated', jid: credentials.me!.jid });
    }),
    /** §6.6: the identity with the device signature, account signature key stripped; its key index. */
    sendPairDeviceSign: sendTo('socket', ({ context }): MdSocketCommand => {
      const verified = context.verified!;
      return {
        type: 'send.pairDeviceSign',
        iqId: context.pairSuccess!.iqId,
        deviceIdentity: verified.deviceIdentity,
        keyIndex: verified.keyIndex,
      };
    }),
    /** The verified device is in the credentials now; the verifier's output is not kept twice. */
    forgetVerification: assign({ verified: null, pairError: null }),
  },
  guards: {
    verifiedOk: (_, params: { result: VerifyPairSuccessResult }) => params.result.ok,
  },
  delays: {
    verifyTimeout: ({ context }) => timer(context.timing.verifyTimeout),
    storeTimeout: ({ context }) => timer(context.timing.storeTimeout),
    restartTimeout: ({ context }) => timer(context.timing.restartTimeout),
  },
});

/** A pair-success that cannot be trusted: the error IQ with `pairError`, then pairFailed with `reason`. */
function refuse(reason: MdPairFailure, pairError: { code: number; text: string } = INTERNAL_ERROR) {
  return {
    target: '#mdSession.online.pairRejected',
    actions: [{ type: 'rememberPairError', params: pairError }, fail(reason)],
  } as const;
}

export const pairingState = pairingSetup.createStateConfig({
  description:
    'QR and pair code side by side (docs/protocol-md.md §7.7): the first pair-success wins and stops both.',
  type: 'parallel',
  on: { 'server.pairSuccess': { target: 'verifying', actions: 'rememberPairSuccess' } },
  states: {
    qr: qrRegion,
    code: codeRegion,
    ...KEEP_ALIVE_REGIONS,
  },
});

export const verifyingState = pairingSetup.createStateConfig({
  description:
    'pair-success checked: HMAC with the adv secret, account signature, device signature (docs/protocol-md.md §6.5).',
  invoke: {
    id: 'verifyPairSuccess',
    src: 'verifyPairSuccess',
    input: ({ context }) => ({ pairSuccess: context.pairSuccess!, credentials: context.credentials }),
    onDone: [
      {
        guard: { type: 'verifiedOk', params: ({ event }) => ({ result: event.output }) },
        target: 'storing',
        actions: { type: 'rememberVerified', params: ({ event }) => ({ result: event.output }) },
      },
      {
        target: 'pairRejected',
        actions: [
          {
            type: 'rememberPairError',
            params: ({ event }) =>
              pairErrorOf(event.output as Extract<VerifyPairSuccessResult, { ok: false }>),
          },
          {
            type: 'setFailure',
            params: ({ event }) => ({
              reason: pairFailureOf(event.output as Extract<VerifyPairSuccessResult, { ok: false }>),
            }),
          },
        ],
      },
    ],
    onError: refuse('verifyFailed'),
  },
  after: { verifyTimeout: refuse('verifyFailed') },
});

export const storingState = pairingSetup.createStateConfig({
  description:
    'The verified device is stored before it is signed back (docs/protocol-md.md §15): a kill leaves a device the server never accepted, never one it has and the companion lost.',
  invoke: {
    id: 'storeDevice',
    src: 'storeDevice',
    input: ({ context }) => ({ credentials: pairedCredentials(context) }),
    onDone: {
      target: 'awaitingRestart',
      actions: ['adoptDevice', 'sendPairDeviceSign', 'forgetVerification'],
    },
    onError: refuse('storeFailed'),
  },
  after: { storeTimeout: refuse('storeFailed') },
});

export const awaitingRestartState = pairingSetup.createStateConfig({
  description: 'pair-device-sign sent; the server restarts the stream with 515 (docs/protocol-md.md §8.1).',
  after: { restartTimeout: silence('the restart (515)', 'restartTimeout') },
});

export const pairRejectedState = pairingSetup.createStateConfig({
  description: 'The error IQ for a refused pair-success (docs/protocol-md.md §6.6), then pairFailed.',
  entry: 'sendPairError',
  always: '#mdSession.pairFailed',
});
