// What the server sends a socket unasked (docs/protocol.md §2.3-2.6, §3): Conn, Stream and Props, the
// contact and chat lists after login, a challenge, disconnects, the upgrade to multi-device, and the
// messages the phone relays, each remembered in the push ledger until a ping acknowledges it. Which push
// goes out when is the connection machine's decision; the faults that bend a push (`connFields`,
// `badSecret`) are applied here.
import { encodeWebMessageInfo, type WebMessageInfo } from '../../codec/index.ts';
import { buildPairingSecret, toBase64 } from '../../crypto/index.ts';
import type { ConnectionContext, HeldSession } from './connection-types.ts';
import {
  chatResponse,
  connPayload,
  contactsResponse,
  MD_UPGRADE_VERSION,
  PROPS,
  STREAM_UPDATE,
} from './payloads.ts';
import type { SocketParts } from './socket-parts.ts';

type Parts = SocketParts<unknown>;

/** Server-initiated JSON: tagged s1, s2, … per connection. */
export function pushJson(parts: Parts, data: unknown): void {
  parts.outbox.serverJson(data);
}

/** A message from the phone; one that cannot go out stays the browser's (the hub queues it). */
export function pushMessage(parts: Parts, info: WebMessageInfo, keys = parts.heldSession()?.keys): void {
  if (!keys || !parts.isOpen()) {
    // Not sent: it stays the browser's (the hub queues it when no open socket holds the browser).
    const clientId = parts.heldSession()?.clientId;
    if (clientId) parts.host.requeue(clientId, [info], { pushToHolder: false });
    return;
  }
  parts.outbox.binary(parts.outbox.pushTag(), keys, [
    'action',
    { add: 'relay' },
    [['message', null, encodeWebMessageInfo(info)]],
  ]);
  parts.ledger.pushed(info);
}

/** The messages that waited for this browser, handed over once. */
export function deliverPending(parts: Parts, session: HeldSession): void {
  for (const info of parts.host.takePending(session.clientId)) pushMessage(parts, info, session.keys);
}

export function pushUpgrade(parts: Parts): void {
  pushJson(parts, ['Cmd', { type: 'upgrade_md_prod', version: MD_UPGRADE_VERSION }]);
  parts.scanOutcome = 'upgrade_md_prod';
}

/** Conn with the browser's tokens; after a scan, with the ref and the pairing secret (docs/protocol.md §2.4). */
export function pushConn(
  parts: Parts,
  context: ConnectionContext,
  session: HeldSession,
  pairing: boolean,
): void {
  const { phone, tokens } = parts.host.connView(session.clientId);
  if (!pairing || !context.scan) {
    pushConnPayload(parts, connPayload(phone, tokens, {}));
    return;
  }
  const secret = buildPairingSecret(context.scan.clientPublicKey, session.keys);
  if (parts.faults.take('badSecret')) secret[40]! ^= 0x01;
  pushConnPayload(parts, connPayload(phone, tokens, { ref: context.ref?.value, secret: toBase64(secret) }));
}

/** A Conn push, with the fields of a connFields fault over its own. */
function pushConnPayload(parts: Parts, [kind, body]: ReturnType<typeof connPayload>): void {
  const fields = parts.faults.take('connFields')?.fields;
  pushJson(parts, [kind, fields ? { ...body, ...fields } : body]);
}

export function pushStreamAndProps(parts: Parts): void {
  pushJson(parts, STREAM_UPDATE);
  pushJson(parts, PROPS);
  parts.scanOutcome = 'paired';
}

/** docs/protocol.md §3: after login the server pushes the contact and chat lists unasked. */
export function pushPreempt(parts: Parts, session: HeldSession): void {
  const phone = parts.host.phone(session.phoneNumber);
  parts.outbox.binary(parts.outbox.preemptTag(), session.keys, contactsResponse(phone));
  parts.outbox.binary(parts.outbox.preemptTag(), session.keys, chatResponse(phone, parts.host.now()));
}

export function pushChallenge(parts: Parts, challenge: Uint8Array): void {
  pushJson(parts, ['Cmd', { type: 'challenge', challenge: toBase64(challenge) }]);
}

export function pushDisconnect(parts: Parts, kind: 'replaced' | null): void {
  pushJson(parts, ['Cmd', kind ? { type: 'disconnect', kind } : { type: 'disconnect' }]);
}
