export { connectionMachine, MAX_REREFS } from './connection-machine.ts';
export { type FaultRule, STEPS, type Step } from './faults.ts';
export { DEFAULT_PHONE, type ScanAnswer, scanAsPhone } from './phone-client.ts';
export { type Emulator, type EmulatorOptions, startEmulator } from './server.ts';
