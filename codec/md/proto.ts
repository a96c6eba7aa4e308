// Multi-device protobufs with protobufjs over codec/md/proto/*.proto (loaded once, into one root).
// Decoded objects are plain: 64-bit integers → number, enums → number, bytes → Uint8Array, absent fields
// stay absent. Field numbers: docs/protocol-md.md ("Handshake protobufs", "pair-success", "Message protobuf").
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { CodecError } from '../errors.ts';

const PROTO_FILES = ['handshake.proto', 'companion-reg.proto', 'adv.proto', 'message.proto'];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of PROTO_FILES) {
    protobuf.parse(readFileSync(new URL(`./proto/${file}`, import.meta.url), 'utf8'), root, {
      keepCase: true,
    });
  }
  root.resolveAll();
  return root;
}

/** The parsed schema (for tooling and tests; use the typed helpers below in code). */
export const MD_PROTO_ROOT: protobuf.Root = loadRoot();

// ---- enums (names as in the schema; numbers are what decoded objects carry) ----

export const CONNECT_TYPE = { CELLULAR_UNKNOWN: 0, WIFI_UNKNOWN: 1 } as const;
export const CONNECT_REASON = {
  PUSH: 0,
  USER_ACTIVATED: 1,
  SCHEDULED: 2,
  ERROR_RECONNECT: 3,
  NETWORK_SWITCH: 4,
  PING_RECONNECT: 5,
  UNKNOWN: 6,
} as const;
export const USER_AGENT_PLATFORM = {
  ANDROID: 0,
  IOS: 1,
  SMB_ANDROID: 10,
  SMB_IOS: 12,
  WINDOWS: 13,
  WEB: 14,
  MACOS: 24,
} as const;
export const RELEASE_CHANNEL = { RELEASE: 0, BETA: 1, ALPHA: 2, DEBUG: 3 } as const;
export const WEB_SUB_PLATFORM = {
  WEB_BROWSER: 0,
  APP_STORE: 1,
  WIN_STORE: 2,
  DARWIN: 3,
  WIN32: 4,
  WIN_HYBRID: 5,
} as const;
/** DeviceProps.PlatformType: the icon on the phone's "Linked devices". Not the QR's client type. */
export const DEVICE_PLATFORM_TYPE = {
  UNKNOWN: 0,
  CHROME: 1,
  FIREFOX: 2,
  IE: 3,
  OPERA: 4,
  SAFARI: 5,
  EDGE: 6,
  DESKTOP: 7,
  IPAD: 8,
  ANDROID_TABLET: 9,
  OHANA: 10,
  ALOHA: 11,
  CATALINA: 12,
  TCL_TV: 13,
  IOS_PHONE: 14,
  IOS_CATALYST: 15,
  ANDROID_PHONE: 16,
  ANDROID_AMBIGUOUS: 17,
  WEAR_OS: 18,
  AR_WRIST: 19,
  AR_DEVICE: 20,
  UWP: 21,
  VR: 22,
  CLOUD_API: 23,
  SMARTGLASSES: 24,
} as const;
export const ADV_ENCRYPTION_TYPE = { E2EE: 0, HOSTED: 1 } as const;
export const PROTOCOL_MESSAGE_TYPE = {
  REVOKE: 0,
  EPHEMERAL_SETTING: 3,
  EPHEMERAL_SYNC_RESPONSE: 4,
  HISTORY_SYNC_NOTIFICATION: 5,
  APP_STATE_SYNC_KEY_SHARE: 6,
  APP_STATE_SYNC_KEY_REQUEST: 7,
  MESSAGE_EDIT: 14,
} as const;
export const HISTORY_SYNC_TYPE = {
  INITIAL_BOOTSTRAP: 0,
  INITIAL_STATUS_V3: 1,
  FULL: 2,
  RECENT: 3,
  PUSH_NAME: 4,
  NON_BLOCKING_DATA: 5,
  ON_DEMAND: 6,
  NO_HISTORY: 7,
} as const;

// ---- handshake ----

