import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, md } from '../../../codec/index.ts';
import { toHex } from '../../../crypto/index.ts';
import {
  fromDecodedVector,
  hex,
  noiseVectors,
  pairingVectors,
  signalVectors,
} from '../../support/md-vectors.ts';

const { transcripts } = noiseVectors();
const pairing = pairingVectors();

describe('MD protobufs against the `*Decoded` vectors (whatsmeow schema)', () => {
  describe.each(transcripts)('$id', (t) => {
    it('HandshakeMessage: the three handshake messages decode and re-encode byte for byte', () => {
      const hello = md.decodeHandshakeMessage(hex(t.messages.clientHello.handshakeMessage));
      expect(hello).toEqual({ clientHello: { ephemeral: hex(t.messages.clientHello.ephemeral) } });
      const server = md.decodeHandshakeMessage(hex(t.messages.serverHello.handshakeMessage));
      expect(server.serverHello).toEqual({
        ephemeral: hex(t.messages.serverHello.ephemeral),
        static: hex(t.messages.serverHello.static),
        payload: hex(t.messages.serverHello.payload),
      });
      const finish = md.decodeHandshakeMessage(hex(t.messages.clientFinish.handshakeMessage));
      expect(finish.clientFinish).toEqual({
        static: hex(t.messages.clientFinish.static),
        payload: hex(t.messages.clientFinish.payload),
      });
      for (const [message, bytes] of [
        [hello, t.messages.clientHello.handshakeMessage],
        [server, t.messages.serverHello.handshakeMessage],
        [finish, t.messages.clientFinish.handshakeMessage],
      ] as const) {
        expect(toHex(md.encodeHandshakeMessage(message))).toBe(bytes);
      }
    });

    it('ClientPayload (clientPayloadDecoded) and its DeviceProps (devicePropsDecoded)', () => {
      const payload = md.decodeClientPayload(hex(t.decrypted.clientPayload));
      expect(payload).toEqual(fromDecodedVector('ClientPayload', t.decrypted.clientPayloadDecoded));
      expect(toHex(md.encodeClientPayload(payload))).toBe(t.decrypted.clientPayload);
      const deviceProps = payload.devicePairingData?.deviceProps;
      expect(Boolean(deviceProps)).toBe(Boolean(t.decrypted.devicePropsDecoded));
      if (deviceProps && t.decrypted.devicePropsDecoded) {
        const props = md.decodeDeviceProps(deviceProps);
        expect(props).toEqual(fromDecodedVector('DeviceProps', t.decrypted.devicePropsDecoded));
        expect(props.platformType).toBe(md.DEVICE_PLATFORM_TYPE.CHROME);
        expect(md.encodeDeviceProps(props)).toEqual(deviceProps);
      }
    });

    it('CertChain and both certificates details (certChainDecoded)', () => {
      const decoded = t.decrypted.certChainDecoded;
      const chain = md.decodeCertChain(hex(t.decrypted.certChain));
      expect(chain).toEqual({
        intermediate: {
          details: hex(decoded.intermediate.details),
          signature: hex(decoded.intermediate.signature),
        },
        leaf: { details: hex(decoded.leaf.details), signature: hex(decoded.leaf.signature) },
      });
      expect(toHex(md.encodeCertChain(chain))).toBe(t.decrypted.certChain);
      for (const cert of [decoded.intermediate, decoded.leaf]) {
        const details = md.decodeCertDetails(hex(cert.details));
        expect(details).toEqual(fromDecodedVector('NoiseCertificate.Details', cert.detailsDecoded));
        expect(toHex(md.encodeCertDetails(details))).toBe(cert.details);
      }
    });
  });

  it('the registration payload carries the pairing data the docs describe', () => {
    const payload = md.decodeClientPayload(hex(transcripts[0]!.decrypted.clientPayload));
    expect(payload.userAgent?.platform).toBe(md.USER_AGENT_PLATFORM.WEB);
    expect(payload.webInfo?.webSubPlatform).toBe(md.WEB_SUB_PLATFORM.WEB_BROWSER);
    expect(payload.connectType).toBe(md.CONNECT_TYPE.WIFI_UNKNOWN);
    expect(payload.connectReason).toBe(md.CONNECT_REASON.USER_ACTIVATED);
    expect(payload.devicePairingData?.eKeytype).toEqual(Uint8Array.of(5));
    expect(payload.devicePairingData?.eSkeyId).toHaveLength(3);
    const login = md.decodeClientPayload(hex(transcripts[1]!.decrypted.clientPayload));
    expect(login.username).toBe(15551234567);
    expect(login.device).toBe(3);
    expect(login.passive).toBe(true);
  });

  it('ADV: device identity, signed identity, HMAC container and the pair-device-sign reply', () => {
    const { adv } = pairing;
    const cases = [
      [
        'ADVDeviceIdentity',
        adv.deviceIdentity.bytes,
        adv.deviceIdentity.decoded,
        md.decodeAdvDeviceIdentity,
        md.encodeAdvDeviceIdentity,
      ],
      [
        'ADVSignedDeviceIdentity',
        adv.signedDeviceIdentity.bytes,
        adv.signedDeviceIdentity.decoded,
        md.decodeAdvSignedDeviceIdentity,
        md.encodeAdvSignedDeviceIdentity,
      ],
      [
        'ADVSignedDeviceIdentityHMAC',
        adv.container.bytes,
        adv.container.decoded,
        md.decodeAdvSignedDeviceIdentityHmac,
        md.encodeAdvSignedDeviceIdentityHmac,
      ],
      [
        'ADVSignedDeviceIdentity',
        adv.pairDeviceSign.signedDeviceIdentity,
        adv.pairDeviceSign.decoded,
        md.decodeAdvSignedDeviceIdentity,
        md.encodeAdvSignedDeviceIdentity,
      ],
    ] as const;
    for (const [type, bytes, decodedVector, decode, encode] of cases) {
      const decoded = (decode as (b: Uint8Array) => object)(hex(bytes));
      expect(decoded, type).toEqual(fromDecodedVector(type, decodedVector));
      expect(toHex((encode as (v: object) => Uint8Array)(decoded)), type).toBe(bytes);
    }
    // E2EE (0) account and device types are on the wire, not left out as defaults.
    expect(md.decodeAdvDeviceIdentity(hex(adv.deviceIdentity.bytes))).toMatchObject({
      accountType: 0,
      deviceType: 0,
    });
  });

  it('ADV hosted cases decode with their enum values', () => {
    for (const c of pairing.hosted.cases) {
      const identity = md.decodeAdvDeviceIdentity(hex(c.deviceIdentity));
      expect(identity.accountType).toBe(c.accountType);
      expect(identity.deviceType).toBe(c.deviceType);
      const container = md.decodeAdvSignedDeviceIdentityHmac(hex(c.container));
      expect(container.accountType).toBe(md.ADV_ENCRYPTION_TYPE.HOSTED);
      expect(toHex(container.details!)).toBe(c.signedDeviceIdentity);
      expect(toHex(md.encodeAdvSignedDeviceIdentityHmac(container))).toBe(c.container);
    }
  });

  it('Message of the Signal vector (decodedWithWhatsmeowSchema)', () => {
    const v = signalVectors();
    const message = md.decodeMessage(hex(v.expected.messageProtobuf));
    expect(message).toEqual(fromDecodedVector('Message', v.expected.decodedWithWhatsmeowSchema));
    expect(toHex(md.encodeMessage(message))).toBe(v.expected.messageProtobuf);
  });
});

