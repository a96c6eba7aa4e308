#!/usr/bin/env node
// The `walink` command line: one small module per subcommand under ./commands. Each registers its options
// here and loads what it runs only when it runs, so `walink --help` loads commander and nothing else.
import { Command } from 'commander';
import { registerCodecCommands } from './commands/codec.ts';
import { registerDiagramCommand } from './commands/diagram.ts';
import { registerEmulatorCommand } from './commands/emulator.ts';
import { registerMediaCommands } from './commands/media.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { runCommandLine } from './usage.ts';

const program = new Command()
  .name('walink')
  .description('WhatsApp Web sessions (legacy and multi-device) as explicit state machines')
  .version('0.1.0');

registerStartCommand(program);
registerServeCommand(program);
registerEmulatorCommand(program);
registerWorkerCommand(program);
registerMediaCommands(program);
registerCodecCommands(program);
registerDiagramCommand(program);

await runCommandLine(program, process.argv);
