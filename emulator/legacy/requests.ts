// docs/protocol.md §3: the answers to an authenticated browser's binary requests. Contact and chat queries
// are answered from the phone, a media query re-uploads the media, and a relay records what the browser
// sends through the phone: acked `<id>,` then `<id>,{"status":200,"t":…}`.
import {
  type BinaryNode,
  decodeWebMessageInfo,
  fromProtoJid,
  type WebMessageInfo,
} from '../../codec/index.ts';
import { chatResponse, contactsResponse } from './payloads.ts';
import type { Phone, SentMessage } from './world.ts';

/** One frame of an answer, all sent with the request's tag. */
export type Reply = { kind: 'node'; node: BinaryNode } | { kind: 'json'; body: unknown } | { kind: 'ack' };

export interface RequestScope {
  phone: Readonly<Phone>;
  clientId: string;
  nowMs: number;
  /** Fresh media attributes for the message `index`, or undefined when it has no media. */
  reuploadMedia(index: string): Record<string, string> | undefined;
  recordSent(message: SentMessage): void;
}

export function answerBinaryRequest(tag: string, node: BinaryNode, scope: RequestScope): Reply[] {
  const [kind, attrs, content] = node;
  if (kind === 'query') {
    switch (attrs?.type) {
      case 'contacts':
        return [{ kind: 'node', node: contactsResponse(scope.phone) }];
      case 'chat':
        return [{ kind: 'node', node: chatResponse(scope.phone, scope.nowMs) }];
      case 'media': {
        const fresh = attrs.index ? scope.reuploadMedia(attrs.index) : undefined;
        return [
          {
            kind: 'node',
            node: ['response', { type: 'media', code: fresh ? '200' : '404', ...(fresh ?? {}) }, null],
          },
        ];
      }
      default:
        return [{ kind: 'json', body: { status: 404 } }];
    }
  }
  if (kind === 'action' && attrs?.type === 'relay' && Array.isArray(content))
    return relay(tag, content, scope);
  return [{ kind: 'json', body: { status: 200 } }];
}

function relay(tag: string, children: BinaryNode[], scope: RequestScope): Reply[] {
  const t = Math.floor(scope.nowMs / 1000);
  for (const [childTag, , childContent] of children) {
    if (childTag !== 'message' || !(childContent instanceof Uint8Array)) continue;
    let info: WebMessageInfo;
    try {
      info = decodeWebMessageInfo(childContent);
    } catch {
      return [{ kind: 'json', body: { status: 400 } }];
    }
    const message = info.message ?? {};
    scope.recordSent({
      id: info.key.id ?? tag,
      to: fromProtoJid(info.key.remoteJid ?? ''),
      text: message.conversation ?? message.extendedTextMessage?.text ?? null,
      type: Object.keys(message)[0] ?? 'unknown',
      t,
      clientId: scope.clientId,
    });
  }
  return [{ kind: 'ack' }, { kind: 'json', body: { status: 200, t } }];
}
