// Diagrams from a machine's structure: Mermaid (for the README) and Graphviz DOT (compiled to SVG for
// the inspector, whose nodes carry `state:<path>` ids so the page can highlight active states).
// Targetless transitions (actions only) change no state and are left out; transitions between the
// same states are drawn as one edge listing every trigger.
import {
  initialLeaf,
  type MachineStructure,
  type StateInfo,
  type TransitionInfo,
  transitionLabel,
} from './structure.ts';

interface Edge {
  source: string;
  target: string;
  labels: string[];
  transitionIds: string[];
}

/** `login.result [status(401) | tosBlocked]`: one label per trigger; an unguarded one needs no guards. */
function edgeLabels(transitions: TransitionInfo[]): string[] {
  const guardsByTrigger = new Map<string, { trigger: TransitionInfo; guards: string[] | null }>();
  for (const t of transitions) {
    const key = transitionLabel({ trigger: t.trigger, guard: null });
    const entry = guardsByTrigger.get(key) ?? { trigger: t, guards: [] };
    if (t.guard === null) entry.guards = null;
    else if (entry.guards && !entry.guards.includes(t.guard)) entry.guards.push(t.guard);
    guardsByTrigger.set(key, entry);
  }
  return [...guardsByTrigger].map(([trigger, { guards }]) =>
    guards && guards.length > 0 ? `${trigger} [${guards.join(' | ')}]` : trigger,
  );
}

/** One edge per (source, target), in the order the machine declares them. */
export function diagramEdges(structure: MachineStructure): Edge[] {
  const groups = new Map<string, { source: string; target: string; transitions: TransitionInfo[] }>();
  for (const transition of structure.transitions) {
    for (const target of transition.targets) {
      const key = `${transition.source}\u0000${target}`;
      const group = groups.get(key) ?? { source: transition.source, target, transitions: [] };
      group.transitions.push(transition);
      groups.set(key, group);
    }
  }
  return [...groups.values()].map(({ source, target, transitions }) => ({
    source,
    target,
    labels: edgeLabels(transitions),
    transitionIds: transitions.map((t) => t.id),
  }));
}

function byPath(structure: MachineStructure): Map<string, StateInfo> {
  return new Map(structure.states.map((s) => [s.path, s]));
}

/** The deepest state that contains both paths (the root is ''). */
function commonAncestor(a: string, b: string): string {
  const left = a ? a.split('.') : [];
  const right = b ? b.split('.') : [];
  const shared: string[] = [];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) break;
    shared.push(left[i]!);
  }
  // An edge between a state and its own descendant belongs to the state's parent.
  const joined = shared.join('.');
  if (joined === a || joined === b) return shared.slice(0, -1).join('.');
  return joined;
}

// ---------------------------------------------------------------------------------------------- Mermaid

/** Mermaid ids: a state's key when no other state shares it, else its path with underscores. */
function mermaidIds(structure: MachineStructure): Map<string, string> {
  const counts = new Map<string, number>();
  for (const s of structure.states) counts.set(s.key, (counts.get(s.key) ?? 0) + 1);
  const ids = new Map<string, string>();
  for (const s of structure.states) {
    ids.set(s.path, counts.get(s.key) === 1 ? s.key : s.path.replaceAll('.', '_'));
  }
  return ids;
}