describe('MD protobufs: schema and round trips', () => {
  it('the exported enum constants are the schema values', () => {
    const pairs: [string, Record<string, number>][] = [
      ['ClientPayload.ConnectType', md.CONNECT_TYPE],
      ['ClientPayload.ConnectReason', md.CONNECT_REASON],
      ['ClientPayload.UserAgent.Platform', md.USER_AGENT_PLATFORM],
      ['ClientPayload.UserAgent.ReleaseChannel', md.RELEASE_CHANNEL],
      ['ClientPayload.WebInfo.WebSubPlatform', md.WEB_SUB_PLATFORM],
      ['DeviceProps.PlatformType', md.DEVICE_PLATFORM_TYPE],
      ['ADVEncryptionType', md.ADV_ENCRYPTION_TYPE],
      ['ProtocolMessage.Type', md.PROTOCOL_MESSAGE_TYPE],
      ['HistorySyncType', md.HISTORY_SYNC_TYPE],
    ];
    for (const [name, constants] of pairs) {
      const values = md.MD_PROTO_ROOT.lookupEnum(`walink.md.${name}`).values;
      for (const [key, value] of Object.entries(constants)) expect(values[key], `${name}.${key}`).toBe(value);
    }
  });

  it('media messages and the phone bootstrap messages round-trip', () => {
    const media = {
      url: 'https://mmg.whatsapp.net/d/f/abc.enc',
      directPath: '/v/t62/abc.enc',
      mediaKey: new Uint8Array(32).fill(1),
      fileSha256: new Uint8Array(32).fill(2),
      fileEncSha256: new Uint8Array(32).fill(3),
      fileLength: 123456,
      mimetype: 'image/jpeg',
      mediaKeyTimestamp: 1767225600,
    };
    const messages: md.Message[] = [
      { conversation: 'héllo' },
      { extendedTextMessage: { text: 'see https://example.org', matchedText: 'https://example.org' } },
      { imageMessage: { ...media, caption: 'a cat', width: 640, height: 480 } },
      { videoMessage: { ...media, mimetype: 'video/mp4', seconds: 12, caption: 'clip', gifPlayback: false } },
      { audioMessage: { ...media, mimetype: 'audio/ogg; codecs=opus', seconds: 3, ptt: true } },
      {
        documentMessage: {
          ...media,
          mimetype: 'application/pdf',
          fileName: 'a.pdf',
          pageCount: 2,
          caption: 'doc',
        },
      },
      {
        protocolMessage: {
          type: md.PROTOCOL_MESSAGE_TYPE.HISTORY_SYNC_NOTIFICATION,
          historySyncNotification: {
            syncType: md.HISTORY_SYNC_TYPE.NON_BLOCKING_DATA,
            chunkOrder: 1,
            progress: 100,
          },
        },
      },
      {
        protocolMessage: {
          type: md.PROTOCOL_MESSAGE_TYPE.APP_STATE_SYNC_KEY_SHARE,
          appStateSyncKeyShare: {
            keys: [
              {
                keyId: { keyId: Uint8Array.of(0, 0, 0, 0, 1, 2) },
                keyData: {
                  keyData: new Uint8Array(32).fill(9),
                  fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] },
                  timestamp: 1767225600000,
                },
              },
            ],
          },
        },
      },
    ];
    for (const message of messages) {
      expect(md.decodeMessage(md.encodeMessage(message))).toEqual(message);
    }
  });

  it('ClientPayload round-trips what a companion sends', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            username: fc.integer({ min: 1, max: 999_999_999_999_999 }),
            device: fc.integer({ min: 0, max: 99 }),
            passive: fc.boolean(),
            pull: fc.boolean(),
            pushName: fc.string(),
            lidDbMigrated: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
        (fields) => {
          const payload: md.ClientPayload = {
            ...fields,
            userAgent: {
              platform: md.USER_AGENT_PLATFORM.WEB,
              appVersion: { primary: 2, secondary: 3000, tertiary: 1 },
            },
          };
          expect(md.decodeClientPayload(md.encodeClientPayload(payload))).toEqual(payload);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('malformed bytes are CodecError BAD_PROTO, never another throw', () => {
    expect(() => md.decodeClientPayload(Uint8Array.of(0x0a, 0x05, 1))).toThrow(CodecError);
    expect(() => md.encodeClientPayload({ username: 'x' } as never)).toThrow(CodecError);
    expect(() => md.decodeMessage('nope' as never)).toThrow(CodecError);
    const decoders = [
      md.decodeHandshakeMessage,
      md.decodeCertChain,
      md.decodeClientPayload,
      md.decodeDeviceProps,
      md.decodeAdvSignedDeviceIdentityHmac,
      md.decodeMessage,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(decoders.length - 1), (bytes, which) => {
        try {
          decoders[which]!(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
          expect((error as CodecError).code).toBe('BAD_PROTO');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
