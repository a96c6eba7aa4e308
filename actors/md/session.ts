// A Session over the multi-device machine (docs/protocol-md.md): the machine with its effects supplied (the
// socket, the pairing procedures, the device store with its Signal and app-state keys, the media queue) and
// bridged to the public Session, like actors/legacy/session.ts.
import { randomBytes } from 'node:crypto';
import { createActor, fromPromise, type SnapshotFrom } from 'xstate';
import { md } from '../../codec/index.ts';
import {
  type FinishedPairCode,
  type FinishPairCodeInput,
  type MdCredentials,
  type MdMediaItem,
  type MdSessionEmitted,
  mdSessionMachine,
  type PreparedPairCode,
  type PreparePairCodeInput,
  type StoreDeviceInput,
  type VerifyPairSuccessInput,
  type VerifyPairSuccessResult,
} from '../../machines/index.ts';
import { actorOptions, enqueueMediaItems, errorReporter, tuningInput } from '../actor-options.ts';
import { type CredentialStore, MemoryCredentialStore } from '../credential-store.ts';
import { bridgeSession, SessionEventStream } from '../session-bridge.ts';
import type { ProtocolStats, Session, SessionAppEvent } from '../session-types.ts';
import { createMdDecryptor } from './decrypt.ts';
import { MD_CREDENTIAL_CODEC } from './md-credential-codec.ts';
import { generateMdCredentials, type MdAppStateKey, type MdCredentialRecord } from './md-credentials.ts';
import { asMachineContent } from './message-content.ts';
import { finishPairCode, preparePairCode, verifyPairSuccess } from './pairing.ts';
import type { MessageEnvelope } from './parse.ts';
import { MdDeviceCache } from './send.ts';
import type { CreateMdSessionOptions, MdDecryptorFactory } from './session-options.ts';
import { MdDeviceStore } from './signal-store.ts';
import { createMdSocketActor, type DecryptedMessage, type MdSocketOptions } from './socket.ts';

/** What one session's machine does to the world; found through the session's actor system. */
interface MdEffects {
  socket: MdSocketOptions;
  device(): Promise<MdDeviceStore>;
  storeCredentials(credentials: MdCredentials): void;
  storeDevice(credentials: MdCredentials): Promise<void>;
  clearDevice(): void;
  enqueueMedia(items: MdMediaItem[]): void;
  storeAppStateKeys(keys: md.AppStateSyncKey[]): void;
}

const effectsBySystem = new WeakMap<object, MdEffects>();

function effectsOf(system: unknown): MdEffects {
  const effects = effectsBySystem.get(system as object);
  if (!effects) throw new Error('this actor system has no MD session effects registered');
  return effects;
}

// One provided machine for every MD session of the process (see actors/legacy/session.ts).
const providedMachine = mdSessionMachine.provide({
  actors: {
    socket: createMdSocketActor((system) => effectsOf(system).socket),
    preparePairCode: fromPromise<PreparedPairCode, PreparePairCodeInput>(({ input }) =>
      preparePairCode(input),
    ),
    finishPairCode: fromPromise<FinishedPairCode, FinishPairCodeInput>(({ input }) =>
      finishPairCode({ primaryHello: input.hello, prepared: input.prepared }, input.credentials),
    ),
    verifyPairSuccess: fromPromise<VerifyPairSuccessResult, VerifyPairSuccessInput>(async ({ input }) =>
      verifyPairSuccess(input.pairSuccess, input.credentials),
    ),
    storeDevice: fromPromise<void, StoreDeviceInput>(({ input, system }) =>
      effectsOf(system).storeDevice(input.credentials),
    ),
  },
  actions: {
    storeCredentials: ({ system }, params: { credentials: MdCredentials }) =>
      effectsOf(system).storeCredentials(params.credentials),
    clearDevice: ({ system }) => effectsOf(system).clearDevice(),
    enqueueMedia: ({ system }, params: { items: MdMediaItem[] }) =>
      effectsOf(system).enqueueMedia(params.items),
    storeAppStateKeys: ({ system }, params: { keys: md.AppStateSyncKey[] }) =>
      effectsOf(system).storeAppStateKeys(params.keys),
  },
});

type MdSnapshot = SnapshotFrom<typeof mdSessionMachine>;

