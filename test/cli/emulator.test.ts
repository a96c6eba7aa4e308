// `walink emulator` as a user runs it: it names both WebSockets and the multi-device certificate root.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { walinkArgs } from '../support/compiled.ts';

it('prints the legacy and multi-device WebSockets and the root key that GET /md/root-key serves', async () => {
  const child = spawn(process.execPath, [...walinkArgs(), 'emulator', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (lines.length === 2) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} after ${JSON.stringify(lines)}`)));
    });
    const legacy =
      /^walink emulator listening on (http:\/\/127\.0\.0\.1:\d+) \(WebSocket ws:\/\/127\.0\.0\.1:\d+\/ws\)$/.exec(
        lines[0]!,
      );
    expect(legacy, lines[0]).not.toBeNull();
    const mdLine =
      /^multi-device WebSocket (ws:\/\/127\.0\.0\.1:\d+\/ws\/chat), certificate root ([0-9a-f]{64})$/.exec(
        lines[1]!,
      );
    expect(mdLine, lines[1]).not.toBeNull();
    const root = (await (await fetch(`${legacy![1]}/md/root-key`)).json()) as { publicKey: string };
    expect(root.publicKey).toBe(mdLine![2]);
  } finally {
    clearTimeout(killer);
    child.kill('SIGTERM');
  }
});
