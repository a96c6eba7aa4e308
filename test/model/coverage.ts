// The coverage report the model suites share: the states a machine reached and the transitions it took
// (measured by XState inspection into a Coverage), against its structure and the suite's list of the
// transitions it cannot take (each with its reason), written to test-artifacts/ and summed up in one line.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AnyStateMachine } from 'xstate';
import { describeMachine } from '../../machines/index.ts';

export interface Coverage {
  states: Set<string>;
  transitions: Set<string>;
}

export function newCoverage(): Coverage {
  return { states: new Set(), transitions: new Set() };
}

export interface CoverageReportOptions {
  machine: AnyStateMachine;
  coverage: Coverage;
  /** Transition id → why the suite cannot take it. */
  unreachable: Record<string, string>;
  paths: number;
  /** The steps of all paths; when given it is reported, and the line names the paths too. */
  steps?: number;
  /** test-artifacts/<file>. */
  file: string;
  /** The line's first words ("model coverage"). */
  label: string;
}

export function coverageReport(options: CoverageReportOptions) {
  const { coverage, unreachable } = options;
  const structure = describeMachine(options.machine);
  const states = structure.states.filter((s) => s.path !== '').map((s) => s.path);
  const transitions = structure.transitions.map((t) => t.id);
  // A state is reached when a snapshot showed it or a taken transition entered it (eventless
  // transitions pass through states like `online.pairing` or `restarting` within one macrostep, without a
  // snapshot).
  const reached = new Set(coverage.states);
  for (const transition of structure.transitions) {
    if (!coverage.transitions.has(transition.id)) continue;
    for (const target of transition.targets) {
      const parts = target.split('.');
      for (let i = 1; i <= parts.length; i++) reached.add(parts.slice(0, i).join('.'));
    }
  }
  const missedStates = states.filter((s) => !reached.has(s));
  const missedTransitions = transitions.filter((t) => !coverage.transitions.has(t));
  const explained = missedTransitions.filter((t) => unreachable[t]);
  const unexplained = missedTransitions.filter((t) => !unreachable[t]);
  const result = {
    paths: options.paths,
    ...(options.steps !== undefined ? { steps: options.steps } : {}),
    states: { total: states.length, reached: states.length - missedStates.length, missed: missedStates },
    transitions: {
      total: transitions.length,
      taken: transitions.length - missedTransitions.length,
      percent: Math.round((1000 * (transitions.length - missedTransitions.length)) / transitions.length) / 10,
      unreachable: Object.fromEntries(explained.map((t) => [t, unreachable[t]])),
      missed: unexplained,
    },
    // An exception that the run did take is no longer an exception: say so.
    takenDespiteExplanation: Object.keys(unreachable).filter((t) => coverage.transitions.has(t)),
  };
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync(`test-artifacts/${options.file}`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `${options.label}: ${options.steps !== undefined ? `${result.paths} paths, ` : ''}` +
      `${result.states.reached}/${result.states.total} states, ` +
      `${result.transitions.taken}/${result.transitions.total} transitions (${result.transitions.percent}%), ` +
      `${explained.length} explained as unreachable, ${unexplained.length} missed; test-artifacts/${options.file}`,
  );
  return result;
}
