// The connection machine with the effects and steps it names, supplied once for every socket: providing per
// socket rebuilt the machine's state nodes (about a millisecond each). A socket registers its parts under
// its machine's actor system (bindSocket), which is how each effect finds the socket it acts on.
import { assertEvent, fromCallback } from 'xstate';
import { connectionMachine } from './connection-machine.ts';
import type {
  ChallengeAnswerRequest,
  ConnectionContext,
  ConnectionEvent,
  HeldSession,
  LoginRequest,
  StepEvent,
  StepInput,
} from './connection-types.ts';
import { answerBinary, answerInit, answerRef } from './socket-answers.ts';
import type { SocketParts } from './socket-parts.ts';
import {
  deliverPending,
  pushChallenge,
  pushConn,
  pushDisconnect,
  pushPreempt,
  pushStreamAndProps,
  pushUpgrade,
} from './socket-pushes.ts';
import { challengeChecked, initChecked, loginChecked, pause, paused, rerefChecked } from './socket-steps.ts';

type Parts = SocketParts<unknown>;

const bySystem = new WeakMap<object, Parts>();

/** The socket whose machine runs in `system` is `parts`. */
export function bindSocket(system: object, parts: Parts): void {
  bySystem.set(system, parts);
}

/** The socket whose machine runs in `system`. */
function socketOf(system: unknown): Parts {
  const parts = bySystem.get(system as object);
  if (!parts) throw new Error('no connection owns this actor system');
  return parts;
}

/** The tag an answer goes to: the pending request's, or the frame's being handled. */
function tagOf(request: object | null): string {
  const tag = (request as { tag?: unknown } | null)?.tag;
  if (typeof tag !== 'string') throw new Error('no tagged request to answer');
  return tag;
}

/** The browser this socket holds, which the machine only asks about once it holds one. */
function held(context: ConnectionContext): HeldSession {
  if (!context.session) throw new Error('this socket holds no browser');
  return context.session;
}

/** A step actor: pauses at its step, then reports `report(…)` unless the machine left the state. */
function step<I extends StepInput>(report: (parts: Parts, input: I) => StepEvent) {
  return fromCallback<ConnectionEvent, I>(({ input, system, sendBack }) => {
    const parts = socketOf(system);
    let live = true;
    pause(parts, input.step)
      .then((passed) => {
        if (passed && live) sendBack(report(parts, input));
      })
      .catch((error: unknown) => parts.close(`internal error: ${(error as Error).message}`, 1011));
    return () => {
      live = false;
    };
  });
}

export const providedConnectionMachine = connectionMachine.provide({
  actors: {
    checkInit: step((s) => initChecked(s)),
    checkReref: step((s) => rerefChecked(s)),
    checkLogin: step<StepInput & { login: LoginRequest }>((s, { login }) => loginChecked(s, login)),
    checkChallenge: step<StepInput & { answer: ChallengeAnswerRequest }>((s, { answer }) =>
      challengeChecked(s, answer),
    ),
    pause: step((_, { step }) => paused(step)),
  },
  actions: {
    answerRequest: ({ system, context }, { body }) =>
      socketOf(system).outbox.json(tagOf(context.request), body),
    noteLoginAnswered: ({ system, context }) => {
      if (context.request?.type !== 'LOGIN') throw new Error('no pending login to note');
      socketOf(system).resends.loginAnswered(context.request.tag);
    },
    answerFrame: ({ system, event }, { body }) => socketOf(system).outbox.json(tagOf(event), body),
    answerChallengedLogin: ({ system, context }, { body }) => {
      const parts = socketOf(system);
      const tag = context.challengedLoginTag;
      if (!tag) return;
      parts.resends.loginAnswered(tag);
      parts.outbox.json(tag, body);
    },
    answerInit: ({ system, context }) => answerInit(socketOf(system), tagOf(context.request), context),
    answerRef: ({ system, context }) => answerRef(socketOf(system), tagOf(context.request), context),
    registerRef: ({ system, context }) => {
      const parts = socketOf(system);
      if (context.ref) parts.host.registerRef(parts.owner, context.ref);
    },
    retireRef: ({ system, context }) => {
      if (context.ref) socketOf(system).host.retireRef(context.ref.value);
    },
    pushUpgrade: ({ system }) => pushUpgrade(socketOf(system)),
    linkBrowser: ({ system, context }) => {
      const parts = socketOf(system);
      const { clientId, phoneNumber, keys } = held(context);
      parts.host.linkBrowser(parts.owner, { clientId, phoneNumber, description: context.description, keys });
    },
    resumeSession: ({ system, context }) => {
      const parts = socketOf(system);
      parts.host.resumeSession(parts.owner, held(context).clientId, context.loginTokens);
    },
    pushConn: ({ system, context }, { pairing }) =>
      pushConn(socketOf(system), context, held(context), pairing),
    pushStreamAndProps: ({ system }) => pushStreamAndProps(socketOf(system)),
    pushPreempt: ({ system, context }) => pushPreempt(socketOf(system), held(context)),
    pushChallenge: ({ system, context }) => {
      if (!context.challenge) throw new Error('no challenge to send');
      pushChallenge(socketOf(system), context.challenge.bytes);
    },
    consumeChallengeFault: ({ system }) => {
      socketOf(system).faults.take('challenge');
    },
    deliverPending: ({ system, context }) => deliverPending(socketOf(system), held(context)),
    forgetBrowser: ({ system, context }) => socketOf(system).host.forgetBrowser(held(context).clientId),
    answerBinary: ({ system, context, event }) => {
      assertEvent(event, 'BINARY');
      answerBinary(socketOf(system), event.tag, event.payload, held(context));
    },
    pushDisconnect: ({ system }, { kind }) => pushDisconnect(socketOf(system), kind),
    closeSocket: ({ system }, { reason, code }) => socketOf(system).close(reason, code),
  },
});