export interface HandshakeMessage {
  clientHello?: { ephemeral?: Uint8Array; static?: Uint8Array; payload?: Uint8Array };
  serverHello?: { ephemeral?: Uint8Array; static?: Uint8Array; payload?: Uint8Array };
  clientFinish?: { static?: Uint8Array; payload?: Uint8Array };
}

export interface CertDetails {
  serial?: number;
  issuerSerial?: number;
  key?: Uint8Array;
  /** Unix seconds. */
  notBefore?: number;
  notAfter?: number;
}

export interface NoiseCertificate {
  /** Serialized CertDetails: the signature covers these exact bytes. */
  details?: Uint8Array;
  signature?: Uint8Array;
}

export interface CertChain {
  leaf?: NoiseCertificate;
  intermediate?: NoiseCertificate;
}

export interface AppVersion {
  primary?: number;
  secondary?: number;
  tertiary?: number;
  quaternary?: number;
  quinary?: number;
}

export interface UserAgent {
  platform?: number;
  appVersion?: AppVersion;
  mcc?: string;
  mnc?: string;
  osVersion?: string;
  manufacturer?: string;
  device?: string;
  osBuildNumber?: string;
  phoneId?: string;
  releaseChannel?: number;
  localeLanguageIso6391?: string;
  localeCountryIso31661Alpha2?: string;
  deviceBoard?: string;
  deviceType?: number;
}

export interface WebInfo {
  refToken?: string;
  version?: string;
  webSubPlatform?: number;
  browser?: string;
  browserVersion?: string;
}

export interface DevicePairingRegistrationData {
  /** Registration id, 4 bytes big-endian. */
  eRegid?: Uint8Array;
  /** `[0x05]`. */
  eKeytype?: Uint8Array;
  /** Identity public key, 32 bytes. */
  eIdent?: Uint8Array;
  /** Signed pre-key id, 3 bytes big-endian. */
  eSkeyId?: Uint8Array;
  eSkeyVal?: Uint8Array;
  /** XEdDSA by the identity over `05 ‖ eSkeyVal`. */
  eSkeySig?: Uint8Array;
  /** MD5 of the version string `2.3000.N`. */
  buildHash?: Uint8Array;
  /** Serialized DeviceProps. */
  deviceProps?: Uint8Array;
}

export interface ClientPayload {
  /** Phone number (user part) as an integer; login only. */
  username?: number;
  passive?: boolean;
  userAgent?: UserAgent;
  webInfo?: WebInfo;
  pushName?: string;
  sessionId?: number;
  shortConnect?: boolean;
  connectType?: number;
  connectReason?: number;
  shards?: number[];
  connectAttemptCount?: number;
  device?: number;
  devicePairingData?: DevicePairingRegistrationData;
  product?: number;
  oc?: boolean;
  lc?: number;
  pull?: boolean;
  paddingBytes?: Uint8Array;
  lidDbMigrated?: boolean;
}

export interface HistorySyncConfig {
  fullSyncDaysLimit?: number;
  fullSyncSizeMbLimit?: number;
  storageQuotaMb?: number;
  inlineInitialPayloadInE2EeMsg?: boolean;
  recentSyncDaysLimit?: number;
  supportCallLogHistory?: boolean;
  supportBotUserAgentChatHistory?: boolean;
  supportCagReactionsAndPolls?: boolean;
  supportBizHostedMsg?: boolean;
  supportRecentSyncChunkMessageCountTuning?: boolean;
  supportHostedGroupMsg?: boolean;
  supportFbidBotChatHistory?: boolean;
  supportAddOnHistorySyncMigration?: boolean;
  supportMessageAssociation?: boolean;
}

export interface DeviceProps {
  /** Shown on the phone under "Linked devices". */
  os?: string;
  version?: AppVersion;
  platformType?: number;
  requireFullSync?: boolean;
  historySyncConfig?: HistorySyncConfig;
}

export interface ClientPairingProps {
  isChatDbLidMigrated?: boolean;
  isSyncdPureLidSession?: boolean;
  isSyncdSnapshotRecoveryEnabled?: boolean;
  isHsThumbnailSyncEnabled?: boolean;
  subscriptionSyncPayload?: Uint8Array;
}

// ---- ADV ----

