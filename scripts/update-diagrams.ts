// npm run diagrams: regenerate the README's machine diagrams (the legacy session, the MD companion).
import { readFile, writeFile } from 'node:fs/promises';
import { machineDiagram } from '../cli/index.ts';
import { README_DIAGRAMS, withDiagram } from './readme-diagram.ts';

const path = new URL('../README.md', import.meta.url);
const readme = await readFile(path, 'utf8');
let updated = readme;
for (const machine of README_DIAGRAMS) {
  updated = withDiagram(updated, await machineDiagram(machine, 'mermaid'), machine);
}
if (updated === readme) console.log('README diagrams are up to date');
else {
  await writeFile(path, updated);
  console.log('README diagrams regenerated');
}
