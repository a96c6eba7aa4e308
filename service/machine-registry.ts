// The machines walink can draw and inspect, by name (`walink diagram session`).
import type { AnyStateMachine } from 'xstate';
import { connectionMachine } from '../emulator/index.ts';
import { sessionMachine } from '../machines/legacy/session.ts';

export const MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  /** The client session (machines/legacy/session.ts). */
  session: sessionMachine,
  /** The emulator's per-connection server logic (emulator/legacy/connection-machine.ts). */
  connection: connectionMachine,
};

export function machineNames(): string[] {
  return Object.keys(MACHINES);
}
