import type { Command } from 'commander';

// Placeholder until this command lands: it is listed so `walink --help` shows the whole plan,
// and it says plainly that it does nothing yet.
export function registerDiagramCommand(program: Command): void {
  program
    .command('diagram')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      console.error('walink diagram: not built yet');
      process.exitCode = 2;
    });
}
