// XState machine definitions (no I/O) and pure readers of them. The legacy session machine's names are
// re-exported here; the multi-device companion's (machines/md/) carry Md names.
export {
  diagramEdges,
  edgeId,
  toDot,
  toMermaid,
} from './diagram.ts';
export * from './legacy/index.ts';
export * from './md/index.ts';
export { SESSION_TAGS, type SessionTag } from './session-tags.ts';
export { stateName } from './state-name.ts';
export {
  activePaths,
  describeMachine,
  initialLeaf,
  type MachineStructure,
  type StateInfo,
  type StateKind,
  type TransitionInfo,
  type Trigger,
  transitionIdOf,
  transitionLabel,
} from './structure.ts';
