// The client's outgoing half of one socket (docs/protocol.md §1-2): SocketCommands become frames. JSON
// requests get long tags that the ledger remembers; binary requests are sealed with the session keys.
import {
  type BinaryNode,
  clientBinaryFrame,
  encodeNode,
  encodeWebMessageInfo,
  FLAG,
  jsonFrame,
  MESSAGE_STATUS,
  METRIC,
  PING_FRAME,
  TagGenerator,
  toProtoJid,
} from '../../codec/index.ts';
import { sealFrame, toBase64 } from '../../crypto/index.ts';
import type { SocketCommand } from '../../machines/legacy/index.ts';
import type { RequestKind, TagLedger } from './ledger.ts';

/** The client version walink announces in init (docs/protocol.md §2.1). */
export const CLIENT_VERSION = [2, 2142, 12] as const;

export class Sender {
  private readonly tags: TagGenerator;
  private login: { tag: string; frame: string } | null = null;
  private epoch = 1;

  constructor(
    private readonly ledger: TagLedger,
    private readonly now: () => number = Date.now,
  ) {
    this.tags = new TagGenerator(now);
  }

  /** The frames that carry out `command`, in order (none for `use.keys`). Throws when one cannot be built. */
  frames(command: SocketCommand): (string | Uint8Array)[] {
    switch (command.type) {
      case 'send.init':
        return [
          this.request('init', [
            'admin',
            'init',
            CLIENT_VERSION,
            command.description,
            command.clientId,
            true,
          ]),
        ];
      case 'send.login': {
        const { clientToken, serverToken, clientId, wid } = command.credentials;
        const mode = command.mode === 'reconnect' ? ['reconnect', wid] : ['takeover'];
        const tag = this.tags.long();
        this.ledger.asked(tag, 'login');
        this.login = {
          tag,
          frame: jsonFrame(tag, ['admin', 'login', clientToken, serverToken, clientId, ...mode]),
        };
        return [this.login.frame];
      }
      case 'send.loginAgain':
        // docs/protocol.md §2.5: the same frame, same tag, so the server can tell a re-send from a new
        // login; only while it is unanswered.
        return this.login && this.ledger.isPending(this.login.tag) ? [this.login.frame] : [];
      case 'send.reref':
        return [this.request('reref', ['admin', 'Conn', 'reref'])];
      case 'send.challenge':
        return [
          this.request('challenge', [
            'admin',
            'challenge',
            toBase64(command.answer),
            command.serverToken,
            command.clientId,
          ]),
        ];
      case 'send.ping':
        return [PING_FRAME];
      case 'send.phoneTest':
        return [this.request('test', ['admin', 'test'])];
      case 'send.goodbye':
        this.ledger.asked('goodbye', 'goodbye');
        return [jsonFrame('goodbye', ['admin', 'Conn', 'disconnect'], { doubleComma: true })];
      case 'send.initialQueries':
        if (!this.ledger.keys) return [];
        return [
          this.binary('query', this.tags.long(), METRIC.queryContacts, FLAG.expectsProcessing, [
            'query',
            { type: 'contacts', epoch: '1' },
            null,
          ]),
          this.binary('query', this.tags.long(), METRIC.queryChat, FLAG.expectsProcessing, [
            'query',
            { type: 'chat', epoch: '1' },
            null,
          ]),
          this.binary('query', this.tags.short(), METRIC.presence, FLAG.expectsProcessing | FLAG.available, [
            'action',
            { type: 'set', epoch: '1' },
            [['presence', { type: 'available' }, null]],
          ]),
        ];
      case 'send.text': {
        if (!this.ledger.keys) return [];
        const info = encodeWebMessageInfo({
          key: { remoteJid: toProtoJid(command.jid), fromMe: true, id: command.id },
          message: { conversation: command.text },
          messageTimestamp: Math.floor(this.now() / 1000),
          status: MESSAGE_STATUS.PENDING,
        });
        this.epoch += 1;
        return [
          this.binary('message', command.id, METRIC.message, FLAG.expectsProcessing, [
            'action',
            { type: 'relay', epoch: String(this.epoch) },
            [['message', null, info]],
          ]),
        ];
      }
      case 'use.keys':
        this.ledger.keys = command.keys;
        return [];
    }
  }

  private request(kind: RequestKind, data: unknown): string {
    const tag = this.tags.long();
    this.ledger.asked(tag, kind);
    return jsonFrame(tag, data);
  }

  private binary(kind: RequestKind, tag: string, metric: number, flag: number, node: BinaryNode): Uint8Array {
    if (!this.ledger.keys) throw new Error('binary requests need the session keys');
    this.ledger.asked(tag, kind);
    return clientBinaryFrame(tag, metric, flag, sealFrame(this.ledger.keys, encodeNode(node)));
  }
}
