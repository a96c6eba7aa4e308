// The MD machine's `socket` callback actor (the contract in machines/md/md-types.ts): it opens the
// transport (transport.ts) with the registration or login payload, reports the server's stanzas as
// `server.*` events (parse.ts; messages decrypted by the injected decryptor first), and turns the machine's
// `send.*` commands into stanzas (stanzas.ts). A frame it cannot use is a typed `server.frameDropped`,
// never an exception. Stopping the actor closes the socket.
import { fromCallback } from 'xstate';
import type { md } from '../../codec/index.ts';
import type { SignalPreKey } from '../../crypto/md/index.ts';
import type {
  MdMessageContent,
  MdSocketCommand,
  MdSocketInput,
  MdSocketReport,
} from '../../machines/index.ts';
import type { ProtocolStats } from '../session-types.ts';
import { type IqKind, isStanzaError, type MessageEnvelope, parseStanza } from './parse.ts';
import { loginPayload, type PayloadOptions, registrationPayload } from './payload.ts';
import { isMdSendError, MdDeviceCache, MdSendError, type MdSendStore, sendMdText } from './send.ts';
import * as stanzas from './stanzas.ts';
import { isMdTransportError, type MdTransport, type MdTransportEvent, openMdTransport } from './transport.ts';

/** What decryption made of a message (md-store's decryptor). */
export interface DecryptedMessage {
  content: MdMessageContent;
  /** From the account's own phone (§13). */
  peer?: boolean;
}

export interface MdSocketOptions {
  url: string;
  /** The certificate root; default WhatsApp's (docs/protocol-md.md §2.4). */
  rootPublicKey?: Uint8Array;
  origin?: string;
  dictionary?: 2 | 3;
  handshakeTimeoutMs?: number;
  maxFramePayload?: number;
  payload?: PayloadOptions;
  /** §7.3: `companion_platform_id` and `companion_platform_display`. */
  platformId?: string;
  platformDisplay?: string;
  /** Decrypts a `<message>`; without one every message is `undecryptable`. */
  decrypt?: (envelope: MessageEnvelope) => Promise<DecryptedMessage>;
  /** The Signal store texts are encrypted with (md-store's MdSignalStore); without one, sends fail. */
  signalStore?: () => Promise<MdSendStore>;
  /** Device lists shared across this session's sockets (default: one per socket). */
  deviceCache?: MdDeviceCache;
  /** Deadline for usync and the pre-key fetch of a send (default 20 s). */
  iqTimeoutMs?: number;
  /** The one-time pre-keys to upload, durable before they are returned (md-store's preKeysForUpload). */
  preKeysForUpload?: (firstId: number, count: number) => Promise<SignalPreKey[]>;
  stats?: ProtocolStats;
  now?: () => number;
  /** This actor's own code threw: the session ends, the process does not. */
  onFault?: (error: unknown) => void;
}

/** IQ ids we wait answers for, bounded (an unanswered IQ is forgotten once 256 newer ones are out). */
class IqLedger {
  private readonly pending = new Map<string, IqKind>();
  private counter = 0;
  private readonly prefix = Math.random().toString(36).slice(2, 8);

  take(kind: IqKind): string {
    this.counter += 1;
    const id = `${this.prefix}.${this.counter}`;
    this.pending.set(id, kind);
    if (this.pending.size > 256) this.pending.delete(this.pending.keys().next().value!);
    return id;
  }

