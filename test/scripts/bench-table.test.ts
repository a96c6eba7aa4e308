// The README's performance table is generated (scripts/bench-table.ts) from a `npm run -s bench` document:
// the generator says met / not met against each target, and the README holds exactly what bench/results.json
// gives, so a figure cannot be edited by hand or left behind by a new run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchTable, replaceTable, TABLE_END, TABLE_START } from '../../scripts/bench-table.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const fixture = JSON.parse(read('test/fixtures/bench-small.json')) as Record<string, unknown>;

function rowOf(table: string, what: string): string {
  const row = table.split('\n').find((line) => line.startsWith(`| ${what}`));
  if (!row) throw new Error(`no row starting with ${what}`);
  return row;
}

describe('bench table', () => {
  it('turns a small bench document into rows with their references, targets and verdicts', () => {
    const table = benchTable(fixture);
    expect(table.split('\n')[0]).toBe(
      'Measured 2026-12-02 by `npm run -s bench` on 2 × Test CPU, Node v20.20.2, load average 1.5 at the start; every ratio against its reference in the same run.',
    );
    expect(rowOf(table, 'legacy node decode')).toBe(
      "| legacy node decode (+ WebMessageInfo), against `@adiwajshing/baileys@3.5.3`'s decoder | **3.2×** geomean (contacts900 3.2×) | ≥ 3× | met |",
    );
    expect(rowOf(table, 'legacy node encode')).toContain('| ≥ 10× | **not met** |');
    expect(rowOf(table, 'MD node decode')).toBe(
      '| MD node decode / encode (v2 dictionary), against `@whiskeysockets/baileys@6.17.16` | **4×** / **9.2×** (200 / 120 MB/s against 50 / 13) | ≥ 3× each | met |',
    );
    expect(rowOf(table, '`walink --help`')).toContain('90 ms against 80 ms: 1.13× | ≤ 4× | met |');
    expect(rowOf(table, '1,000 × `walink media decrypt`')).toContain('| < budget | **not met** |');
    // areas the document does not hold have no rows
    expect(table).not.toContain('Noise');
    expect(table).not.toContain('idle legacy sessions');
  });

  it('follows the figures: the same document under a target says not met', () => {
    const slower = structuredClone(fixture) as { results: { codec: { decodeRatioGeomean: number } } };
    slower.results.codec.decodeRatioGeomean = 2.9;
    expect(rowOf(benchTable(slower), 'legacy node decode')).toContain('**2.9×** geomean');
    expect(rowOf(benchTable(slower), 'legacy node decode')).toContain('| **not met** |');
  });

  it('replaces only what is between the markers, and refuses a README without them', () => {
    const readme = `# x\n\nbefore\n${TABLE_START}\nold table\n${TABLE_END}\nafter\n`;
    expect(replaceTable(readme, 'new table')).toBe(
      `# x\n\nbefore\n${TABLE_START}\nnew table\n${TABLE_END}\nafter\n`,
    );
    expect(() => replaceTable('# no table', 'x')).toThrow(/no .* block/);
  });

  it("the README's table is what bench/results.json gives (npm run bench:table after a run)", () => {
    const readme = read('README.md');
    const results = JSON.parse(read('bench/results.json')) as unknown;
    expect(replaceTable(readme, benchTable(results))).toBe(readme);
  });
});
