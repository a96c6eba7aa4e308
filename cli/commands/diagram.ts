import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { UsageError } from '../usage.ts';

type Format = 'mermaid' | 'dot' | 'svg';

// The machines (XState) and Graphviz load when a diagram is drawn, not when `walink` starts.
const loadRegistry = () => import('../../service/index.ts');

/** The diagram text of a machine, generated from its definition. */
export async function machineDiagram(name: string, format: Format): Promise<string> {
  const [{ machineNamed, machineNames, renderSvg }, { describeMachine, toDot, toMermaid }] =
    await Promise.all([loadRegistry(), import('../../machines/index.ts')]);
  const machine = machineNamed(name);
  if (!machine) throw new UsageError(`unknown machine "${name}" (known: ${machineNames().join(', ')})`);
  const structure = describeMachine(machine);
  if (format === 'mermaid') return toMermaid(structure);
  const dot = toDot(structure);
  return format === 'dot' ? dot : renderSvg(dot);
}

export function registerDiagramCommand(program: Command): void {
  const diagram = program
    .command('diagram')
    .description('draw a machine from its definition (Mermaid, Graphviz DOT or SVG)')
    .argument('<machine>', 'which machine')
    .addOption(
      new Option('-f, --format <format>', 'output format')
        .choices(['mermaid', 'dot', 'svg'])
        .default('mermaid'),
    )
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action(async (name: string, options: { format: Format; out?: string }) => {
      const text = await machineDiagram(name, options.format);
      if (options.out) await writeFile(options.out, text);
      else process.stdout.write(text);
    });
  // `walink diagram --help` names the machines; only then is the registry loaded for it.
  program.hook('preSubcommand', async (_program, sub) => {
    if (sub !== diagram) return;
    const { machineNames } = await loadRegistry();
    const [argument] = diagram.registeredArguments;
    if (argument) argument.description = `which machine: ${machineNames().join(', ')}`;
  });
}
