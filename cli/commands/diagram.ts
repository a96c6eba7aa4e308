import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { describeMachine, toDot, toMermaid } from '../../machines/index.ts';
import { MACHINES, machineNames, renderSvg } from '../../service/index.ts';

type Format = 'mermaid' | 'dot' | 'svg';

/** The diagram text of a machine, generated from its definition. */
export async function machineDiagram(name: string, format: Format): Promise<string> {
  const machine = MACHINES[name];
  if (!machine) throw new Error(`unknown machine "${name}" (known: ${machineNames().join(', ')})`);
  const structure = describeMachine(machine);
  if (format === 'mermaid') return toMermaid(structure);
  const dot = toDot(structure);
  return format === 'dot' ? dot : renderSvg(dot);
}

export function registerDiagramCommand(program: Command): void {
  program
    .command('diagram')
    .description('draw a machine from its definition (Mermaid, Graphviz DOT or SVG)')
    .argument('<machine>', `which machine: ${machineNames().join(', ')}`)
    .addOption(
      new Option('-f, --format <format>', 'output format')
        .choices(['mermaid', 'dot', 'svg'])
        .default('mermaid'),
    )
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action(async (name: string, options: { format: Format; out?: string }) => {
      try {
        const text = await machineDiagram(name, options.format);
        if (options.out) await writeFile(options.out, text);
        else process.stdout.write(text);
      } catch (error) {
        console.error(`walink diagram: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    });
}