/** A new message id in WA Web's form (`3EB0` and 16 hex digits). */
export function newMdMessageId(): string {
  return `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
}

/** The codec's app-state key as md-store keeps it; keys without id or data are not keys. */
function appStateKey(key: md.AppStateSyncKey): MdAppStateKey | null {
  const keyId = key.keyId?.keyId;
  const keyData = key.keyData?.keyData;
  if (!keyId || !keyData) return null;
  return {
    keyId,
    keyData,
    ...(key.keyData?.fingerprint ? { fingerprint: key.keyData.fingerprint } : {}),
    ...(key.keyData?.timestamp !== undefined ? { timestamp: key.keyData.timestamp } : {}),
  };
}

/** The ref inside a QR text: its first field, after the deep-link prefix (docs/protocol-md.md §6.2). */
function refOf(text: string): string {
  const body = text.startsWith(md.QR_LINK_PREFIX) ? text.slice(md.QR_LINK_PREFIX.length) : text;
  return body.split(',')[0] ?? '';
}

/** The machine's emitted events as the public ones: neutral where both protocols tell the same. */
export function translateMdEvent(emitted: MdSessionEmitted, now: number): SessionAppEvent | null {
  switch (emitted.type) {
    case 'qr':
      return {
        type: 'qr',
        text: emitted.text,
        ref: refOf(emitted.text),
        index: emitted.index,
        ttl: emitted.expiresInMs,
        expiresAt: now + emitted.expiresInMs,
      };
    case 'pairCode':
      return {
        type: 'pairCode',
        code: emitted.code,
        ttl: emitted.expiresInMs,
        expiresAt: now + emitted.expiresInMs,
      };
    case 'qr.exhausted':
    case 'reconnecting':
    case 'conflict':
      return emitted;
    default: {
      const { type, ...rest } = emitted;
      return { ...rest, type: `md.${type}` } as SessionAppEvent;
    }
  }
}

/** md-store's decryption over the device's Signal store (every change durable before the content). */
const signalDecryptor: MdDecryptorFactory = (device) => {
  const decrypt = createMdDecryptor(device);
  return async (envelope) => {
    const { content, peer } = await decrypt(envelope);
    return { content: asMachineContent(content), ...(peer ? { peer: true } : {}) };
  };
};

export async function createMdSession(options: CreateMdSessionOptions): Promise<Session> {
  const store: CredentialStore<MdCredentialRecord> =
    options.store ?? new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
  const events = new SessionEventStream();
  const reportError = errorReporter(events);
  let device = MdDeviceStore.open(store, { onWriteError: (error) => reportError('store', error) });
  const initial = await device;
  const stats: ProtocolStats = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  let storeWrites: Promise<void> = Promise.resolve();
  const write = (task: (store: MdDeviceStore) => Promise<void>) => {
    storeWrites = storeWrites
      .then(() => device)
      .then(task)
      .catch((error) => reportError('store', error));
  };
  let crash: (error: unknown, where?: string) => void = () => undefined;
  const decryptorFor = options.decryptor ?? signalDecryptor;
  const decrypt = async (envelope: MessageEnvelope): Promise<DecryptedMessage> =>
    decryptorFor(await device)(envelope);

  const effects: MdEffects = {
    socket: {
      url: options.url,
      ...(options.rootPublicKey ? { rootPublicKey: options.rootPublicKey } : {}),
      ...(options.origin ? { origin: options.origin } : {}),
      ...(options.dictionary ? { dictionary: options.dictionary } : {}),
      ...(options.platformDisplay ? { platformDisplay: options.platformDisplay } : {}),
      ...(options.os ? { payload: { os: options.os } } : {}),
      decrypt,
      preKeysForUpload: async (firstId, count) => (await device).signal.preKeysForUpload(firstId, count),
      signalStore: async () => (await device).signal,
      deviceCache: new MdDeviceCache(),
      stats,
      onFault: (error) => crash(error, 'socket'),
    },
    device: () => device,
    storeCredentials: (credentials) => write((d) => d.saveCredentials(credentials)),
    // Durable before pair-device-sign goes out: a rejection fails pairing (pairFailed storeFailed).
    storeDevice: async (credentials) => {
      await storeWrites;
      await (await device).storeDevice(credentials);
    },
    clearDevice: () => {
      // The old record is deleted; a new one (new keys) takes its place for the next pairing.
      const previous = device;
      device = previous
        .then((old) => old.clear())
        .then(() => MdDeviceStore.open(store, { onWriteError: (error) => reportError('store', error) }));
      write(async () => undefined);
    },
    enqueueMedia: (items) => enqueueMediaItems(options.queue, items, events, reportError),
    storeAppStateKeys: (keys) => {
      const usable = keys.map(appStateKey).filter((key): key is MdAppStateKey => key !== null);
      write((d) => d.appState.put(usable));
    },
  };

  const makeActor = (credentials: MdCredentials) => {
    const actor = createActor(providedMachine, {
      input: {
        credentials,
        freshCredentials: generateMdCredentials,
        ...tuningInput(options),
      },
      ...actorOptions(options, reportError),
    });
    effectsBySystem.set(actor.system, effects);
    return actor;
  };

  const bridged = bridgeSession<MdSnapshot>(
    {
      name: options.name ?? initial.credentials.me?.jid ?? 'md-session',
      actor: makeActor(initial.credentials),
      revive: (snapshot) => makeActor(snapshot.context.credentials),
      stats,
      facts: ({ context }) => ({
        reason: context.failure,
        me: context.credentials.me?.jid ?? null,
        droppedFrames: context.droppedFrames,
      }),
      user: {
        sendText: (jid, text, id) => ({ type: 'user.sendText', jid, text, id }),
        logout: { type: 'user.logout' },
        restart: { type: 'user.restart' },
        // A replaced MD session comes back by a restart (its machine has no take-over of its own).
        takeOver: { type: 'user.restart' },
        requestPairingCode: (phone) => ({ type: 'user.requestPairingCode', phone }),
      },
      translate: (emitted, now) => translateMdEvent(emitted as MdSessionEmitted, now),
      newMessageId: newMdMessageId,
      settled: async () => {
        await storeWrites;
        await (await device).flush().catch(() => undefined);
      },
    },
    events,
  );
  crash = bridged.crash;
  return bridged.session;
}
