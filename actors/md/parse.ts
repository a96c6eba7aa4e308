// What the server sends, classified (docs/protocol-md.md §6-§14): each node becomes one typed stanza, or a
// StanzaError with a code. Pure: which request an answer belongs to comes from the caller (the socket's
// ledger of IQ ids). Messages come out as envelopes still encrypted; decryption is the store's (md-store).
import { isCodecError, md } from '../../codec/index.ts';
import type { MdServerEvent } from '../../machines/index.ts';

/** The IQs the companion sends whose answers mean something to the machine. */
export type IqKind =
  | 'companionHello'
  | 'companionFinish'
  | 'preKeyCount'
  | 'preKeyUpload'
  | 'passiveActive'
  | 'ping'
  | 'logout'
  /** props, blocklist, privacy (§9): an error answer is only logged, as deployed companions do. */
  | 'info'
  | 'other';

export type StanzaErrorCode = 'STANZA_MALFORMED' | 'STANZA_UNEXPECTED';

export class StanzaError extends Error {
  override readonly name = 'StanzaError';
  constructor(
    readonly code: StanzaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One `<enc>` of a message (§12.2). */
export interface MessageEnc {
  type: 'pkmsg' | 'msg' | 'skmsg';
  body: Uint8Array;
}

/** A `<message>` as it came, to be decrypted (§12.2). */
export interface MessageEnvelope {
  id: string;
  from: string;
  participant?: string;
  t: number;
  /** `text`, `media`, `protocol`… (the ack's `type`). */
  type: string;
  category?: string;
  encs: MessageEnc[];
}

export type ParsedStanza =
  /** The machine's own server events (machines/md/md-types.ts), each made from one stanza. */
  | Exclude<MdServerEvent, { type: 'server.message' | 'server.frameDropped' }>
  | { type: 'server.iqResult'; iqId: string; kind: IqKind }
  /** A server IQ (ping) that wants an empty result. */
  | { type: 'server.iqRequest'; iqId: string; xmlns: string }
  | { type: 'message'; envelope: MessageEnvelope }
  /** Stanzas a companion may ignore (presence, call, ib without offline…). */
  | { type: 'ignored'; tag: string };

const text = (node: md.MdNode) => md.contentText(node);

function childText(parent: md.MdNode, tag: string): string {
  return text(md.requireChild(parent, tag));
}

function attr(node: md.MdNode, name: string): string | null {
  return md.getAttr(node, name) ?? null;
}

function pairDevice(node: md.MdNode): ParsedStanza {
  const refs = md.findChildren(md.requireChild(node, 'pair-device'), 'ref').map(text);
  if (refs.length === 0) throw new StanzaError('STANZA_MALFORMED', 'pair-device carries no ref');
  return { type: 'server.pairDevice', iqId: md.requireAttr(node, 'id'), refs };
}

function pairSuccess(node: md.MdNode): ParsedStanza {
  const success = md.requireChild(node, 'pair-success');
  const device = md.requireChild(success, 'device');
  const jid = md.requireAttr(device, 'jid');
  md.parseMdJid(jid);
  const lid = attr(device, 'lid');
  if (lid !== null) md.parseMdJid(lid);
  const platform = md.findChild(success, 'platform');
  const biz = md.findChild(success, 'biz');
  return {
    type: 'server.pairSuccess',
    iqId: md.requireAttr(node, 'id'),
    deviceIdentity: md.contentBytes(md.requireChild(success, 'device-identity')),
    platform: platform ? attr(platform, 'name') : null,
    jid,
    lid,
    businessName: biz ? attr(biz, 'name') : null,
  };
}

function iqError(node: md.MdNode): { code: number; text: string; backoff: number | null } {
  const error = md.findChild(node, 'error');
  if (!error) return { code: 0, text: 'error', backoff: null };
  return {
    code: md.getIntAttr(error, 'code') ?? 0,
    text: attr(error, 'text') ?? '',
    backoff: md.getIntAttr(error, 'backoff') ?? null,
  };
}

/** An answer (result or error) to one of our IQs. */
function answer(node: md.MdNode, kind: IqKind): ParsedStanza {
  const iqId = md.requireAttr(node, 'id');
  const type = md.requireAttr(node, 'type');
  if (type === 'error') {
    const error = iqError(node);
    if (kind === 'companionHello') {
      return {
        type: 'server.codeRejected',
        status: error.code,
        text: error.text,
        ...(error.backoff !== null ? { backoff: error.backoff } : {}),
      };
    }
    if (kind === 'companionFinish')
      return { type: 'server.finishRejected', status: error.code, text: error.text };
    if (kind === 'info') return { type: 'server.iqResult', iqId, kind };
    return { type: 'server.iqError', iqId, code: error.code, text: error.text };
  }
  if (type !== 'result') throw new StanzaError('STANZA_MALFORMED', `an answer of type ${type}`);
  switch (kind) {
    case 'companionHello': {
      const reg = md.requireChild(node, 'link_code_companion_reg');
      return { type: 'server.codeAccepted', ref: childText(reg, 'link_code_pairing_ref') };
    }
    case 'preKeyCount': {
      const count = md.requireIntAttr(md.requireChild(node, 'count'), 'value');
      if (count < 0) throw new StanzaError('STANZA_MALFORMED', 'a negative pre-key count');
      return { type: 'server.preKeyCount', count };
    }
    case 'preKeyUpload':
      return { type: 'server.preKeysUploaded' };
    case 'passiveActive':
      return { type: 'server.passiveActive' };
    case 'ping':
      return { type: 'server.pong' };
    case 'logout':
      return { type: 'server.logoutAccepted' };
    default:
      return { type: 'server.iqResult', iqId, kind };
  }
}

function iq(node: md.MdNode, kindOf: (id: string) => IqKind | undefined): ParsedStanza {
  const type = md.requireAttr(node, 'type');
  const id = md.requireAttr(node, 'id');
  if (type === 'result' || type === 'error') {
    const kind = kindOf(id);
    if (kind) return answer(node, kind);
    if (md.findChild(node, 'pair-success')) return pairSuccess(node);
    throw new StanzaError('STANZA_UNEXPECTED', `an answer to no request of ours (${type})`);
  }
  if (md.findChild(node, 'pair-device')) return pairDevice(node);
  if (md.findChild(node, 'pair-success')) return pairSuccess(node);
  return { type: 'server.iqRequest', iqId: id, xmlns: attr(node, 'xmlns') ?? '' };
}

function notification(node: md.MdNode): ParsedStanza {
  const id = md.requireAttr(node, 'id');
  const from = md.requireAttr(node, 'from');
  const notificationType = md.requireAttr(node, 'type');
  if (notificationType === 'link_code_companion_reg') {
    const reg = md.requireChild(node, 'link_code_companion_reg');
    const stage = attr(reg, 'stage');
    // §7.4: whatsmeow and Baileys read every such notification as primary_hello; only refresh_code differs.
    if (stage === null || stage === 'primary_hello') {
      return {
        type: 'server.primaryHello',
        id,
        from,
        ref: childText(reg, 'link_code_pairing_ref'),
        wrappedPrimaryEphemeral: md.contentBytes(
          md.requireChild(reg, 'link_code_pairing_wrapped_primary_ephemeral_pub'),
        ),
        primaryIdentityPublic: md.contentBytes(md.requireChild(reg, 'primary_identity_pub')),
      };
    }
  }
  return { type: 'server.notification', id, from, notificationType };
}

function message(node: md.MdNode): ParsedStanza {
  const encs: MessageEnc[] = md.findChildren(node, 'enc').map((enc) => {
    const type = md.requireAttr(enc, 'type');
    if (type !== 'pkmsg' && type !== 'msg' && type !== 'skmsg') {
      throw new StanzaError('STANZA_MALFORMED', `an <enc> of type ${type.slice(0, 20)}`);
    }
    return { type, body: md.contentBytes(enc) };
  });
  const participant = attr(node, 'participant');
  const category = attr(node, 'category');
  const from = md.requireAttr(node, 'from');
  md.parseMdJid(from);
  return {
    type: 'message',
    envelope: {
      id: md.requireAttr(node, 'id'),
      from,
      ...(participant ? { participant } : {}),
      t: md.getIntAttr(node, 't') ?? 0,
      type: attr(node, 'type') ?? 'text',
      ...(category ? { category } : {}),
      encs,
    },
  };
}

function streamError(node: md.MdNode): ParsedStanza {
  const conflict = md.findChild(node, 'conflict');
  const conflictType = conflict ? (attr(conflict, 'type') ?? 'conflict') : null;
  return {
    type: 'server.streamError',
    code: md.getIntAttr(node, 'code') ?? null,
    conflict: conflictType,
    deviceRemoved: conflictType === 'device_removed',
  };
}

function classify(node: md.MdNode, kindOf: (id: string) => IqKind | undefined): ParsedStanza {
  switch (node.tag) {
    case 'iq':
      return iq(node, kindOf);
    case 'success':
      return { type: 'server.success', lid: attr(node, 'lid'), t: md.getIntAttr(node, 't') ?? 0 };
    case 'failure': {
      const location = attr(node, 'location');
      return {
        type: 'server.failure',
        reason: md.requireIntAttr(node, 'reason'),
        ...(location ? { location } : {}),
      };
    }
    case 'stream:error':
      return streamError(node);
    case 'notification':
      return notification(node);
    case 'receipt': {
      const participant = attr(node, 'participant');
      return {
        type: 'server.receipt',
        id: md.requireAttr(node, 'id'),
        from: md.requireAttr(node, 'from'),
        receiptType: attr(node, 'type'),
        ...(participant ? { participant } : {}),
      };
    }
    case 'message':
      return message(node);
    case 'ack': {
      // §12.7: the server took a message we sent; other acks (of our receipts) mean nothing more.
      if (attr(node, 'class') !== 'message') return { type: 'ignored', tag: 'ack' };
      const error = md.getIntAttr(node, 'error');
      return {
        type: 'server.messageAck',
        id: md.requireAttr(node, 'id'),
        from: attr(node, 'from') ?? '',
        ...(error !== undefined ? { error } : {}),
      };
    }
    case 'ib': {
      const offline = md.findChild(node, 'offline');
      if (offline) return { type: 'server.offline', count: md.getIntAttr(offline, 'count') ?? 0 };
      return { type: 'ignored', tag: 'ib' };
    }
    default:
      return { type: 'ignored', tag: node.tag };
  }
}

/** StanzaError STANZA_MALFORMED for a node missing what its kind needs. */
export function parseStanza(node: md.MdNode, kindOf: (id: string) => IqKind | undefined): ParsedStanza {
  try {
    return classify(node, kindOf);
  } catch (error) {
    if (isCodecError(error)) throw new StanzaError('STANZA_MALFORMED', `<${node.tag}>: ${error.message}`);
    throw error;
  }
}

export function isStanzaError(value: unknown): value is StanzaError {
  return value instanceof StanzaError;
}
