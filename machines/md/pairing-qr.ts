// The QR region of pairing (docs/protocol-md.md §6.1-6.3): pair-device's refs shown one at a time, the
// first for 60 s and each later one for 20 s. When they run out the region ends; the session rests in
// refsExhausted unless a pair code is pending, which keeps the socket (§6.3, §7.7). A QR is redrawn when
// a pair code's stage 3 replaced the adv secret (§7.7).
import { assertEvent, assign, emit } from 'xstate';
import { md } from '../../codec/index.ts';
import { fail, mdSetup, timer } from './md-setup.ts';
import type { MdSessionContext, MdSessionEmitted } from './md-types.ts';

/** The longest ref taken from pair-device (real ones are ~60 characters, `2@…`). */
const MAX_REF_LENGTH = 512;

/** The refs a QR can carry: non-empty strings without a comma (the QR's field separator, §6.2). */
export function usableRefs(refs: readonly unknown[], max: number): string[] {
  return refs
    .filter(
      (ref): ref is string =>
        typeof ref === 'string' && ref.length > 0 && ref.length <= MAX_REF_LENGTH && !ref.includes(','),
    )
    .slice(0, Math.max(0, max));
}

/** How long the ref on screen lives: 60 s for the first, 20 s for each later one (§6.3). */
export function refLifetime(context: Pick<MdSessionContext, 'refIndex' | 'timing'>): number {
  return timer(context.refIndex === 0 ? context.timing.qrFirstRef : context.timing.qrNextRef);
}

/** The QR text of the ref on screen, from the current keys and adv secret (§6.2), or null if unbuildable. */
function qrText(context: MdSessionContext): string | null {
  const ref = context.refs[context.refIndex];
  if (ref === undefined) return null;
  try {
    return md.buildMdQr({
      ref,
      noisePublicKey: context.credentials.noiseKey.publicKey,
      identityPublicKey: context.credentials.identityKey.publicKey,
      advSecret: context.credentials.advSecret,
    });
  } catch {
    return null;
  }
}

export const qrSetup = mdSetup.extend({
  actions: {
    /** docs/protocol-md.md §6.1: pair-device is acked at once; its refs are kept for the QR region. */
    rememberRefs: mdSetup.enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.pairDevice');
      enqueue.sendTo('socket', { type: 'send.iqResult', iqId: event.iqId });
      enqueue.assign({
        refs: usableRefs(event.refs, context.limits.maxRefs),
        refIndex: 0,
        pairDeviceIqId: event.iqId,
      });
    }),
    nextRef: assign(({ context }) => ({ refIndex: context.refIndex + 1 })),
    emitQr: mdSetup.enqueueActions(({ context, enqueue }) => {
      const text = qrText(context);
      if (text === null) return;
      const qr: MdSessionEmitted = {
        type: 'qr',
        text,
        expiresInMs: refLifetime(context),
        index: context.refIndex,
      };
      enqueue.emit(qr);
    }),
    emitQrExhausted: emit({ type: 'qr.exhausted' } satisfies MdSessionEmitted),
  },
  guards: {
    hasRefs: ({ context, event }) => {
      assertEvent(event, 'server.pairDevice');
      return usableRefs(event.refs, context.limits.maxRefs).length > 0;
    },
    moreRefs: ({ context }) => context.refIndex + 1 < context.refs.length,
    noCodePending: ({ context }) => !context.codePending,
  },
  delays: {
    qrRef: ({ context }) => refLifetime(context),
  },
});

export const qrRegion = qrSetup.createStateConfig({
  description: 'The refs of pair-device as QR codes, one at a time (docs/protocol-md.md §6.3).',
  initial: 'showing',
  states: {
    showing: {
      description: 'A QR code is up: 60 s for the first ref, 20 s for each later one.',
      tags: ['needsScan'],
      entry: 'emitQr',
      after: {
        qrRef: [
          { guard: 'moreRefs', target: 'showing', reenter: true, actions: 'nextRef' },
          { target: 'exhausted' },
        ],
      },
      // §7.7: stage 3 replaced the adv secret, so the code on screen could no longer pair: redraw it.
      on: { 'md.advSecretChanged': { actions: 'emitQr' } },
    },
    exhausted: {
      description:
        'The refs ran out (docs/protocol-md.md §6.3): the socket stays only while a pair code is pending.',
      entry: 'emitQrExhausted',
      always: {
        guard: 'noCodePending',
        target: '#mdSession.refsExhausted',
        actions: fail('refsExhausted'),
      },
    },
  },
});
