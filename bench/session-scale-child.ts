// One point of the session scale run (bench/session.ts) in a process of its own: prints its JSON on stdout.
// With --pair <count> <httpUrl> <dir> it pairs the sessions first, in yet another process, and exits.
import { pairSessions, scale } from './session.ts';

const args = process.argv.slice(2);
if (args[0] === '--pair') {
  await pairSessions(Number(args[1]), args[2]!, args[3]!);
  process.exit(0);
}
const count = Number(args[0]);
if (!Number.isInteger(count) || count < 1) throw new Error('usage: session-scale-child.ts <sessions>');
process.stdout.write(`${JSON.stringify(await scale(count))}\n`);
process.exit(0);
