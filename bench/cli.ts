// The command line as a user pays for it, from the compiled package (dist/, built first), each figure
// beside its reference measured in the same run:
// - `walink --help` against a bare `node -e 0` (best of 5, interleaved); target ≤ 4×
// - `walink media decrypt` of 256 MiB end to end (process start to exit) against openssl's four passes
//   (best of 3, interleaved); target ≥ 0.9× openssl's speed
// - 1,000 decrypts of 8 KiB files through the CLI one after another, against 1,000 × (node startup + 50 ms)
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandMediaKey } from '../crypto/index.ts';
import { build } from '../scripts/build.ts';
import { round } from './measure.ts';
import { makeSample, opensslPasses } from './media.ts';

const CLI = 'dist/cli/main.js';
const FROM_SOURCE = 'bin/walink.js';
const MIB = 1024 * 1024;

/** Wall-clock seconds of one process, start to exit; it must succeed. */
function timed(command: string, args: string[]): number {
  const started = performance.now();
  const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return seconds;
}

const node = (args: string[]) => timed(process.execPath, args);

/**
 * CPU seconds (user + system) used so far by this process's finished children, from /proc (Linux; null
 * elsewhere). On a machine shared with other work, wall clock includes waiting for a core; CPU does not.
 */
function childrenCpuSeconds(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // After the command name: cutime and cstime are fields 14 and 15 (0-based), in clock ticks of 1/100 s.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** Runs `fn` and returns the CPU seconds its children used, or null where that cannot be read. */
function childCpu(fn: () => void): number | null {
  const before = childrenCpuSeconds();
  fn();
  const after = childrenCpuSeconds();
  return before === null || after === null ? null : after - before;
}
const best = (samples: number[]) => Math.min(...samples);
const ms = (seconds: number) => round(seconds * 1000, 1);

function startup(): Record<string, unknown> {
  const runs = { bare: [] as number[], help: [] as number[], fromSource: [] as number[] };
  const cpu = { bare: 0, help: 0 };
  let cpuKnown = true;
  const add = (key: keyof typeof cpu, used: number | null) => {
    if (used === null) cpuKnown = false;
    else cpu[key] += used;
  };
  for (let i = 0; i < 5; i++) {
    add(
      'bare',
      childCpu(() => runs.bare.push(node(['-e', '0']))),
    );
    add(
      'help',
      childCpu(() => runs.help.push(node([CLI, '--help']))),
    );
    runs.fromSource.push(node([FROM_SOURCE, '--help']));
  }
  const [bare, help, fromSource] = [best(runs.bare), best(runs.help), best(runs.fromSource)];
  return {
    nodeBareMs: ms(bare),
    walinkHelpMs: ms(help),
    ratioToNode: round(help / bare, 2),
    target: '≤ 4× node -e 0',
    met: help / bare <= 4,
    fromSourceHelpMs: ms(fromSource),
    cpu: cpuKnown ? { nodeBareCpuMs: ms(cpu.bare / 5), walinkHelpCpuMs: ms(cpu.help / 5) } : null,
    note: 'best of 5 each, interleaved; walinkHelp is the compiled package (dist/cli/main.js), fromSourceHelp the tsx runner (bin/walink.js) that development and the tests use; cpu: mean user + system time of the 5',
  };
}

function bigDecrypt(dir: string): Record<string, unknown> {
  const sample = makeSample(dir, 256 * MIB);
  const out = join(dir, 'out');
  const args = [
    CLI,
    'media',
    'decrypt',
    '--type',
    'document',
    '--key',
    sample.mediaKey.toString('base64'),
    '--in',
    sample.encPath,
    '--out',
    out,
    '--sha256',
    sample.fileSha256.toString('base64'),
    '--enc-sha256',
    sample.fileEncSha256.toString('base64'),
    '--length',
    String(sample.bytes),
  ];
  const runs: Array<{ walink: number; openssl: number }> = [];
  for (let i = 0; i < 3; i++) {
    runs.push({ walink: node(args), openssl: opensslPasses(sample, `${out}-openssl`) });
    rmSync(out, { force: true });
  }
  for (const path of [sample.plainPath, sample.encPath, sample.ctPath, `${out}-openssl`])
    rmSync(path, { force: true });
  const walink = best(runs.map((r) => r.walink));
  const openssl = best(runs.map((r) => r.openssl));
  return {
    objectMiB: 256,
    walinkSeconds: round(walink, 3),
    opensslSeconds: round(openssl, 3),
    walinkMBps: round(sample.bytes / MIB / walink),
    opensslMBps: round(sample.bytes / MIB / openssl),
    ratioToOpenssl: round(openssl / walink, 2),
    target: '≥ 0.9× openssl',
    met: openssl / walink >= 0.9,
    note: 'best of 3, interleaved; walink: `walink media decrypt` with every check (--sha256, --enc-sha256, --length) from process start to exit, writing the output file; openssl: sha256, HMAC, aes-256-cbc -d to a file, sha256, one after another',
  };
}

/** A small CDN object (ct ‖ mac10) and its plaintext's hashes, as the phone would send them. */
function smallObject(path: string, bytes: number): string[] {
  const mediaKey = randomBytes(32);
  const keys = expandMediaKey(mediaKey, 'document');
  const plain = randomBytes(bytes);
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', keys.macKey).update(keys.iv).update(ct).digest().subarray(0, 10);
  const object = Buffer.concat([ct, mac]);
  writeFileSync(path, object);
  const b64 = (data: Buffer) => data.toString('base64');
  return [
    '--type',
    'document',
    '--key',
    b64(mediaKey),
    '--in',
    path,
    '--sha256',
    b64(createHash('sha256').update(plain).digest()),
    '--enc-sha256',
    b64(createHash('sha256').update(object).digest()),
    '--length',
    String(bytes),
  ];
}

function manySmall(dir: string): Record<string, unknown> {
  const count = Number(process.env.WALINK_BENCH_CLI_DECRYPTS ?? 1000);
  const objects = Array.from({ length: count }, (_, i) => smallObject(join(dir, `small-${i}.enc`), 8 * 1024));
  // Node's own start, measured the same way (spawn, wait for exit) and spread through the loop, one
  // after every 10 decrypts, so a neighbour's burst of work weighs on the reference as on the decrypts.
  const bare: number[] = [];
  let bareCpu: number | null = 0;
  let loopCpu: number | null = 0;
  const sum = (total: number | null, used: number | null) =>
    total === null || used === null ? null : total + used;
  let seconds = 0;
  objects.forEach((options, i) => {
    const started = performance.now();
    loopCpu = sum(
      loopCpu,
      childCpu(() => node([CLI, 'media', 'decrypt', ...options, '--out', join(dir, `small-${i}.out`)])),
    );
    seconds += (performance.now() - started) / 1000;
    if (i % 10 === 9)
      bareCpu = sum(
        bareCpu,
        childCpu(() => bare.push(node(['-e', '0']))),
      );
  });
  const nodeStartup = bare.reduce((a, b) => a + b, 0) / bare.length;
  const budget = count * (nodeStartup + 0.05);
  const cpu =
    bareCpu === null || loopCpu === null
      ? null
      : {
          nodeStartupCpuMs: ms((bareCpu as number) / bare.length),
          perDecryptCpuMs: ms((loopCpu as number) / count),
          overheadPerDecryptCpuMs: ms((loopCpu as number) / count - (bareCpu as number) / bare.length),
        };
  return {
    decrypts: count,
    fileBytes: 8 * 1024,
    seconds: round(seconds, 2),
    perDecryptMs: ms(seconds / count),
    nodeStartupMs: ms(nodeStartup),
    overheadPerDecryptMs: ms(seconds / count - nodeStartup),
    budgetSeconds: round(budget, 2),
    target: `< ${count} × (node startup + 50 ms)`,
    met: seconds < budget,
    cpu,
    note: 'one process per decrypt, one after another, every check on; seconds count the decrypts alone; node startup is the mean of the `node -e 0` spawned the same way after every 10th decrypt; cpu: user + system time of those processes (what waiting for a core on a shared machine does not inflate)',
  };
}

export async function run(): Promise<Record<string, unknown>> {
  console.error('bench: cli: building dist/…');
  await build(false);
  const dir = mkdtempSync(join(tmpdir(), 'walink-bench-cli-'));
  try {
    return { help: startup(), decrypt256MiB: bigDecrypt(dir), decrypt8KiBx1000: manySmall(dir) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