export interface AdvDeviceIdentity {
  rawId?: number;
  timestamp?: number;
  keyIndex?: number;
  accountType?: number;
  deviceType?: number;
}

export interface AdvSignedDeviceIdentity {
  /** Serialized AdvDeviceIdentity. */
  details?: Uint8Array;
  accountSignatureKey?: Uint8Array;
  accountSignature?: Uint8Array;
  deviceSignature?: Uint8Array;
}

export interface AdvSignedDeviceIdentityHmac {
  /** Serialized AdvSignedDeviceIdentity. */
  details?: Uint8Array;
  hmac?: Uint8Array;
  accountType?: number;
}

// ---- Message ----

export interface MessageKey {
  remoteJid?: string;
  fromMe?: boolean;
  id?: string;
  participant?: string;
}

export interface ContextInfo {
  stanzaId?: string;
  participant?: string;
  quotedMessage?: Message;
  remoteJid?: string;
  mentionedJid?: string[];
}

export interface MediaFields {
  url?: string;
  mimetype?: string;
  fileSha256?: Uint8Array;
  fileEncSha256?: Uint8Array;
  fileLength?: number;
  mediaKey?: Uint8Array;
  directPath?: string;
  mediaKeyTimestamp?: number;
  contextInfo?: ContextInfo;
}

export interface ImageMessage extends MediaFields {
  caption?: string;
  height?: number;
  width?: number;
  jpegThumbnail?: Uint8Array;
}

export interface VideoMessage extends MediaFields {
  seconds?: number;
  caption?: string;
  gifPlayback?: boolean;
  height?: number;
  width?: number;
  jpegThumbnail?: Uint8Array;
  streamingSidecar?: Uint8Array;
}

export interface AudioMessage extends MediaFields {
  seconds?: number;
  ptt?: boolean;
  streamingSidecar?: Uint8Array;
  waveform?: Uint8Array;
}

export interface DocumentMessage extends MediaFields {
  title?: string;
  pageCount?: number;
  fileName?: string;
  jpegThumbnail?: Uint8Array;
  caption?: string;
}

export interface ExtendedTextMessage {
  text?: string;
  matchedText?: string;
  description?: string;
  title?: string;
  contextInfo?: ContextInfo;
}

export interface HistorySyncNotification {
  fileSha256?: Uint8Array;
  fileLength?: number;
  mediaKey?: Uint8Array;
  fileEncSha256?: Uint8Array;
  directPath?: string;
  syncType?: number;
  chunkOrder?: number;
  originalMessageId?: string;
  progress?: number;
  oldestMsgInChunkTimestampSec?: number;
  initialHistBootstrapInlinePayload?: Uint8Array;
  peerDataRequestSessionId?: string;
}

export interface AppStateSyncKey {
  keyId?: { keyId?: Uint8Array };
  keyData?: {
    keyData?: Uint8Array;
    fingerprint?: { rawId?: number; currentIndex?: number; deviceIndexes?: number[] };
    timestamp?: number;
  };
}

export interface ProtocolMessage {
  key?: MessageKey;
  type?: number;
  ephemeralExpiration?: number;
  historySyncNotification?: HistorySyncNotification;
  appStateSyncKeyShare?: { keys?: AppStateSyncKey[] };
  appStateSyncKeyRequest?: { keyIds?: { keyId?: Uint8Array }[] };
  timestampMs?: number;
}

export interface StickerMessage extends MediaFields {
  height?: number;
  width?: number;
  isAnimated?: boolean;
}

export interface DeviceSentMessage {
  destinationJid?: string;
  message?: Message;
  phash?: string;
}

export interface FutureProofMessage {
  message?: Message;
}

export interface SenderKeyDistributionMessage {
  groupId?: string;
  /** The Signal SenderKeyDistributionMessage (version byte ‖ protobuf); crypto/md/sender-keys.ts. */
  axolotlSenderKeyDistributionMessage?: Uint8Array;
}

