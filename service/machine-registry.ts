// The machines walink can draw and inspect, by name (`walink diagram session`).
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { connectionMachine } from '../emulator/index.ts';
import { mdSessionMachine, sessionMachine } from '../machines/index.ts';

export const MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  /** The client session (machines/legacy/session.ts). */
  session: sessionMachine,
  /** The multi-device companion (machines/md/md-session.ts). */
  'md-session': mdSessionMachine,
  /** The emulator's per-connection server logic (emulator/legacy/connection-machine.ts). */
  connection: connectionMachine,
};

export function machineNames(): string[] {
  return Object.keys(MACHINES);
}

/** The machine called `name`, or undefined: only the registry's own keys (not `constructor`, `__proto__`). */
export function machineNamed(name: string): AnyStateMachine | undefined {
  return Object.hasOwn(MACHINES, name) ? MACHINES[name] : undefined;
}

/** The paths of a machine's states tagged `resting` (drawn side by side in the inspector). */
export function restingStates(machine: AnyStateMachine): string[] {
  const tagged: string[] = [];
  const visit = (node: AnyStateNode) => {
    if (node.tags.includes('resting')) tagged.push(node.path.join('.'));
    for (const child of Object.values(node.states)) visit(child as AnyStateNode);
  };
  visit(machine.root);
  return tagged;
}
