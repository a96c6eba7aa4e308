// A readable name for where a session machine is: the path of states down to the first parallel
// state (`online.qr.showing`, `online.ready`, `conflict`). Regions inside `ready` change often and
// are not part of the name; the inspector shows them.
import type { StateValue } from 'xstate';

export function stateName(value: StateValue): string {
  const parts: string[] = [];
  let current: StateValue = value;
  while (typeof current === 'object') {
    const keys = Object.keys(current);
    if (keys.length !== 1) break;
    parts.push(keys[0]!);
    current = (current as Record<string, StateValue>)[keys[0]!]!;
  }
  if (typeof current === 'string') parts.push(current);
  return parts.join('.');
}
