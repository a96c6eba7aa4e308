import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';
import { machineDiagram } from '../../cli/index.ts';
import {
  describeMachine,
  diagramEdges,
  mdSessionMachine,
  sessionMachine,
  toDot,
  toMermaid,
} from '../../machines/index.ts';
import {
  DiagramBlockError,
  README_DIAGRAMS,
  readmeDiagram,
  withDiagram,
} from '../../scripts/readme-diagram.ts';
import { renderSvg } from '../../service/index.ts';

// A small machine with every feature the generators handle: nesting, a parallel state, guards with and
// without params, a delay, an eventless transition, a targetless one, and a key used twice.
const toy = createMachine({
  id: 'toy',
  initial: 'idle',
  states: {
    idle: { on: { GO: { target: 'busy', guard: { type: 'ok', params: { n: 1 } } as never }, POKE: {} } },
    busy: {
      initial: 'idle',
      after: { 500: 'done' },
      states: {
        idle: { on: { NEXT: 'both' } },
        both: {
          type: 'parallel',
          states: { left: { initial: 'a', states: { a: {} } }, right: { initial: 'b', states: { b: {} } } },
        },
      },
    },
    done: { always: { target: 'idle', guard: 'again' as never } },
  },
});

const TOY_MERMAID = `stateDiagram-v2
  [*] --> idle
  idle
  state busy {
    [*] --> busy_idle
    state "idle" as busy_idle
    state both {
      state left {
        [*] --> a
        a
      }
      --
      state right {
        [*] --> b
        b
      }
    }
    busy_idle --> both : NEXT
  }
  done
  idle --> busy : GO [ok(1)]
  busy --> done : after 500
  done --> idle : always [again]
`;

/** Our states and eventful transitions against xstate/graph's, for one machine. */
function compareWithGraph(machine: typeof sessionMachine | typeof mdSessionMachine) {
  const structure = describeMachine(machine);
  const graph = toDirectedGraph(machine);
  const graphStates: string[] = [];
  const graphEdges: string[] = [];
  const walk = (node: ReturnType<typeof toDirectedGraph>) => {
    graphStates.push(node.stateNode.path.join('.'));
    for (const edge of node.edges) {
      graphEdges.push(
        `${edge.source.path.join('.')} ${edge.transition.eventType} ${edge.target.path.join('.')}`,
      );
    }
    node.children.forEach(walk);
  };
  walk(graph);
  expect(structure.states.map((s) => s.path).sort()).toEqual(graphStates.sort());
  // xstate/graph draws a targetless transition as an edge back to its source, and leaves eventless
  // (always) transitions out; those are checked by name.
  const eventful = structure.transitions.filter((t) => t.trigger.kind !== 'always');
  const ours = eventful.flatMap((t) =>
    (t.targets.length ? t.targets : [t.source]).map((target) => `${t.source} ${t.eventType} ${target}`),
  );
  expect(ours.sort()).toEqual(graphEdges.sort());
  expect(new Set(structure.transitions.map((t) => t.id)).size).toBe(structure.transitions.length);
  return structure.transitions
    .filter((t) => t.trigger.kind === 'always')
    .map((t) => `${t.source} [${t.guard}] ${t.targets}`);
}

describe('machine structure', () => {
  it('finds every state and transition that xstate/graph finds', () => {
    expect(compareWithGraph(sessionMachine)).toEqual([
      'online.pairing [pairingKeysValid] online.ready',
      'online.pairing [null] failed',
      'loggingInAgain [firstTimeFor405] online',
      'loggingInAgain [null] failed',
      'usingPreviousTokens [null] online',
    ]);
  });

  it('finds every state and transition of the MD machine that xstate/graph finds', () => {
    expect(compareWithGraph(mdSessionMachine)).toEqual([
      'online.pairing.qr.exhausted [noCodePending] refsExhausted',
      'online.pairing.code.idle [phoneRequested] online.pairing.code.pending',
      'online.pairRejected [null] pairFailed',
      'restarting [null] online',
    ]);
  });

  it('labels delays, guards and eventless transitions by name', () => {
    const labels = describeMachine(sessionMachine).transitions.map((t) => [t.id, t.guard]);
    expect(labels).toContainEqual(['online.qr.showing after qrRefresh#0', 'qrBudgetLeft']);
    expect(labels).toContainEqual(['online.qr.showing after qrRefresh#1', null]);
    expect(labels).toContainEqual(['online.loggingIn login.result#0', 'status(200)']);
    expect(labels).toContainEqual(['online.pairing always#0', 'pairingKeysValid']);
  });
});

describe('diagrams', () => {
  it('draws a known machine as exactly the expected Mermaid', () => {
    expect(toMermaid(describeMachine(toy))).toBe(TOY_MERMAID);
  });

  it.each(README_DIAGRAMS)(
    'the README shows the %s machine as the diagram command draws it now',
    async (name) => {
      const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
      expect(
        readmeDiagram(readme, name),
        'README diagram drifted from the machine: run `npm run diagrams`',
      ).toBe(await machineDiagram(name, 'mermaid'));
    },
  );

  it('rewrites only the block between the markers, and says when the markers are missing', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const changed = withDiagram(readme, 'stateDiagram-v2\n  [*] --> x\n');
    expect(readmeDiagram(changed)).toBe('stateDiagram-v2\n  [*] --> x\n');
    expect(withDiagram(changed, readmeDiagram(readme))).toBe(readme);
    expect(() => readmeDiagram('# no diagram here')).toThrow(DiagramBlockError);
    // The second block is its own: rewriting one leaves the other as it was.
    const mdChanged = withDiagram(readme, 'stateDiagram-v2\n  [*] --> y\n', 'md-session');
    expect(readmeDiagram(mdChanged, 'md-session')).toBe('stateDiagram-v2\n  [*] --> y\n');
    expect(readmeDiagram(mdChanged, 'session')).toBe(readmeDiagram(readme, 'session'));
  });

  it.each([
    ['session', sessionMachine],
    ['md-session', mdSessionMachine],
  ] as const)(
    'lays the %s machine out as SVG with an element per state and per edge',
    async (_name, machine) => {
      const structure = describeMachine(machine);
      const svg = await renderSvg(toDot(structure));
      expect(svg.startsWith('<?xml') || svg.startsWith('<svg')).toBe(true);
      for (const state of structure.states.filter((s) => s.path !== '')) {
        expect(svg).toContain(`id="state:${state.path}"`);
      }
      for (const edge of diagramEdges(structure)) {
        expect(svg).toContain(`id="edge:${edge.source}~${edge.target}"`);
      }
    },
  );

  it('reports a DOT syntax error as a typed error', async () => {
    await expect(renderSvg('digraph { a -> }')).rejects.toThrow(/graphviz could not lay out/);
  });
});
