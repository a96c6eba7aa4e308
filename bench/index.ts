// `npm run -s bench [area…] [--out file.json]`: runs each area's benchmark and prints one JSON document on
// stdout (and into the file with --out, which `npm run bench:table` turns into the README's table). Progress
// goes to stderr so the JSON stays machine-readable.
import { existsSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const AREAS = [
  'crypto',
  'codec',
  'md-codec',
  'session',
  'media',
  'serve',
  'md',
  'md-session',
  'cli',
] as const;

type Bench = { run(): Promise<Record<string, unknown>> };

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outFile = outAt >= 0 ? args[outAt + 1] : undefined;
if (outAt >= 0 && !outFile) {
  console.error('bench: --out needs a file name');
  process.exit(2);
}
const wanted = outAt >= 0 ? args.filter((_, i) => i !== outAt && i !== outAt + 1) : args;
const areas = wanted.length > 0 ? AREAS.filter((a) => wanted.includes(a)) : AREAS;
const unknown = wanted.filter((a) => !(AREAS as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`bench: unknown area(s) ${unknown.join(', ')}; known: ${AREAS.join(', ')}`);
  process.exit(2);
}

// The load when the run started and ended: on a shared machine it says how much the figures can be trusted
// (ratios measured interleaved in one run suffer least).
const loadAtStart = loadavg().map((l) => +l.toFixed(2));
const results: Record<string, unknown> = {};
for (const area of areas) {
  const file = fileURLToPath(new URL(`./${area}.ts`, import.meta.url));
  if (!existsSync(file)) {
    results[area] = { skipped: 'no benchmark for this area yet' };
    continue;
  }
  console.error(`bench: ${area}…`);
  const started = performance.now();
  try {
    const mod = (await import(`./${area}.ts`)) as Bench;
    results[area] = {
      ...(await mod.run()),
      elapsedSeconds: +((performance.now() - started) / 1000).toFixed(1),
    };
  } catch (error) {
    results[area] = { error: error instanceof Error ? error.message : String(error) };
    process.exitCode = 1;
  }
}

const machine = {
  node: process.version,
  arch: arch(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  date: new Date().toISOString().slice(0, 10),
  loadAverage: { start: loadAtStart, end: loadavg().map((l) => +l.toFixed(2)) },
};
const text = JSON.stringify({ machine, results }, null, 2);
if (outFile) writeFileSync(outFile, `${text}\n`);
console.log(text);
