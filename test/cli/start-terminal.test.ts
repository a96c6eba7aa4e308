// `walink start` in text mode, as a person sees it: in a log file (no terminal) and in an 80×24
// terminal (a pseudo-terminal from util-linux's `script`, which every Debian system has).

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { qrArt } from '../../cli/index.ts';
import { walinkArgs } from '../support/compiled.ts';
import { tempDir } from '../support/media.ts';
import { http } from '../support/raw-client.ts';

interface Running {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exit: Promise<number | null>;
}

function watch(child: ChildProcess): Running {
  let text = '';
  const waiters = new Set<() => void>();
  const take = (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  };
  // Decoded per stream, so a half block split across two reads is not two broken characters.
  child.stdout!.setEncoding('utf8').on('data', take);
  child.stderr!.setEncoding('utf8').on('data', take);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.on('exit', () => clearTimeout(killer));
  return {
    child,
    output: () => text,
    exit,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (!match) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms in:\n${text}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

// The scan command the hint prints: its body is the JSON to POST.
const SCAN_HINT = /scan it: curl -X POST (http:\/\/\S+)\/phones\/(\d+)\/scan -H '[^']+' -d '(\{[^']+\})'/;

describe('walink start in text mode', () => {
  let dir: ReturnType<typeof tempDir>;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = tempDir('walink-start-text-');
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    dir.remove();
  });

  it('into a file: no ANSI codes, and --no-auto-scan prints a scan command that works as printed', async () => {
    const child = spawn(
      process.execPath,
      [...walinkArgs(), 'start', '--session', join(dir.path, 'session.json'), '--no-auto-scan'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } },
    );
    children.push(child);
    const run = watch(child);
    const [, base, phone, body] = await run.waitFor(SCAN_HINT);
    const { qr } = JSON.parse(body!) as { qr: string };
    expect(qr).toMatch(/^[^,]+,[^,]+,[^,]+$/);
    // The whole code is in the log too, as plain half blocks.
    expect(run.output()).toContain(qrArt(qr, { color: false }).join('\n'));
    expect((await http(base!, 'POST', `/phones/${phone}/scan`, { qr })).status).toBe(200);
    await run.waitFor(/state {5}online\.ready/);
    expect(run.output()).not.toContain('\x1b');
    child.kill('SIGINT');
    expect(await run.exit).toBe(0);
  }, 30_000);

  it('in an 80×24 terminal: the QR code is the whole last screen, and `help` lists the commands', async () => {
    const command = [
      'stty rows 24 cols 80;',
      `exec ${process.execPath} ${walinkArgs().join(' ')} start --session ${join(dir.path, 'session.json')} --no-auto-scan`,
    ].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '', TERM: 'xterm' },
    });
    children.push(child);
    const run = watch(child);
    const [, base, phone, body] = await run.waitFor(SCAN_HINT);
    const { qr } = JSON.parse(body!) as { qr: string };
    const rows = qrArt(qr, { color: true });
    await run.waitFor(new RegExp(literal(rows.at(-1)!)));
    // What a 24-row screen shows is the last 24 lines: they end with the whole code, top to bottom (22
    // or 24 rows: the QR version depends on how the text's characters encode).
    expect(rows.length).toBeLessThanOrEqual(24);
    const screen = run.output().replace(/\r/g, '').split('\n').slice(-24);
    expect(screen.slice(-rows.length)).toEqual(rows);

    child.stdin!.write('help\n');
    for (const usage of ['send <jid> <text>', 'logout', 'restart', 'takeover', 'quit', 'help']) {
      await run.waitFor(new RegExp(`\\d {4}${literal(usage)} +\\S`));
    }
    child.stdin!.write('frobnicate\n');
    await run.waitFor(/unknown command frobnicate; type "help" for the list/);

    expect((await http(base!, 'POST', `/phones/${phone}/scan`, { qr })).status).toBe(200);
    await run.waitFor(/ready {5}as \d+@c\.us/);
    child.stdin!.write('quit\n');
    expect(await run.exit).toBe(0);
  }, 30_000);
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
