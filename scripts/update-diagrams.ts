// npm run diagrams: regenerate the README's session diagram from the machine.
import { readFile, writeFile } from 'node:fs/promises';
import { machineDiagram } from '../cli/index.ts';
import { withDiagram } from './readme-diagram.ts';

const path = new URL('../README.md', import.meta.url);
const readme = await readFile(path, 'utf8');
const updated = withDiagram(readme, await machineDiagram('session', 'mermaid'));
if (updated === readme) console.log('README diagram is up to date');
else {
  await writeFile(path, updated);
  console.log('README diagram regenerated');
}
