// The server's steps (faults.ts, STEPS): at each the server takes its time for the request's kind
// (options.ts, latency), then a `delay` fault may hold it and a `closeSocket` fault end the socket; a step
// that passed reports what the server found, the facts the connection machine's guards decide on: faults
// forcing an answer, a fresh ref, the browser a login names and who holds it.
import { randomBytes } from '../../crypto/index.ts';
import type { ChallengeAnswerRequest, LoginRequest, StepEvent } from './connection-types.ts';
import type { Step } from './faults.ts';
import type { LatencyKind } from './options.ts';
import type { SocketParts } from './socket-parts.ts';

type Parts = SocketParts<unknown>;

/** The latency (options.ts) a step stands for; the others are the server's own pauses. */
const STEP_LATENCY: Partial<Record<Step, LatencyKind>> = {
  init: 'init',
  reref: 'reref',
  login: 'login',
  challenge: 'challenge',
  logout: 'logout',
};

/** The event a step's pause reports when it passed. */
const PAUSE_DONE: Partial<Record<Step, StepEvent['type']>> = {
  scan: 'SCAN_DONE',
  conn: 'CONN_DONE',
  ready: 'READY_DONE',
  logout: 'LOGOUT_DONE',
};

/** Applies the latency, delay and close faults at a named step; false when the socket was closed. */
export async function pause(parts: Parts, step: Step): Promise<boolean> {
  const kind = STEP_LATENCY[step];
  const latency = kind ? parts.host.latency[kind] : 0;
  if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
  if (parts.isClosed()) return false;
  const delay = parts.faults.take('delay', (r) => r.at === step);
  if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
  if (parts.faults.take('closeSocket', (r) => 'at' in r && r.at === step)) {
    parts.close(`fault: closeSocket at ${step}`, 1001);
    return false;
  }
  return !parts.isClosed();
}

export function paused(step: Step): StepEvent {
  return { type: PAUSE_DONE[step]! } as StepEvent;
}

export function initChecked(parts: Parts): StepEvent {
  return {
    type: 'INIT_CHECKED',
    forced: parts.faults.take('initStatus')?.status ?? null,
    ref: parts.host.mintRef(),
  };
}

export function rerefChecked(parts: Parts): StepEvent {
  return {
    type: 'REREF_CHECKED',
    // An `answer` fault is a server that grants the reref whatever the ref's age: a forced 200.
    forced:
      parts.faults.take('rerefStatus')?.status ??
      (parts.faults.armed('answer', (r) => r.at === 'reref') ? 200 : null),
    ref: parts.host.mintRef(),
    now: parts.host.now(),
  };
}

export function loginChecked(parts: Parts, login: LoginRequest): StepEvent {
  return {
    type: 'LOGIN_CHECKED',
    forced: parts.faults.take('loginStatus')?.status ?? null,
    ...parts.host.loginFacts(parts.owner, login),
    challengeForced: parts.faults.armed('challenge'),
    challenge: randomBytes(32),
  };
}

export function challengeChecked(parts: Parts, answer: ChallengeAnswerRequest): StepEvent {
  return {
    type: 'CHALLENGE_CHECKED',
    forced: parts.faults.take('challengeStatus')?.status ?? null,
    ...parts.host.challengeFacts(parts.owner, answer.clientId),
  };
}
