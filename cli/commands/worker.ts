import type { Command } from 'commander';

// Placeholder until this command lands: it is listed so `walink --help` shows the whole plan,
// and it says plainly that it does nothing yet.
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      console.error('walink worker: not built yet');
      process.exitCode = 2;
    });
}
