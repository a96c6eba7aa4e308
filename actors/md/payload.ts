// The ClientPayload of the Noise ClientFinish (docs/protocol-md.md §4): the registration form for a device
// without an identity (§4.2), the login form afterwards (§4.3).
import { createHash } from 'node:crypto';
import { md } from '../../codec/index.ts';
import { beBytes, type X25519KeyPair } from '../../crypto/index.ts';

/** The WA Web version walink announces (§4.1: 2.3000.N). */
export const MD_APP_VERSION = { primary: 2, secondary: 3000, tertiary: 1_019_707_846 } as const;
/** What the phone lists under Linked devices (§4.4). */
export const DEFAULT_DEVICE_OS = 'walink';

/** The keys a registration announces (a subset of MdCredentials). */
export interface RegistrationKeys {
  identityKey: X25519KeyPair;
  signedPreKey: { keyId: number; keyPair: X25519KeyPair; signature: Uint8Array };
  registrationId: number;
}

export interface PayloadOptions {
  /** DeviceProps.os (§4.4). */
  os?: string;
  /** DeviceProps.platformType (§4.4: CHROME 1 … DESKTOP 7); default CHROME. */
  platformType?: number;
}

function versionString(): string {
  return `${MD_APP_VERSION.primary}.${MD_APP_VERSION.secondary}.${MD_APP_VERSION.tertiary}`;
}

/** §4.1: the fields both forms share. */
function common(): md.ClientPayload {
  return {
    userAgent: {
      platform: md.USER_AGENT_PLATFORM.WEB,
      appVersion: { ...MD_APP_VERSION },
      mcc: '000',
      mnc: '000',
      osVersion: '0.1',
      device: 'Desktop',
      osBuildNumber: '0.1',
      releaseChannel: md.RELEASE_CHANNEL.RELEASE,
      localeLanguageIso6391: 'en',
      localeCountryIso31661Alpha2: 'US',
    },
    webInfo: { webSubPlatform: md.WEB_SUB_PLATFORM.WEB_BROWSER },
    connectType: md.CONNECT_TYPE.WIFI_UNKNOWN,
    connectReason: md.CONNECT_REASON.USER_ACTIVATED,
  };
}

/** §4.2: devicePairingData with the 4-byte registration id, the 3-byte signed pre-key id, the build hash. */
export function registrationPayload(keys: RegistrationKeys, options: PayloadOptions = {}): md.ClientPayload {
  return {
    ...common(),
    passive: false,
    pull: false,
    devicePairingData: {
      eRegid: beBytes(keys.registrationId, 4),
      eKeytype: Uint8Array.of(5),
      eIdent: keys.identityKey.publicKey,
      eSkeyId: beBytes(keys.signedPreKey.keyId, 3),
      eSkeyVal: keys.signedPreKey.keyPair.publicKey,
      eSkeySig: keys.signedPreKey.signature,
      buildHash: new Uint8Array(createHash('md5').update(versionString()).digest()),
      deviceProps: md.encodeDeviceProps({
        os: options.os ?? DEFAULT_DEVICE_OS,
        version: { primary: 0, secondary: 1, tertiary: 0 },
        platformType: options.platformType ?? md.DEVICE_PLATFORM_TYPE.CHROME,
        requireFullSync: false,
      }),
    },
  };
}

/** §4.3: the account's user part and the device number, from `user:device@s.whatsapp.net`. */
export function loginPayload(jid: string): md.ClientPayload {
  const parsed = md.parseMdJid(jid);
  if (!/^\d{1,20}$/.test(parsed.user)) throw new TypeError(`a login needs a phone-number JID, not ${jid}`);
  return {
    ...common(),
    username: Number(parsed.user),
    device: parsed.device ?? 0,
    passive: true,
    pull: true,
  };
}
