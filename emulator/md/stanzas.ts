// The nodes the MD server and phone send, one builder each, as docs/protocol-md.md shows them. Attribute
// values are strings; byte content stays bytes (refs, keys, ciphertexts).
import { md } from '../../codec/index.ts';
import { utf8 } from '../../crypto/index.ts';
import type { QueuedStanza } from './state.ts';

type MdNode = md.MdNode;
const { mdNode } = md;

/** How the server names itself in `from` (a client may write `@s.whatsapp.net`: the same, §5.3). */
export const SERVER_JID = 's.whatsapp.net';

export function isServerAddress(jid: string | undefined): boolean {
  return jid === undefined || jid === SERVER_JID || jid === '@s.whatsapp.net';
}

export function iqResult(id: string, content?: MdNode[]): MdNode {
  return mdNode('iq', { from: SERVER_JID, id, type: 'result' }, content);
}

export function iqError(id: string, code: number, text: string, attrs: Record<string, string> = {}): MdNode {
  return mdNode('iq', { from: SERVER_JID, id, type: 'error' }, [
    mdNode('error', { code: String(code), text, ...attrs }),
  ]);
}

/** §6.1: six refs after a registration handshake. */
export function pairDevice(id: string, refs: string[]): MdNode {
  return mdNode('iq', { from: SERVER_JID, type: 'set', id, xmlns: 'md' }, [
    mdNode(
      'pair-device',
      {},
      refs.map((ref) => mdNode('ref', {}, utf8(ref))),
    ),
  ]);
}

/** §6.4. */
export function pairSuccess(input: {
  id: string;
  t: number;
  container: Uint8Array;
  platform: string;
  deviceJid: string;
  lidJid: string;
}): MdNode {
  return mdNode('iq', { from: SERVER_JID, type: 'set', id: input.id, t: String(input.t) }, [
    mdNode('pair-success', {}, [
      mdNode('device-identity', {}, input.container),
      mdNode('platform', { name: input.platform }),
      mdNode('device', { jid: input.deviceJid, lid: input.lidJid }),
    ]),
  ]);
}

/** §8.2. */
export function success(input: { t: number; lidJid: string; creation: number }): MdNode {
  return mdNode('success', {
    t: String(input.t),
    props: '3',
    abprops: '1',
    location: 'emu',
    lid: input.lidJid,
    creation: String(input.creation),
  });
}

export function failure(reason: number): MdNode {
  return mdNode('failure', { reason: String(reason), location: 'emu' });
}

/** §10: 515 restart required, `conflict replaced`, 401 `device_removed`, or a bare code. */
export function streamError(kind: 515 | 401 | 500 | 503 | 'replaced' | 'device_removed'): MdNode {
  if (kind === 'replaced') return mdNode('stream:error', {}, [mdNode('conflict', { type: 'replaced' })]);
  if (kind === 'device_removed') {
    return mdNode('stream:error', { code: '401' }, [mdNode('conflict', { type: 'device_removed' })]);
  }
  return mdNode('stream:error', { code: String(kind) });
}

/** §12.5. */
export function offlineMarker(count: number): MdNode {
  return mdNode('ib', {}, [mdNode('offline', { count: String(count) })]);
}

/** §12.2 (and §13 for the phone's own protocol messages, category peer). */
export function messageStanza(queued: QueuedStanza, offline: boolean): MdNode {
  const attrs: Record<string, string> = {
    from: queued.from,
    id: queued.id,
    t: String(queued.t),
    type: queued.type,
  };
  if (queued.category) attrs.category = queued.category;
  if (queued.notify) attrs.notify = queued.notify;
  if (offline) attrs.offline = '1';
  const enc: Record<string, string> = { v: '2', type: queued.encType };
  if (queued.mediatype) enc.mediatype = queued.mediatype;
  return mdNode('message', attrs, [mdNode('enc', enc, queued.body)]);
}

/** §7.4: the phone typed the code. */
export function primaryHello(input: {
  id: string;
  t: number;
  ref: string;
  wrappedPrimaryEphemeral: Uint8Array;
  primaryIdentityPublicKey: Uint8Array;
}): MdNode {
  return mdNode(
    'notification',
    { from: SERVER_JID, type: 'link_code_companion_reg', id: input.id, t: String(input.t) },
    [
      mdNode('link_code_companion_reg', { stage: 'primary_hello' }, [
        mdNode('link_code_pairing_ref', {}, utf8(input.ref)),
        mdNode('link_code_pairing_wrapped_primary_ephemeral_pub', {}, input.wrappedPrimaryEphemeral),
        mdNode('primary_identity_pub', {}, input.primaryIdentityPublicKey),
      ]),
    ],
  );
}

/** §7.3: the answer to companion_hello. */
export function companionHelloResult(id: string, ref: string): MdNode {
  return iqResult(id, [
    mdNode('link_code_companion_reg', {}, [mdNode('link_code_pairing_ref', {}, utf8(ref))]),
  ]);
}

/** The server's ack of a message a companion sent. */
export function messageAck(id: string, to: string, t: number): MdNode {
  return mdNode('ack', { class: 'message', id, from: to, t: String(t) });
}
