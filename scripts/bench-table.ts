// `npm run bench:table [-- file.json]`: regenerates the README's performance table from a JSON document of
// `npm run -s bench` (default bench/results.json, which `npm run bench -- --out bench/results.json` writes).
// The table lives between the two markers below in README.md; `benchTable` is pure, so the test checks it on
// a small fixture and checks that the README's table is what bench/results.json gives (no drift).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TABLE_START = '<!-- bench-table:start (npm run bench:table) -->';
export const TABLE_END = '<!-- bench-table:end -->';

type Json = Record<string, unknown>;

function get(doc: unknown, path: string): unknown {
  let value = doc;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Json)[key];
  }
  return value;
}

function num(doc: unknown, path: string): number | undefined {
  const value = get(doc, path);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

const x = (value: number | undefined) => (value === undefined ? '?' : `${value}×`);
const n = (value: number | undefined, unit = '') =>
  value === undefined ? '?' : `${value.toLocaleString('en-US')}${unit}`;

function verdict(value: number | undefined, target: number, atMost = false): string {
  if (value === undefined) return '?';
  const met = atMost ? value <= target : value >= target;
  return met ? 'met' : '**not met**';
}

interface Row {
  what: string;
  figure: string;
  target: string;
  met: string;
}

function perItem(items: unknown, key: string): string {
  if (!items || typeof items !== 'object') return '';
  return Object.entries(items as Record<string, Json>)
    .map(([name, item]) => `${name} ${x(num(item, key))}`)
    .join(', ');
}

function codecRows(codec: unknown): Row[] {
  if (!codec || typeof codec !== 'object' || 'error' in (codec as Json)) return [];
  const ref = String(get(codec, 'reference') ?? 'the public legacy client');
  const decode = num(codec, 'decodeRatioGeomean');
  const encode = num(codec, 'encodeRatioGeomean');
  const frames = num(codec, 'frameRatioGeomean');
  return [
    {
      what: `legacy node decode (+ WebMessageInfo), against \`${ref}\`'s decoder`,
      figure: `**${x(decode)}** geomean (${perItem(get(codec, 'nodes'), 'decodeRatio')})${get(codec, 'measuredSeparately') ? `; these three rows: ${String(get(codec, 'measuredSeparately'))}` : ''}`,
      target: '≥ 3×',
      met: verdict(decode, 3),
    },
    {
      what: `legacy node encode, against \`${ref}\`'s encoder`,
      figure: `**${x(encode)}** geomean (${perItem(get(codec, 'nodes'), 'encodeRatio')})`,
      target: '≥ 10×',
      met: verdict(encode, 10),
    },
    {
      what: `frames verified + decrypted + decoded, against \`${ref}\`'s \`decryptWA\``,
      figure: `**${x(frames)}** geomean (${perItem(get(codec, 'frames'), 'ratio')})`,
      target: '≥ 3×',
      met: verdict(frames, 3),
    },
  ];
}

function mdCodecRows(md: unknown): Row[] {
  if (!md || typeof md !== 'object' || 'error' in (md as Json)) return [];
  const ref = String(get(md, 'reference') ?? 'the public MD client');
  const dict = String(get(md, 'referenceDictionary') ?? 'v2');
  const decode = num(md, `${dict}.decodeRatio`);
  const encode = num(md, `${dict}.encodeRatio`);
  return [
    {
      what: `MD node decode / encode (${dict} dictionary), against \`${ref}\``,
      figure: `**${x(decode)}** / **${x(encode)}** (${n(num(md, `${dict}.decodeMBps`))} / ${n(num(md, `${dict}.encodeMBps`))} MB/s against ${n(num(md, `${dict}.peerDecodeMBps`))} / ${n(num(md, `${dict}.peerEncodeMBps`))})`,
      target: '≥ 3× each',
      met: decode === undefined || encode === undefined ? '?' : verdict(Math.min(decode, encode), 3),
    },
  ];
}

function noiseRows(md: unknown): Row[] {
  const frames = get(md, 'transportFrames');
  if (!frames || typeof frames !== 'object') return [];
  const ratios = Object.entries(frames as Record<string, Json>).map(
    ([size, f]) => [size, num(f, 'ratioToRaw')] as const,
  );
  const worst = Math.min(...ratios.map(([, r]) => r ?? 0));
  return [
    {
      what: 'Noise transport seal + open, against raw `node:crypto` AES-256-GCM',
      figure: `${ratios.map(([size, r]) => `${size} ${x(r)}`).join(', ')}${get(md, 'measuredSeparately') ? ` (${String(get(md, 'measuredSeparately'))})` : ''}`,
      target: '≥ 0.8×',
      met: verdict(worst, 0.8),
    },
  ];
}

function sessionRows(session: unknown): Row[] {
  const rows: Row[] = [];
  const frames = get(session, 'frames');
  if (frames && typeof frames === 'object')
    rows.push({
      what: 'messages through the client protocol and the ready machine (1 / 50 per frame)',
      figure: `${n(num(frames, '1msgPerFrame.messagesPerSecond'))} / ${n(num(frames, '50msgPerFrame.messagesPerSecond'))} messages/s`,
      target: '',
      met: '',
    });
  const restore = get(session, 'restore');
  if (restore && typeof restore === 'object')
    rows.push({
      what: 'restore, socket open → ready (in-process emulator)',
      figure: `median ${n(num(restore, 'medianMs'), ' ms')}, p95 ${n(num(restore, 'p95Ms'), ' ms')}`,
      target: '',
      met: '',
    });
  const scale = get(session, 'scale');
  if (!scale || typeof scale !== 'object') return rows;
  const count = num(scale, 'sessions');
  const rss = num(scale, 'processRssMiBAllReady');
  const capped = get(scale, 'cappedBy');
  const at20k = num(scale, 'rssMiBAt20000ByTheSlope');
  rows.push({
    what: `${n(count)} idle legacy sessions in one process, all ready`,
    figure: `RSS ${n(rss, ' MiB')} (${n(num(scale, 'rssMiBPerSession'), ' MiB')}/session), ${n(num(scale, 'heapPlusExternalKiBPerSession'), ' KiB')}/session of heap + external, ${n(num(scale, 'loginsPerSecond'))} logins/s${capped ? `; capped by ${String(capped)}, ${n(at20k, ' MiB')} at 20,000 by the slope` : ''}; heap used ${n(num(scale, 'heapUsedMiBAllReady'), ' MiB')}${get(session, 'measuredSeparately') ? `; ${String(get(session, 'measuredSeparately'))}` : ''}`,
    target: '20,000 < 1 GB RSS',
    met:
      count !== undefined && count >= 20_000
        ? verdict(rss === undefined ? undefined : (rss * 2 ** 20) / 1e9, 1, true)
        : at20k !== undefined
          ? `${verdict((at20k * 2 ** 20) / 1e9, 1, true)} by the slope`
          : 'not run at 20,000',
  });
  const slope = num(scale, 'slopeKiBPerSession');
  if (slope !== undefined)
    rows.push({
      what: 'memory slope between the two scale points',
      figure: `${n(slope, ' KiB')}/session (${String(get(scale, 'slopeBetween') ?? '')})`,
      target: '',
      met: '',
    });
  return rows;
}

function mediaRows(media: unknown): Row[] {
  const rows: Row[] = [];
  const decrypt = get(media, 'decrypt');
  if (decrypt && typeof decrypt === 'object')
    rows.push({
      what: "media decrypt core, 256 MiB, all checks, against openssl's four passes",
      figure: `${x(num(decrypt, 'ratioToOpenssl'))} (${n(num(decrypt, 'walinkMBps'))} against ${n(num(decrypt, 'opensslMBps'))} MiB/s)`,
      target: '',
      met: '',
    });
  const memory = get(media, 'memory');
  if (memory && typeof memory === 'object')
    rows.push({
      what: `peak RSS decrypting ${n(num(memory, 'objectMiB'), ' MiB')}`,
      figure: n(num(memory, 'peakRssMiB'), ' MiB'),
      target: '',
      met: '',
    });
  const queue = get(media, 'queue');
  for (const size of ['8KiB', '256KiB']) {
    const q = get(queue, size);
    if (!q || typeof q !== 'object') continue;
    const cpu = (w: string) => {
      const c = get(q, `${w}.cpuSeconds`);
      if (!c || typeof c !== 'object') return '';
      const workers = get(c, 'workers');
      const sum = Array.isArray(workers)
        ? workers.reduce((a: number, b) => a + (typeof b === 'number' ? b : 0), 0)
        : 0;
      return `${n(num(c, 'wall'))} s wall: workers ${n(Math.round(sum * 100) / 100)}, Redis ${n(num(c, 'redis'))}, CDN + producer ${n(num(c, 'benchProcessCdnAndProducer'))} CPU s`;
    };
    rows.push({
      what: `media jobs/s, ${size} files, 1 and 2 worker processes (concurrency 4 each)`,
      figure: `${n(num(q, '1worker.jobsPerSecond'))} / ${n(num(q, '2workers.jobsPerSecond'))} (${x(num(q, 'twoToOneRatio'))}); 2 workers: ${cpu('2workers')}`,
      target: '',
      met: '',
    });
  }
  return rows;
}

function serveRows(serve: unknown): Row[] {
  if (!serve || typeof serve !== 'object' || num(serve, 'rssPeakMiB') === undefined) return [];
  return [
    {
      what: `\`walink serve\` RSS, ${n(num(serve, 'sseClientsNotReading'))} SSE clients that never read + ${n(num(serve, 'messages'))} phone messages`,
      figure: `${n(num(serve, 'rssBeforeMiB'))} → ${n(num(serve, 'rssPeakMiB'), ' MiB')} peak, ${n(num(serve, 'silentClientsClosedByService'))} silent clients dropped`,
      target: '',
      met: '',
    },
  ];
}

function cliRows(cli: unknown): Row[] {
  const rows: Row[] = [];
  const help = get(cli, 'help');
  if (help && typeof help === 'object')
    rows.push({
      what: '`walink --help` (compiled), against `node -e 0`, best of 5',
      figure: `${n(num(help, 'walinkHelpMs'), ' ms')} against ${n(num(help, 'nodeBareMs'), ' ms')}: ${x(num(help, 'ratioToNode'))}`,
      target: '≤ 4×',
      met: verdict(num(help, 'ratioToNode'), 4, true),
    });
  const big = get(cli, 'decrypt256MiB');
  if (big && typeof big === 'object')
    rows.push({
      what: "`walink media decrypt` 256 MiB end to end, against openssl's four passes",
      figure: `${n(num(big, 'walinkSeconds'), ' s')} against ${n(num(big, 'opensslSeconds'), ' s')}: ${x(num(big, 'ratioToOpenssl'))}`,
      target: '≥ 0.9×',
      met: verdict(num(big, 'ratioToOpenssl'), 0.9),
    });
  const many = get(cli, 'decrypt8KiBx1000');
  if (many && typeof many === 'object')
    rows.push({
      what: `${n(num(many, 'decrypts'))} × \`walink media decrypt\` of 8 KiB, one process each`,
      figure: `${n(num(many, 'seconds'), ' s')} against a budget of ${n(num(many, 'budgetSeconds'), ' s')} (node start ${n(num(many, 'nodeStartupMs'), ' ms')} + 50 ms each)`,
      target: '< budget',
      met: get(many, 'met') === true ? 'met' : get(many, 'met') === false ? '**not met**' : '?',
    });
  return rows;
}

/** The README's performance table (markdown) for one `npm run -s bench` document. */
export function benchTable(doc: unknown): string {
  const machine = get(doc, 'machine');
  const load = get(machine, 'loadAverage.start');
  const loadText = Array.isArray(load) ? `, load average ${load[0]} at the start` : '';
  const header = `Measured ${String(get(machine, 'date') ?? '(no date)')} by \`npm run -s bench\` on ${n(num(machine, 'cpus'))} × ${String(get(machine, 'cpuModel') ?? '?')}, Node ${String(get(machine, 'node') ?? '?')}${loadText}; every ratio against its reference in the same run.`;
  const results = get(doc, 'results');
  const rows = [
    ...codecRows(get(results, 'codec')),
    ...mdCodecRows(get(results, 'md-codec')),
    ...noiseRows(get(results, 'md')),
    ...sessionRows(get(results, 'session')),
    ...mediaRows(get(results, 'media')),
    ...serveRows(get(results, 'serve')),
    ...cliRows(get(results, 'cli')),
  ];
  const lines = [header, '', '| what | figure | target | |', '|---|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.what} | ${row.figure} | ${row.target} | ${row.met} |`);
  return lines.join('\n');
}

/** README text with the table between the markers replaced. */
export function replaceTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} block`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? fileURLToPath(new URL('../bench/results.json', import.meta.url));
  const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
  const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  writeFileSync(readmePath, replaceTable(readFileSync(readmePath, 'utf8'), benchTable(doc)));
  console.error(`bench:table: README.md's table regenerated from ${file}`);
}