/** Mermaid's label text ends at a newline and treats ';' and '#' specially. */
function mermaidText(text: string): string {
  return text.replace(/[;#\n]/g, ' ');
}

export function toMermaid(structure: MachineStructure): string {
  const states = byPath(structure);
  const ids = mermaidIds(structure);
  const edges = diagramEdges(structure);
  const edgesByScope = new Map<string, Edge[]>();
  for (const edge of edges) {
    const scope = commonAncestor(edge.source, edge.target);
    const list = edgesByScope.get(scope) ?? [];
    list.push(edge);
    edgesByScope.set(scope, list);
  }
  const lines = ['stateDiagram-v2'];

  const writeBody = (state: StateInfo, indent: string) => {
    if (state.kind === 'parallel') {
      state.children.forEach((childPath, index) => {
        if (index > 0) lines.push(`${indent}--`);
        writeState(states.get(childPath)!, indent);
      });
    } else {
      if (state.initial) lines.push(`${indent}[*] --> ${ids.get(state.initial)}`);
      for (const childPath of state.children) writeState(states.get(childPath)!, indent);
    }
    for (const edge of edgesByScope.get(state.path) ?? []) {
      const label = mermaidText(edge.labels.join(', '));
      lines.push(`${indent}${ids.get(edge.source)} --> ${ids.get(edge.target)} : ${label}`);
    }
  };

  const writeState = (state: StateInfo, indent: string) => {
    const id = ids.get(state.path)!;
    if (state.children.length === 0) {
      if (id !== state.key) lines.push(`${indent}state "${state.key}" as ${id}`);
      else lines.push(`${indent}${id}`);
      return;
    }
    lines.push(`${indent}state ${id} {`);
    writeBody(state, `${indent}  `);
    lines.push(`${indent}}`);
  };

  writeBody(states.get('')!, '  ');
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------------------------------------- DOT

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The SVG id of the edge that draws the transitions from `source` to `target` (the inspector lights it). */
export function edgeId(edge: { source: string; target: string }): string {
  return `edge:${edge.source}~${edge.target}`;
}

export interface DotOptions {
  /** Atomic states drawn in one rank (a column, left to right): e.g. where a session comes to rest. */
  sameRank?: readonly string[];
}

/** Graphviz: clusters for compound and parallel states (dashed regions), a dot for each initial state. */
export function toDot(structure: MachineStructure, options: DotOptions = {}): string {
  const states = byPath(structure);
  const clusterOf = (path: string) => dotString(`cluster_${path}`);
  const sameRank = (options.sameRank ?? []).filter((path) => states.get(path)?.children.length === 0);
  const lines = [
    `digraph ${dotString(structure.id)} {`,
    `  compound=true; rankdir=LR; nodesep=0.35; ranksep=0.45;${sameRank.length > 0 ? ' newrank=true;' : ''}`,
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5b6675", fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9, color="#5b6675", fontcolor="#3b4452"];',
  ];
  const initialDot = (path: string) => dotString(`${path || '(root)'}.__initial`);

  const writeState = (state: StateInfo, indent: string) => {
    if (state.children.length === 0) {
      lines.push(
        `${indent}${dotString(state.path)} [id=${dotString(`state:${state.path}`)}, label=${dotString(state.key)}];`,
      );
      return;
    }
    const isRegion = states.get(state.parent ?? '')?.kind === 'parallel';
    lines.push(`${indent}subgraph ${clusterOf(state.path)} {`);
    lines.push(
      `${indent}  id=${dotString(`state:${state.path}`)}; label=${dotString(
        state.kind === 'parallel' ? `${state.key} (parallel)` : state.key,
      )}; style=${isRegion ? '"dashed,rounded"' : '"rounded"'}; color="#8a94a3"; fontname="Helvetica"; fontsize=11;`,
    );
    writeChildren(state, `${indent}  `);
    lines.push(`${indent}}`);
  };

  const writeChildren = (state: StateInfo, indent: string) => {
    if (state.initial) {
      lines.push(`${indent}${initialDot(state.path)} [shape=point, width=0.1, label=""];`);
    }
    for (const child of state.children) writeState(states.get(child)!, indent);
  };

  const root = states.get('')!;
  writeChildren(root, '  ');

  const endpoint = (path: string, side: 'tail' | 'head') => {
    const state = states.get(path)!;
    if (state.children.length === 0) return { node: dotString(path), attr: '' };
    return {
      node: dotString(initialLeaf(states, path)),
      attr: `${side === 'tail' ? 'ltail' : 'lhead'}=${clusterOf(path)}`,
    };
  };

  for (const state of structure.states) {
    if (!state.initial) continue;
    const head = endpoint(state.initial, 'head');
    lines.push(`  ${initialDot(state.path)} -> ${head.node}${head.attr ? ` [${head.attr}]` : ''};`);
  }
  for (const edge of diagramEdges(structure)) {
    const tail = endpoint(edge.source, 'tail');
    const head = endpoint(edge.target, 'head');
    // Graphviz cannot clip an edge at a cluster that contains its other end (a self-loop on a cluster).
    const attrs = [
      `id=${dotString(edgeId(edge))}`,
      `label=${dotString(edge.labels.join('\n'))}`,
      ...(tail.attr && !edge.target.startsWith(`${edge.source}.`) && edge.source !== edge.target
        ? [tail.attr]
        : []),
      ...(head.attr && !edge.source.startsWith(`${edge.target}.`) && edge.source !== edge.target
        ? [head.attr]
        : []),
    ];
    lines.push(`  ${tail.node} -> ${head.node} [${attrs.join(', ')}];`);
  }
  if (sameRank.length > 0)
    lines.push(`  { rank=same; ${sameRank.map((p) => `${dotString(p)};`).join(' ')} }`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
