// A machine's definition as plain data: its states (nesting, kind, initial child) and every transition
// (event, delay or eventless; guard; targets). Diagrams, the inspector and the coverage report all read
// this, so they agree with each other and with the machine. Pure: it only walks the StateNodes.
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface StateInfo {
  /** Dot path below the root: `online.qr.showing` ('' is the root). */
  path: string;
  key: string;
  kind: StateKind;
  parent: string | null;
  /** Path of the initial child of a compound state. */
  initial: string | null;
  children: string[];
  description?: string;
}

export type Trigger =
  | { kind: 'event'; event: string }
  | { kind: 'after'; delay: string }
  | { kind: 'always' };

export interface TransitionInfo {
  /** Stable and unique: `<source> <trigger>#<n>` where n counts candidates for that trigger. */
  id: string;
  source: string;
  trigger: Trigger;
  /** Guard as written: `restoring`, `status(200)`; null when unguarded. */
  guard: string | null;
  /** Target paths; empty for a targetless transition (actions only). */
  targets: string[];
  reenter: boolean;
  /** The XState event type that takes it (`xstate.after.…` for delays, '' for eventless). */
  eventType: string;
}

export interface MachineStructure {
  id: string;
  states: StateInfo[];
  transitions: TransitionInfo[];
}

const AFTER_PREFIX = 'xstate.after.';

function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

function guardLabel(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'guard';
  const { type, params } = guard as { type?: string; params?: unknown };
  if (params && typeof params === 'object') return `${type}(${Object.values(params).join(', ')})`;
  return type ?? 'guard';
}

function triggerLabel(trigger: Trigger): string {
  if (trigger.kind === 'event') return trigger.event;
  if (trigger.kind === 'after') return `after ${trigger.delay}`;
  return 'always';
}

/** A short label: `login.result [status(200)]`, `after qrRefresh`, `always [restoring]`. */
export function transitionLabel(transition: Pick<TransitionInfo, 'trigger' | 'guard'>): string {
  const base = triggerLabel(transition.trigger);
  return transition.guard ? `${base} [${transition.guard}]` : base;
}

/** What takes a node's transitions of `eventType`: '' is eventless, `xstate.after.<delay>.<id>` a delay. */
function triggerOf(node: AnyStateNode, eventType: string): Trigger {
  if (eventType === '') return { kind: 'always' };
  const delay = node.after.find((after) => after.eventType === eventType)?.delay;
  if (delay !== undefined) return { kind: 'after', delay: String(delay) };
  if (eventType.startsWith(AFTER_PREFIX))
    return { kind: 'after', delay: eventType.slice(AFTER_PREFIX.length) };
  return { kind: 'event', event: eventType };
}

/** The id both the structure and the inspection events use: `<source> <trigger>#<candidate index>`. */
function transitionId(source: string, trigger: Trigger, index: number): string {
  return `${source || '(root)'} ${triggerLabel(trigger)}#${index}`;
}

interface RawTransition {
  target?: readonly AnyStateNode[];
  guard?: unknown;
  reenter?: boolean;
}

export function describeMachine(machine: AnyStateMachine): MachineStructure {
  const states: StateInfo[] = [];
  const transitions: TransitionInfo[] = [];

  const add = (node: AnyStateNode, eventType: string, list: readonly RawTransition[]) => {
    const source = pathOf(node);
    const trigger = triggerOf(node, eventType);
    list.forEach((t, index) => {
      transitions.push({
        id: transitionId(source, trigger, index),
        source,
        trigger,
        guard: guardLabel(t.guard),
        targets: (t.target ?? []).map(pathOf),
        reenter: Boolean(t.reenter),
        eventType,
      });
    });
  };

  const visit = (node: AnyStateNode) => {
    const path = pathOf(node);
    const children = Object.values(node.states) as AnyStateNode[];
    const initialTarget = node.type === 'compound' ? node.initial?.target?.[0] : undefined;
    states.push({
      path,
      key: node.key,
      kind: node.type as StateKind,
      parent: node.parent ? pathOf(node.parent) : null,
      initial: initialTarget ? pathOf(initialTarget) : null,
      children: children.map(pathOf),
      ...(node.description ? { description: node.description } : {}),
    });
    for (const [eventType, list] of node.transitions) add(node, eventType, list as readonly RawTransition[]);
    if (node.always) add(node, '', node.always as readonly RawTransition[]);
    for (const child of children) visit(child);
  };

  visit(machine.root);
  return { id: machine.id, states, transitions };
}

/** The atomic leaf a compound or parallel state enters first (a diagram edge needs a node to end on). */
export function initialLeaf(byPath: ReadonlyMap<string, StateInfo>, path: string): string {
  let state = byPath.get(path);
  while (state && state.children.length > 0) {
    const next: string | undefined =
      state.kind === 'parallel' ? state.children[0] : (state.initial ?? undefined);
    if (!next) break;
    state = byPath.get(next);
  }
  return state?.path ?? path;
}

/** Every active state's path for a state value: `{online: 'qr'}` → ['online', 'online.qr']. */
export function activePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') {
    const path = prefix ? `${prefix}.${value}` : value;
    return [path];
  }
  if (!value || typeof value !== 'object') return [];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    paths.push(path, ...activePaths(child, path));
  }
  return paths;
}

/** Our id for a transition XState took (`@xstate.microstep` inspection events carry them). */
export function transitionIdOf(taken: {
  source: AnyStateNode;
  eventType: string;
  guard?: unknown;
  target?: readonly AnyStateNode[];
}): string {
  const candidates = (
    taken.eventType === '' ? taken.source.always : taken.source.transitions.get(taken.eventType)
  ) as readonly unknown[] | undefined;
  const index = candidates ? candidates.indexOf(taken) : -1;
  return transitionId(pathOf(taken.source), triggerOf(taken.source, taken.eventType), index);
}
