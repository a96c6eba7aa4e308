// Transitions of the MD companion machine that the emulator-driven model suite (md-session-emulator.test.ts)
// cannot make happen against the MD emulator, each with the reason. md-session-model.test.ts takes every
// one of them over the fakes of test/support/md-machine-fakes.ts. The coverage report lists them apart; the
// suite fails on any other transition it misses, and on a listed one that it did take (then this list is
// wrong).
export const MD_EMULATOR_UNREACHABLE: Record<string, string> = {
  'online server.notification#0':
    'the emulator sends no <notification> but primary_hello (link_code_companion_reg), which has its own event; history sync and app-state keys come as messages (docs/protocol-md.md §13)',
  'online.pairing.code.pending.preparing xstate.error.actor.preparePairCode#0':
    'preparePairCode (actors/md/pairing.ts) fails only on a phone number the machine has already refused',
  'online.pairing.code.pending.live.finishing xstate.error.actor.finishPairCode#0':
    "the emulator's primary_hello is always well formed (80 bytes, AES-CTR without a tag: a wrong code still unwraps to a key), so finishPairCode does not fail",
  'online.pairing.code.pending.live.awaitingPairSuccess server.finishRejected#1':
    'the emulator forgets a code after one wrong try (emulator/md/pairing.ts onCompanionFinish), so the phone never sends a second primary_hello for it and the attempts never run out',
  'online.pairing.liveness.watching after livenessTimeout#0':
    'with MODEL_TIMING no pairing socket stays silent for livenessTimeout: the refs run out first (8 s), a code lives 7 s from its acceptance (itself life), and the emulator answers every ping between two steps',
  'online.verifying xstate.error.actor.verifyPairSuccess#0':
    'verifyPairSuccess (actors/md/pairing.ts) answers every pair-success with a typed result; it throws only on its own bug',
};
