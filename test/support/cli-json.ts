// `walink start --json` as a test runs it: a child process whose stdout is JSON lines, with a bounded
// wait for the first line that matches, and a kill after a deadline so no child outlives its test.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { walinkArgs } from './compiled.ts';

export type Line = Record<string, unknown> & { type: string };

export interface JsonRun {
  child: ChildProcess;
  lines: Line[];
  /** The first line, from the start, that matched when it arrived (rejects after timeoutMs, naming what was seen). */
  next(predicate: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
  exit(): Promise<number | null>;
}

export interface JsonRunOptions {
  /** Keep stdin open for the prompt's commands. */
  stdin?: boolean;
  /** The child is SIGKILLed after this long whatever it does. */
  killAfterMs: number;
  /** next()'s deadline when it is not given one. */
  waitMs: number;
}

/** Runs `walink <args…>` (args include the command and `--json`). */
export function runJsonLines(args: string[], options: JsonRunOptions): JsonRun {
  const child = spawn(process.execPath, [...walinkArgs(), ...args], {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    lines.push(JSON.parse(text) as Line);
    for (const wake of [...waiters]) wake();
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  child.on('exit', () => clearTimeout(killer));
  return {
    child,
    lines,
    next(predicate, timeoutMs = options.waitMs) {
      // Each line is judged once, as it arrives: a predicate that reads other lines (the states so far)
      // sees what had arrived with it, not what came later.
      let from = 0;
      return new Promise((resolve, reject) => {
        const check = () => {
          for (; from < lines.length; from++) {
            if (!predicate(lines[from]!)) continue;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(lines[from]!);
            return;
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = lines.map((l) => l.type).join(',');
          reject(new Error(`no matching line within ${timeoutMs} ms; saw ${seen} ${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    exit: () => exited,
  };
}
