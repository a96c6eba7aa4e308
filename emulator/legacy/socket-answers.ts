// The answers to a socket's requests, sent with the request's tag: init's ref (docs/protocol.md §2.1), a
// reref's (§2.2), and an authenticated browser's binary requests (§3, built by requests.ts), which go out
// after the server's time for their kind while a relay's ack goes at once. Which answer a request gets is
// the connection machine's decision; the faults that bend an answer (`answer`, `initLate`) are applied
// here. A binary frame that does not open under the browser's keys is dropped, counted, and closes the
// socket (§1: the HMAC is checked on every frame).
import { type BinaryNode, decodeNode } from '../../codec/index.ts';
import { openFrame } from '../../crypto/index.ts';
import type { ConnectionContext, HeldSession } from './connection-types.ts';
import type { LatencyKind } from './options.ts';
import { SERVER_VERSION } from './payloads.ts';
import { answerBinaryRequest } from './requests.ts';
import type { SocketParts } from './socket-parts.ts';

type Parts = SocketParts<unknown>;

/** The init answer: status 200, the ref and its ttl. */
export function answerInit(parts: Parts, tag: string, context: ConnectionContext): void {
  const answer = {
    status: 200,
    ref: context.ref?.value,
    ttl: parts.host.refTtlMs,
    update: false,
    curr: SERVER_VERSION,
    time: parts.host.now(),
  };
  const body = faultyAnswer(parts, 'init') ?? answer;
  // Fault: the answer comes late, after the frames that follow init (a login) were answered.
  const late = parts.faults.take('initLate');
  if (late) setTimeout(() => parts.outbox.json(tag, body), late.ms);
  else parts.outbox.json(tag, body);
}

/** A reref's answer: status 200 with the new ref. */
export function answerRef(parts: Parts, tag: string, context: ConnectionContext): void {
  const answer = { status: 200, ref: context.ref?.value, ttl: parts.host.refTtlMs };
  parts.outbox.json(tag, faultyAnswer(parts, 'reref') ?? answer);
}

/** Fault (a hostile or odd server, for client tests): the next init or reref answer is this body. */
function faultyAnswer(parts: Parts, at: 'init' | 'reref'): Record<string, unknown> | undefined {
  return parts.faults.take('answer', (r) => r.at === at)?.body;
}

export function answerBinary(parts: Parts, tag: string, payload: Uint8Array, session: HeldSession): void {
  let node: BinaryNode;
  try {
    node = decodeNode(openFrame(session.keys, payload));
  } catch (error) {
    parts.host.frameDropped();
    parts.close(`dropped a binary frame: ${(error as Error).message}`, 1008);
    return;
  }
  const replies = answerBinaryRequest(tag, node, {
    phone: parts.host.phone(session.phoneNumber),
    clientId: session.clientId,
    nowMs: parts.host.now(),
    reuploadMedia: (index) => parts.host.reuploadMedia(index),
    recordSent: (message) => parts.host.recordSent(session.phoneNumber, message),
  });
  // The ack of a relay goes out at once; the answers after the server's time for the request's kind.
  const kind: LatencyKind = node[0] === 'query' ? 'query' : 'relay';
  const answers = replies.filter((reply) => reply.kind !== 'ack');
  if (answers.length < replies.length) parts.outbox.write(`${tag},`);
  parts.outbox.later(kind, () => {
    for (const reply of answers) {
      if (reply.kind === 'node') parts.outbox.binary(tag, session.keys, reply.node);
      else if (reply.kind === 'json') parts.outbox.json(tag, reply.body);
    }
  });
}
