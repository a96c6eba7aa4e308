// The pair-code region of pairing (docs/protocol-md.md §7): the user asks for a code with a phone number;
// the number is checked (§7.1), a fresh ephemeral is wrapped with a new code (preparePairCode, §7.2),
// companion_hello goes out and the code is shown only once the server accepted it (§7.3, §7.6). Then the
// phone types it: each primary_hello (at most 3, within the code's 180 s) is answered with
// companion_finish (finishPairCode, §7.4-7.5), and pair-success must follow within 60 s. One code at a
// time: a new request cancels the old one.
import { assertEvent, assign, emit, raise, sendTo } from 'xstate';
import { timer } from './md-setup.ts';
import type {
  FinishedPairCode,
  MdLimits,
  MdPairCodeFailure,
  MdPhoneProblem,
  MdSessionEmitted,
  MdSocketCommand,
  PreparedPairCode,
} from './md-types.ts';
import { qrSetup } from './pairing-qr.ts';

export type PhoneCheck = { ok: true; phone: string } | { ok: false; problem: MdPhoneProblem };

/** Separators people type in a number; anything else that is not a digit is refused. */
const SEPARATORS = /[\s+\-().]/g;

/**
 * A phone number as companion_hello sends it (docs/protocol-md.md §7.1): digits only (spaces, `+`, dashes,
 * dots and parentheses are dropped), at least minPhoneDigits, not starting with 0.
 */
export function checkPhone(
  phone: unknown,
  limits: Pick<MdLimits, 'minPhoneDigits' | 'maxPhoneDigits'>,
): PhoneCheck {
  if (typeof phone !== 'string') return { ok: false, problem: 'notDigits' };
  const digits = phone.replace(SEPARATORS, '');
  if (!/^\d*$/.test(digits)) return { ok: false, problem: 'notDigits' };
  if (digits.length < limits.minPhoneDigits) return { ok: false, problem: 'tooShort' };
  if (digits.length > limits.maxPhoneDigits) return { ok: false, problem: 'tooLong' };
  if (digits.startsWith('0')) return { ok: false, problem: 'leadingZero' };
  return { ok: true, phone: digits };
}

