// The multi-device effects (docs/protocol-md.md): credentials and their stored form, the persistent
// Signal and app-state key stores, and message decryption.
export {
  MD_CREDENTIAL_CODEC,
  MD_CREDENTIAL_FORMAT_VERSION,
  parseMdRecord,
  serializeMdRecord,
} from './md-credential-codec.ts';
export {
  generateMdCredentials,
  generatePreKeys,
  MAX_PRE_KEY_ID,
  MAX_REGISTRATION_ID,
  type MdAppStateKey,
  type MdCredentialRecord,
  type MdCredentials,
  type MdSignalState,
  newMdCredentialRecord,
  SIGNED_PRE_KEY_ID,
} from './md-credentials.ts';
export { AppStateKeyStore, MdDeviceStore, type MdDeviceStoreOptions, MdSignalStore } from './signal-store.ts';
