// One point of the session scale run (bench/session.ts) in a process of its own: prints its JSON on stdout.
import { scale } from './session.ts';

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) throw new Error('usage: session-scale-child.ts <sessions>');
process.stdout.write(`${JSON.stringify(await scale(count))}\n`);
process.exit(0);