export interface Message {
  conversation?: string;
  senderKeyDistributionMessage?: SenderKeyDistributionMessage;
  imageMessage?: ImageMessage;
  extendedTextMessage?: ExtendedTextMessage;
  documentMessage?: DocumentMessage;
  audioMessage?: AudioMessage;
  videoMessage?: VideoMessage;
  protocolMessage?: ProtocolMessage;
  stickerMessage?: StickerMessage;
  deviceSentMessage?: DeviceSentMessage;
  viewOnceMessage?: FutureProofMessage;
  ephemeralMessage?: FutureProofMessage;
  documentWithCaptionMessage?: FutureProofMessage;
}

// ---- codec ----

interface ProtoCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

function codecFor<T>(typeName: string, label: string): ProtoCodec<T> {
  const type = MD_PROTO_ROOT.lookupType(`walink.md.${typeName}`);
  return {
    encode(value: T): Uint8Array {
      const problem = type.verify(value as Record<string, unknown>);
      if (problem) throw new CodecError('BAD_PROTO', `invalid ${label}: ${problem}`);
      // A plain Uint8Array copy: protobufjs returns a Buffer that may sit in a shared pool.
      return new Uint8Array(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
    },
    decode(bytes: Uint8Array): T {
      if (!(bytes instanceof Uint8Array)) throw new CodecError('BAD_PROTO', `${label}: bytes expected`);
      let decoded: protobuf.Message;
      try {
        decoded = type.decode(bytes);
      } catch (error) {
        throw new CodecError('BAD_PROTO', `malformed ${label}: ${(error as Error).message}`);
      }
      const object = type.toObject(decoded, { longs: Number, enums: Number, bytes: Uint8Array as never });
      return plainBytes(object) as T;
    },
  };
}

/** protobufjs hands out Buffers on Node; callers get plain Uint8Arrays so equality is by value. */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = plainBytes(inner);
    return out;
  }
  return value;
}

const handshakeMessage = codecFor<HandshakeMessage>('HandshakeMessage', 'HandshakeMessage');
const certChain = codecFor<CertChain>('CertChain', 'CertChain');
const certDetails = codecFor<CertDetails>('NoiseCertificate.Details', 'certificate details');
const clientPayload = codecFor<ClientPayload>('ClientPayload', 'ClientPayload');
const deviceProps = codecFor<DeviceProps>('DeviceProps', 'DeviceProps');
const clientPairingProps = codecFor<ClientPairingProps>('ClientPairingProps', 'ClientPairingProps');
const advDeviceIdentity = codecFor<AdvDeviceIdentity>('ADVDeviceIdentity', 'ADVDeviceIdentity');
const advSignedDeviceIdentity = codecFor<AdvSignedDeviceIdentity>(
  'ADVSignedDeviceIdentity',
  'ADVSignedDeviceIdentity',
);
const advSignedDeviceIdentityHmac = codecFor<AdvSignedDeviceIdentityHmac>(
  'ADVSignedDeviceIdentityHMAC',
  'ADVSignedDeviceIdentityHMAC',
);
const message = codecFor<Message>('Message', 'Message');

export const encodeHandshakeMessage = handshakeMessage.encode;
export const decodeHandshakeMessage = handshakeMessage.decode;
export const encodeCertChain = certChain.encode;
export const decodeCertChain = certChain.decode;
export const encodeCertDetails = certDetails.encode;
export const decodeCertDetails = certDetails.decode;
export const encodeClientPayload = clientPayload.encode;
export const decodeClientPayload = clientPayload.decode;
export const encodeDeviceProps = deviceProps.encode;
export const decodeDeviceProps = deviceProps.decode;
export const encodeClientPairingProps = clientPairingProps.encode;
export const decodeClientPairingProps = clientPairingProps.decode;
export const encodeAdvDeviceIdentity = advDeviceIdentity.encode;
export const decodeAdvDeviceIdentity = advDeviceIdentity.decode;
export const encodeAdvSignedDeviceIdentity = advSignedDeviceIdentity.encode;
export const decodeAdvSignedDeviceIdentity = advSignedDeviceIdentity.decode;
export const encodeAdvSignedDeviceIdentityHmac = advSignedDeviceIdentityHmac.encode;
export const decodeAdvSignedDeviceIdentityHmac = advSignedDeviceIdentityHmac.decode;
export const encodeMessage = message.encode;
export const decodeMessage = message.decode;
