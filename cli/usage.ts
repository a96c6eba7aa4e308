// How `walink` ends: usage mistakes exit 2 with one line, failures exit 1 with one line, everywhere.
// This module loads nothing but commander, so `walink --help` stays as fast as a bare `node`.
import { type Command, CommanderError, InvalidArgumentError } from 'commander';

/** A usage mistake found after parsing (a bad key, an unknown machine): exit code 2, like a bad option. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

// By its code, not instanceof: the compiled `walink` bundles this module, and a module loaded later
// could hold a second copy of the class.
const isUsageError = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'USAGE';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An option parser for integers in [min, max]: commander reports a bad value as a usage error. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}..${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}.`);
    }
    return value;
  };
}

export const portNumber = integer(0, 65_535);

/** An option parser that checks a pattern; `what` says what was expected. */
export function matching(pattern: RegExp, what: string): (text: string) => string {
  return (text) => {
    if (!pattern.test(text)) throw new InvalidArgumentError(`expected ${what}.`);
    return text;
  };
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function* allCommands(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* allCommands(sub);
}

function oneLine(text: string): string {
  return text
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/**
 * Parses the command line and runs the chosen command. Commander's own errors (unknown option, bad
 * value, missing required option) and a `UsageError` from an action exit 2; any other error from an
 * action exits 1. Either way stderr gets one line, `walink <command>: <what>`, and no stack trace.
 */
export async function runCommandLine(program: Command, argv: readonly string[]): Promise<void> {
  // A reader that went away (`walink start --json | head`) ends the command quietly, like any Unix tool.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  let running = program;
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({
      outputError: (text, write) => write(`${commandPath(command)}: ${oneLine(text)}\n`),
    });
  }
  program.hook('preAction', (_root, action) => {
    running = action;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; commander has printed what it had to.
      exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
      return;
    }
    const code = (error as { code?: unknown }).code;
    const prefix = typeof code === 'string' && !isUsageError(error) ? `${code}: ` : '';
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${commandPath(running)}: ${prefix}${oneLine(message)}\n`);
    exit(isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE);
  }
}

// Leave once stderr has been written: a failed command may have started servers or Redis clients that
// would otherwise keep the process alive.
function exit(code: number): void {
  process.stderr.write('', () => process.exit(code));
}