  answer(id: string): IqKind | undefined {
    const kind = this.pending.get(id);
    this.pending.delete(id);
    return kind;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The socket actor logic; `options` may be a function of the actor system (one machine per process). */
export function createMdSocketActor(options: MdSocketOptions | ((system: unknown) => MdSocketOptions)) {
  return fromCallback<MdSocketCommand, MdSocketInput>(({ input, sendBack, receive, system }) => {
    const resolved = typeof options === 'function' ? options(system) : options;
    return runSocket(resolved, input, sendBack as (event: MdSocketReport) => void, receive);
  });
}

function runSocket(
  options: MdSocketOptions,
  input: MdSocketInput,
  sendBack: (event: MdSocketReport) => void,
  receive: (listener: (command: MdSocketCommand) => void) => void,
): () => void {
  const { credentials } = input;
  const ledger = new IqLedger();
  const abort = new AbortController();
  const stats = options.stats;
  let transport: MdTransport | null = null;
  let stopped = false;
  /** Inbound work in order: a message waits for its decryption, and what follows waits behind it. */
  let chain: Promise<void> = Promise.resolve();
  /** Sends one at a time: the second to a new device finds the session the first started. */
  let sends: Promise<void> = Promise.resolve();
  /** IQs a send waits for, by id: their answers go to the send, not the machine. */
  const awaiting = new Map<string, { answer: (node: md.MdNode) => void; fail: () => void }>();
  const cache = options.deviceCache ?? new MdDeviceCache();

  const report = (event: MdSocketReport) => {
    if (stopped) return;
    if (event.type === 'server.frameDropped' && stats) stats.framesDropped += 1;
    sendBack(event);
  };
  const fault = (error: unknown) => {
    if (stopped) return;
    if (options.onFault) options.onFault(error);
    else report({ type: 'server.frameDropped', code: 'INTERNAL', reason: messageOf(error) });
  };
  const send = (node: md.MdNode) => {
    if (!transport?.isOpen) return;
    transport.send(node);
    if (stats) stats.framesOut += 1;
  };

  const onMessage = async (envelope: MessageEnvelope) => {
    let decrypted: DecryptedMessage;
    try {
      decrypted = options.decrypt
        ? await options.decrypt(envelope)
        : { content: { kind: 'undecryptable', reason: 'no decryptor' } };
    } catch (error) {
      decrypted = { content: { kind: 'undecryptable', reason: messageOf(error) } };
    }
    report({
      type: 'server.message',
      id: envelope.id,
      from: envelope.from,
      ...(envelope.participant ? { participant: envelope.participant } : {}),
      t: envelope.t,
      messageType: envelope.type,
      ...(decrypted.peer ? { peer: true } : {}),
      content: decrypted.content,
    });
  };

  const onNode = (node: md.MdNode) => {
    const waiting = node.tag === 'iq' ? awaiting.get(node.attrs.id ?? '') : undefined;
    if (waiting && (node.attrs.type === 'result' || node.attrs.type === 'error')) {
      ledger.answer(node.attrs.id!);
      waiting.answer(node);
      return;
    }
    let stanza: ReturnType<typeof parseStanza>;
    try {
      stanza = parseStanza(node, (id) => ledger.answer(id));
    } catch (error) {
      if (!isStanzaError(error)) throw error;
      report({ type: 'server.frameDropped', code: error.code, reason: error.message });
      return;
    }
    switch (stanza.type) {
      case 'message':
        chain = chain.then(() => onMessage(stanza.envelope));
        return;
      case 'server.iqRequest':
        // A server ping (or any IQ it asks): an empty result keeps the stream (§9).
        send(stanzas.iqResult(stanza.iqId));
        return;
      case 'server.iqResult':
      case 'ignored':
        return;
      default:
        chain = chain.then(() => report(stanza));
    }
  };

  const onTransportEvent = (event: MdTransportEvent) => {
    try {
      if (event.type === 'node') {
        if (stats) stats.framesIn += 1;
        onNode(event.node);
      } else if (event.type === 'dropped') {
        if (stats) stats.framesIn += 1;
        report({ type: 'server.frameDropped', code: event.code, reason: event.reason });
      } else {
        // A send in flight fails (notConnected) and is told before the close: the machine stops this
        // actor on socket.closed, and nothing it reports after that is heard.
        for (const waiting of [...awaiting.values()]) waiting.fail();
        const closed = { type: 'socket.closed', code: event.code, reason: event.reason } as const;
        chain = chain.then(() => sends).then(() => report(closed));
      }
    } catch (error) {
      fault(error);
    }
  };

  let payload: md.ClientPayload;
  try {
    payload =
      input.mode === 'login' && credentials.me
        ? loginPayload(credentials.me.jid)
        : registrationPayload(credentials, options.payload);
  } catch (error) {
    queueMicrotask(() => report({ type: 'socket.handshakeFailed', reason: `PAYLOAD: ${messageOf(error)}` }));
    return () => undefined;
  }

  openMdTransport({
    url: options.url,
    ...(options.rootPublicKey ? { rootPublicKey: options.rootPublicKey } : {}),
    noiseKey: credentials.noiseKey,
    payload,
    ...(options.dictionary ? { dictionary: options.dictionary } : {}),
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.handshakeTimeoutMs !== undefined
      ? { timeouts: { handshakeMs: options.handshakeTimeoutMs } }
      : {}),
    ...(options.maxFramePayload ? { maxFramePayload: options.maxFramePayload } : {}),
    ...(options.now ? { now: options.now } : {}),
    signal: abort.signal,
    onOpen: () => report({ type: 'socket.opened' }),
  }).then(
    (opened) => {
      if (stopped) {
        opened.close(1000, 'session left the socket');
        return;
      }
      transport = opened;
      report({ type: 'socket.secured' });
      opened.listen(onTransportEvent);
    },
    (error: unknown) => {
      if (stopped) return;
      if (!isMdTransportError(error)) return fault(error);
      // A refused certificate or a broken handshake is the server's fault (§2.4); a network failure or a
      // close is a dropped socket like any other, and the machine reconnects.
      if (error.code === 'CERTIFICATE' || error.code === 'BAD_HANDSHAKE') {
        report({ type: 'socket.handshakeFailed', reason: `${error.code}: ${error.message}` });
      } else {
        report({ type: 'socket.closed', code: null, reason: `${error.code}: ${error.message}` });
      }
    },
  );

  /** An IQ whose answer a send waits for, with a deadline; MdSendError timeout / notConnected. */
  const query = (build: (id: string) => md.MdNode): Promise<md.MdNode> =>
    new Promise((resolve, reject) => {
      if (!transport?.isOpen || stopped) {
        reject(new MdSendError('notConnected', 'the socket is not open'));
        return;
      }
      const id = ledger.take('other');
      const timeoutMs = options.iqTimeoutMs ?? 20_000;
      const timer = setTimeout(() => {
        awaiting.delete(id);
        reject(new MdSendError('timeout', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      const done = () => {
        clearTimeout(timer);
        awaiting.delete(id);
      };
      awaiting.set(id, {
        answer: (node) => {
          done();
          resolve(node);
        },
        fail: () => {
          done();
          reject(new MdSendError('notConnected', 'the socket closed'));
        },
      });
      send(build(id));
    });

  /** §12.7: a text, end to end; every failure is a typed socket.sendFailed. */
  const sendText = async (cmd: Extract<MdSocketCommand, { type: 'send.text' }>): Promise<void> => {
    try {
      if (!credentials.me) throw new MdSendError('notConnected', 'the companion is not paired');
      if (!options.signalStore) throw new MdSendError('encryptFailed', 'no Signal store to encrypt with');
      if (!transport?.isOpen) throw new MdSendError('notConnected', 'the socket is not open');
      const store = await options.signalStore();
      const sendOpen = (node: md.MdNode) => {
        if (!transport?.isOpen) throw new MdSendError('notConnected', 'the socket closed');
        send(node);
      };
      await sendMdText(
        { me: credentials.me.jid, account: credentials.account, store, cache, query, send: sendOpen },
        { jid: cmd.jid, text: cmd.text, id: cmd.id },
      );
    } catch (error) {
      if (!isMdSendError(error)) throw error;
      report({
        type: 'socket.sendFailed',
        id: cmd.id,
        to: cmd.jid.slice(0, 80),
        reason: error.code,
        detail: error.message,
      });
    }
  };

  const command = async (cmd: MdSocketCommand): Promise<void> => {
    switch (cmd.type) {
      case 'send.iqResult':
        return send(stanzas.iqResult(cmd.iqId));
      case 'send.pairDeviceSign':
        return send(stanzas.pairDeviceSign(cmd.iqId, cmd.deviceIdentity, cmd.keyIndex));
      case 'send.pairError':
        return send(stanzas.errorIq(cmd.iqId, cmd.code, cmd.text));
      case 'send.companionHello':
        return send(
          stanzas.companionHello({
            id: ledger.take('companionHello'),
            phone: cmd.phone,
            wrappedEphemeral: cmd.wrappedEphemeral,
            noisePublicKey: credentials.noiseKey.publicKey,
            showPushNotification: cmd.showPushNotification,
            ...(options.platformId ? { platformId: options.platformId } : {}),
            ...(options.platformDisplay ? { platformDisplay: options.platformDisplay } : {}),
          }),
        );
      case 'send.companionFinish':
        return send(
          stanzas.companionFinish({
            id: ledger.take('companionFinish'),
            phone: cmd.phone,
            wrappedKeyBundle: cmd.wrappedKeyBundle,
            identityPublicKey: cmd.identityPublic,
            ref: cmd.ref,
          }),
        );
      case 'send.ack':
        return send(
          stanzas.ack({
            id: cmd.id,
            to: cmd.to,
            class: cmd.class,
            ...(cmd.ackType ? { type: cmd.ackType } : {}),
            ...(cmd.participant ? { participant: cmd.participant } : {}),
          }),
        );
      case 'send.receipt':
        return send(
          stanzas.receipt({
            id: cmd.id,
            to: cmd.to,
            ...(cmd.participant ? { participant: cmd.participant } : {}),
            ...(cmd.receiptType ? { type: cmd.receiptType } : {}),
          }),
        );
      case 'send.preKeyCount':
        return send(stanzas.preKeyCount(ledger.take('preKeyCount')));
      case 'send.preKeyUpload': {
        const keys = options.preKeysForUpload ? await options.preKeysForUpload(cmd.firstId, cmd.count) : [];
        if (keys.length === 0) {
          report({ type: 'server.frameDropped', code: 'NO_PRE_KEYS', reason: 'no pre-keys to upload' });
          return;
        }
        return send(
          stanzas.preKeyUpload({
            id: ledger.take('preKeyUpload'),
            registrationId: credentials.registrationId,
            identityPublicKey: credentials.identityKey.publicKey,
            preKeys: keys.map((key) => ({ keyId: key.keyId, publicKey: key.keyPair.publicKey })),
            signedPreKey: {
              keyId: credentials.signedPreKey.keyId,
              publicKey: credentials.signedPreKey.keyPair.publicKey,
              signature: credentials.signedPreKey.signature,
            },
          }),
        );
      }
      case 'send.passiveActive':
        return send(stanzas.passiveActive(ledger.take('passiveActive')));
      case 'send.ping':
        return send(stanzas.ping(ledger.take('ping')));
      case 'send.logout':
        if (!credentials.me) return;
        return send(stanzas.removeCompanionDevice(ledger.take('logout'), credentials.me.jid));
      case 'send.text': {
        const run = sends.then(() => sendText(cmd));
        sends = run.catch(() => undefined);
        return run;
      }
      case 'send.accountQueries':
        send(stanzas.propsQuery(ledger.take('info')));
        send(stanzas.blocklistQuery(ledger.take('info')));
        send(stanzas.privacyQuery(ledger.take('info')));
        return;
      case 'send.close':
        transport?.close(1000, 'closed by the session');
        return;
    }
  };

  receive((cmd) => {
    command(cmd).catch((error: unknown) =>
      report({ type: 'server.frameDropped', code: 'FRAME_UNBUILDABLE', reason: messageOf(error) }),
    );
  });

  return () => {
    stopped = true;
    for (const waiting of [...awaiting.values()]) waiting.fail();
    abort.abort();
    transport?.close(1000, 'session left the socket');
  };
}