/** The code as shown: XXXX-XXXX (docs/protocol-md.md §7.1). */
export function formatPairCode(code: string): string {
  return code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/** companion_hello's typed rejections (docs/protocol-md.md §7.6). */
export function rejectionReason(status: number): MdPairCodeFailure {
  switch (status) {
    case 400:
      return 'badRequest';
    case 403:
      return 'forbidden';
    case 429:
      return 'rateLimited';
    case 452:
      return 'useQr';
    case 500:
      return 'serverError';
    default:
      return 'rejected';
  }
}

function codeFailed(
  reason: MdPairCodeFailure,
  extra: Partial<Extract<MdSessionEmitted, { type: 'pairCode.failed' }>> = {},
) {
  return { type: 'pairCode.failed', reason, ...extra } as const satisfies MdSessionEmitted;
}

export const codeSetup = qrSetup.extend({
  actions: {
    /** A request made before pairing started: kept for the code region (§7.3: only on a registered socket). */
    rememberRequestedPhone: assign(({ context, event }) => {
      assertEvent(event, 'user.requestPairingCode');
      const check = checkPhone(event.phone, context.limits);
      return { requestedPhone: check.ok ? check.phone : null };
    }),
    takeRequestedPhone: assign(({ context }) => ({ phone: context.requestedPhone, requestedPhone: null })),
    takePhone: assign(({ context, event }) => {
      assertEvent(event, 'user.requestPairingCode');
      const check = checkPhone(event.phone, context.limits);
      return { phone: check.ok ? check.phone : null };
    }),
    emitInvalidPhone: emit(({ context, event }): MdSessionEmitted => {
      assertEvent(event, 'user.requestPairingCode');
      const check = checkPhone(event.phone, context.limits);
      return codeFailed('invalidPhone', check.ok ? {} : { problem: check.problem });
    }),
    emitNotPairing: emit(codeFailed('notPairing')),
    emitCancelled: emit(codeFailed('cancelled')),
    emitCodeFailed: emit((_, params: { reason: MdPairCodeFailure }) => codeFailed(params.reason)),
    emitRateLimited: emit(({ context }) => codeFailed('rateLimited', { backoffMs: context.codeBackoff })),
    /** A new request starts from nothing: no ephemeral, no ref, no hellos counted. */
    startRequest: assign({
      codePending: true,
      prepared: null,
      pairCodeRef: null,
      primaryHellos: 0,
      finishSent: false,
    }),
    /** `finishSent` outlives the request until idle: pair-success reads it after the region has exited. */
    endRequest: assign({ codePending: false, prepared: null, pairCodeRef: null }),
    rememberPrepared: assign((_, params: { prepared: PreparedPairCode }) => ({ prepared: params.prepared })),
    /** §7.3: companion_hello carries the wrapped ephemeral; the code is not shown yet. */
    sendCompanionHello: sendTo(
      'socket',
      ({ context }): MdSocketCommand => ({
        type: 'send.companionHello',
        phone: context.phone!,
        wrappedEphemeral: context.prepared!.wrappedEphemeral,
        showPushNotification: true,
      }),
    ),
    rememberCodeRef: assign(({ event }) => {
      assertEvent(event, 'server.codeAccepted');
      return { pairCodeRef: event.ref };
    }),
    emitPairCode: emit(
      ({ context }): MdSessionEmitted => ({
        type: 'pairCode',
        code: formatPairCode(context.prepared?.code ?? ''),
        expiresInMs: timer(context.timing.pairCodeValid),
      }),
    ),
    emitRejected: emit(({ event }): MdSessionEmitted => {
      assertEvent(event, 'server.codeRejected');
      return codeFailed(rejectionReason(event.status), { status: event.status });
    }),
    /** §7.6: 429 may carry `backoff` (seconds); without it the machine's own pairCodeRateBackoff. */
    setCodeBackoff: assign(({ context, event }) => {
      assertEvent(event, 'server.codeRejected');
      const seconds = event.backoff;
      const ms =
        typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
          ? seconds * 1000
          : context.timing.pairCodeRateBackoff;
      return { codeBackoff: timer(ms) };
    }),
    countHello: assign(({ context }) => ({ primaryHellos: context.primaryHellos + 1 })),
    /** §7.5: the new adv secret replaces the old one (a QR drawn with the old one can no longer pair). */
    adoptAdvSecret: assign(({ context }, params: { finished: FinishedPairCode }) => ({
      credentials: { ...context.credentials, advSecret: params.finished.advSecret },
      finishSent: true,
    })),
    sendCompanionFinish: sendTo(
      'socket',
      ({ context }, params: { finished: FinishedPairCode }): MdSocketCommand => ({
        type: 'send.companionFinish',
        phone: context.phone!,
        ref: params.finished.ref,
        wrappedKeyBundle: params.finished.wrappedKeyBundle,
        identityPublic: params.finished.identityPublic,
      }),
    ),
    /** The QR region redraws its code from the new adv secret (§7.7). */
    announceAdvSecret: raise({ type: 'md.advSecretChanged' }),
    emitWrongCode: emit(
      ({ context }): MdSessionEmitted => ({
        type: 'pairCode.wrongCode',
        attemptsLeft: Math.max(0, context.limits.maxPrimaryHellos - context.primaryHellos),
      }),
    ),
    clearFinish: assign({ finishSent: false }),
  },
  guards: {
    validPhone: ({ context, event }) => {
      assertEvent(event, 'user.requestPairingCode');
      return checkPhone(event.phone, context.limits).ok;
    },
    phoneRequested: ({ context }) => context.requestedPhone !== null,
    rejectedWith: ({ event }, params: { status: number }) => {
      assertEvent(event, 'server.codeRejected');
      return event.status === params.status;
    },
    /** §7.4: a primary_hello for this code (its ref), while hellos are left. */
    helloForThisCode: ({ context, event }) => {
      assertEvent(event, 'server.primaryHello');
      return event.ref === context.pairCodeRef && context.primaryHellos < context.limits.maxPrimaryHellos;
    },
    hellosLeft: ({ context }) => context.primaryHellos < context.limits.maxPrimaryHellos,
  },
  delays: {
    pairCodePrepareTimeout: ({ context }) => timer(context.timing.pairCodePrepareTimeout),
    companionHelloTimeout: ({ context }) => timer(context.timing.companionHelloTimeout),
    pairCodeValid: ({ context }) => timer(context.timing.pairCodeValid),
    pairCodeFinishTimeout: ({ context }) => timer(context.timing.pairCodeFinishTimeout),
    pairSuccessAfterHello: ({ context }) => timer(context.timing.pairSuccessAfterHello),
    codeBackoff: ({ context }) => timer(context.codeBackoff),
  },
});

/** Ends the pending request with a typed reason: back to idle. */
function codeEnds(reason: MdPairCodeFailure, alive = false) {
  const failed = { type: 'emitCodeFailed', params: { reason } } as const;
  return {
    target: '#mdSession.online.pairing.code.idle',
    actions: alive ? (['markAlive', failed] as const) : ([failed] as const),
  } as const;
}

export const codeRegion = codeSetup.createStateConfig({
  description: 'Pairing with a code the user types on the phone (docs/protocol-md.md §7).',
  initial: 'idle',
  states: {
    idle: {
      description: 'No code asked for (or the last one ended); the QR region may be running.',
      entry: 'clearFinish',
      always: { guard: 'phoneRequested', target: 'pending', actions: 'takeRequestedPhone' },
      on: {
        'user.requestPairingCode': [
          { guard: 'validPhone', target: 'pending', actions: 'takePhone' },
          { actions: 'emitInvalidPhone' },
        ],
      },
    },
    backoff: {
      description:
        'companion_hello was answered 429 (docs/protocol-md.md §7.6): no new code until the backoff passes.',
      entry: 'clearFinish',
      after: { codeBackoff: 'idle' },
      on: { 'user.requestPairingCode': { actions: 'emitRateLimited' } },
    },
    pending: {
      description: 'One code request outstanding: the socket stays even when the QR refs run out.',
      entry: 'startRequest',
      exit: 'endRequest',
      initial: 'preparing',
      on: {
        // One code at a time (docs/protocol-md.md §7.7): a new request cancels this one.
        'user.requestPairingCode': [
          { guard: 'validPhone', target: 'pending', reenter: true, actions: ['emitCancelled', 'takePhone'] },
          { actions: 'emitInvalidPhone' },
        ],
      },
      states: {
        preparing: {
          description: 'A fresh pairing ephemeral wrapped with a new code (PBKDF2 off the event loop, §7.2).',
          invoke: {
            id: 'preparePairCode',
            src: 'preparePairCode',
            input: ({ context }) => ({ phone: context.phone! }),
            onDone: {
              target: 'awaitingAnswer',
              actions: [
                { type: 'rememberPrepared', params: ({ event }) => ({ prepared: event.output }) },
                'sendCompanionHello',
              ],
            },
            onError: codeEnds('prepareFailed'),
          },
          after: { pairCodePrepareTimeout: codeEnds('prepareFailed') },
        },
        awaitingAnswer: {
          description: 'companion_hello sent; the code is shown only once the server accepts it (§7.3).',
          after: { companionHelloTimeout: codeEnds('noAnswer') },
          on: {
            'server.codeAccepted': { target: 'live', actions: ['markAlive', 'rememberCodeRef'] },
            'server.codeRejected': [
              {
                guard: { type: 'rejectedWith', params: { status: 429 } },
                target: '#mdSession.online.pairing.code.backoff',
                actions: ['markAlive', 'setCodeBackoff', 'emitRateLimited'],
              },
              { target: '#mdSession.online.pairing.code.idle', actions: ['markAlive', 'emitRejected'] },
            ],
          },
        },
        live: {
          description: 'The code is up for 180 s (docs/protocol-md.md §7.4); the phone types it.',
          tags: ['needsCode'],
          entry: 'emitPairCode',
          after: { pairCodeValid: codeEnds('expired') },
          initial: 'waitingForPhone',
          states: {
            waitingForPhone: {
              on: {
                // Taken here, the notification is acked here: `online`'s ack is not asked (md-setup.ts).
                'server.primaryHello': {
                  guard: 'helloForThisCode',
                  target: 'finishing',
                  actions: ['markAlive', 'ackNotification', 'countHello'],
                },
              },
            },
            finishing: {
              description:
                "The primary's ephemeral unwrapped, the key bundle made, the adv secret derived (§7.5).",
              invoke: {
                id: 'finishPairCode',
                src: 'finishPairCode',
                input: ({ context, event }) => {
                  assertEvent(event, 'server.primaryHello');
                  return { hello: event, prepared: context.prepared!, credentials: context.credentials };
                },
                onDone: {
                  target: 'awaitingPairSuccess',
                  actions: [
                    { type: 'adoptAdvSecret', params: ({ event }) => ({ finished: event.output }) },
                    { type: 'sendCompanionFinish', params: ({ event }) => ({ finished: event.output }) },
                    'announceAdvSecret',
                  ],
                },
                onError: codeEnds('finishFailed'),
              },
              after: { pairCodeFinishTimeout: codeEnds('finishFailed') },
            },
            awaitingPairSuccess: {
              description: 'companion_finish sent: pair-success within 60 s (docs/protocol-md.md §7.5).',
              after: { pairSuccessAfterHello: codeEnds('noPairSuccess') },
              on: {
                // A wrong code: the phone could not open the bundle (§7.5). Another try while hellos are left.
                'server.finishRejected': [
                  {
                    guard: 'hellosLeft',
                    target: 'waitingForPhone',
                    actions: ['markAlive', 'clearFinish', 'emitWrongCode'],
                  },
                  codeEnds('tooManyAttempts', true),
                ],
              },
            },
          },
        },
      },
    },
  },
});
