// The house rules for imports, checked over the whole source tree: a file enters another top-level
// folder only through an index.ts (the folder's or a subfolder's front door), and no files import each
// other in a circle (type-only imports included: a circle of types is still a circle of meaning).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SKIP = new Set(['node_modules', '.git', 'test-artifacts', 'dist', 'fixtures', 'vendor', 'static']);
const SOURCE = /\.(ts|js|mjs)$/;

/**
 * Imports allowed to cross without a front door, each with its reason. An entry that no longer matches
 * an import fails the test too, so the list only ever shrinks.
 */
const EXCEPTIONS: Record<string, string> = {
  'bin/walink.js -> cli/main.ts':
    'the launcher runs the command line program; cli/index.ts is its library side',
  'bench/media.ts -> test/support/redis.ts':
    'the media benchmark starts a throwaway Redis the way the tests do (test/ has no front door)',
  'bench/cli.ts -> scripts/build.ts':
    'scripts/ holds maintenance scripts, not a library: the CLI benchmark measures what the build makes',
  'bench/session.ts -> scripts/build.ts':
    'scripts/ holds maintenance scripts, not a library: the scale run measures the package the build makes',
  'test/cli/package.test.ts -> scripts/build.ts':
    'scripts/ holds maintenance scripts, not a library: the package test checks what the build makes',
  'test/scripts/bench-table.test.ts -> scripts/bench-table.ts':
    'scripts/ holds maintenance scripts, not a library: the drift test checks the table the script writes',
  'test/machines/diagram.test.ts -> scripts/readme-diagram.ts':
    'scripts/ holds maintenance scripts, not a library: the drift test checks the block the script writes',
  'test/machines/mermaid-render.test.ts -> scripts/readme-diagram.ts':
    'scripts/ holds maintenance scripts, not a library: the render test reads the block the script writes',
};

/**
 * The arrows of CONTRIBUTING.md's layout table: which top-level folders each folder may import. They
 * point one way (toward crypto/), so a new arrow is a decision to make in that table first.
 */
const MAY_IMPORT: Record<string, string[]> = {
  crypto: [],
  codec: ['crypto'],
  http: [],
  machines: ['codec', 'crypto'],
  workers: ['crypto', 'codec'],
  actors: ['machines', 'codec', 'crypto', 'workers'],
  emulator: ['codec', 'crypto', 'http', 'machines'],
  service: ['actors', 'machines', 'codec', 'crypto', 'workers', 'emulator', 'http'],
  cli: ['service', 'actors', 'machines', 'codec', 'crypto', 'workers', 'emulator', 'http'],
  '.': ['actors', 'machines', 'codec', 'crypto', 'workers', 'emulator', 'http'],
  examples: ['.'],
  bin: ['cli'],
  scripts: ['cli', 'machines'],
};

/** Circles known and being broken elsewhere (each named by its sorted files). */
const KNOWN_CIRCLES: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) files.push(relative(ROOT, path));
  }
  return files;
}

/** Every relative import of a file (static, dynamic with a literal, re-exports), resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)))
    .filter((target) => existsSync(join(ROOT, target)));
}

const topOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');
const isFrontDoor = (file: string) => file === 'index.ts' || file.endsWith('/index.ts');

const FILES = sourceFiles(ROOT);
const GRAPH = new Map(FILES.map((file) => [file, importsOf(file)]));

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('imports', () => {
  it('walks the whole tree', () => {
    expect(FILES).toContain('index.ts');
    expect(FILES).toContain('machines/legacy/session.ts');
    expect(FILES).toContain('test/structure/imports.test.ts');
    expect(GRAPH.get('actors/session.ts')).toContain('actors/legacy/index.ts');
  });

  it('enter another top-level folder only through an index.ts', () => {
    const crossings: string[] = [];
    for (const [file, targets] of GRAPH)
      for (const target of targets)
        if (topOf(file) !== topOf(target) && !isFrontDoor(target)) crossings.push(`${file} -> ${target}`);
    expect(crossings.filter((c) => !EXCEPTIONS[c])).toEqual([]);
    expect(
      Object.keys(EXCEPTIONS).filter((c) => !crossings.includes(c)),
      'stale exceptions',
    ).toEqual([]);
  });

  it('point the way the layout table says', () => {
    const wrongWay: string[] = [];
    for (const [file, targets] of GRAPH) {
      const allowed = MAY_IMPORT[topOf(file)];
      if (!allowed) continue; // test/ and bench/ may import everything
      for (const target of targets)
        if (topOf(target) !== topOf(file) && !allowed.includes(topOf(target)))
          wrongWay.push(`${file} -> ${target}`);
    }
    expect(wrongWay).toEqual([]);
    expect(
      [...new Set(FILES.map(topOf))].filter((top) => !MAY_IMPORT[top] && top !== 'test' && top !== 'bench'),
      'folders missing from the layout table',
    ).toEqual([]);
  });

  it('form no circle between files', () => {
    const found = circles(GRAPH).map((component) => component.join(' '));
    expect(found.filter((c) => !KNOWN_CIRCLES[c])).toEqual([]);
    expect(
      Object.keys(KNOWN_CIRCLES).filter((c) => !found.includes(c)),
      'stale known circles',
    ).toEqual([]);
  });

  it('finds a circle and a deep import when there is one', () => {
    const graph = new Map([
      ['a/x.ts', ['b/y.ts']],
      ['b/y.ts', ['a/x.ts']],
      ['c/z.ts', ['c/z.ts']],
    ]);
    expect(circles(graph)).toEqual([['a/x.ts', 'b/y.ts'], ['c/z.ts']]);
    expect(isFrontDoor('machines/legacy/index.ts') && !isFrontDoor('machines/legacy/session.ts')).toBe(true);
  });
});
