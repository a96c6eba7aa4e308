import type { Command } from 'commander';

// Placeholder until this command lands: it is listed so `walink --help` shows the whole plan,
// and it says plainly that it does nothing yet.
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      console.error('walink serve: not built yet');
      process.exitCode = 2;
    });
}
