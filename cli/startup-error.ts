// A command that cannot start (bad option, dead Redis, port taken) says so in one line and exits 1,
// leaving nothing running.
export function exitOnStartupError(command: string): (error: unknown) => never {
  return (error: unknown) => {
    const code = (error as { code?: string }).code;
    process.stderr.write(`walink ${command}: ${code ? `${code}: ` : ''}${(error as Error).message}\n`);
    process.exit(1);
  };
}
