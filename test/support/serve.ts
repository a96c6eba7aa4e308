// `walink serve` as a user runs it: a child process; resolves once it prints its address.

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { walinkArgs } from './compiled.ts';

export interface RunningServe {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(): Promise<number | null>;
}

export function startServe(args: string[], timeoutMs = 20_000): Promise<RunningServe> {
  const child = spawn(process.execPath, [...walinkArgs(), 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  child.on('exit', () => clearTimeout(killer));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`walink serve did not start: ${output.join('\n')}`));
    }, timeoutMs);
    void exited.then((code) => reject(new Error(`walink serve exited ${code}: ${output.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const match = /open (http:\/\/[^/\s]+)/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[1]!,
        child,
        output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
