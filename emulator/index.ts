export { connectionMachine, MAX_REREFS } from './legacy/connection-machine.ts';
export type {
  ConnectionContext,
  ConnectionEvent,
  KnownBrowser,
  StepEvent,
  StepInput,
} from './legacy/connection-types.ts';
export { type FaultRule, STEPS, type Step } from './legacy/faults.ts';
export {
  DEFAULT_LATENCY_MS,
  DEFAULT_LEGACY_OPTIONS,
  EmulatorOptionError,
  LATENCY_KINDS,
  type LatencyKind,
  type LegacyOptions,
} from './legacy/options.ts';
export { DEFAULT_PHONE, type ScanAnswer, scanAsPhone } from './legacy/phone-client.ts';
export { StateFileError } from './legacy/world.ts';
export {
  MD_DEFAULTS,
  MD_STEPS,
  MD_WS_PATH,
  type MdFaultRule,
  type MdOptions,
  type MdServer,
  type MdStats,
  type MdStep,
} from './md/index.ts';
export { DEFAULT_MEDIA_LIMITS, type MediaLimits, type PhoneMediaType } from './media-store.ts';
export { type Emulator, type EmulatorOptions, startEmulator } from './server.ts';
