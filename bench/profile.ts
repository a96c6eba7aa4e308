// `node --cpu-prof --cpu-prof-dir=<dir> bin/run-ts.js bench/profile.ts [legacy|peer|frames] [seconds]` runs one
// decoder over the legacy corpus for a few seconds, so that a CPU profile shows where decoding spends its
// time; `node bin/run-ts.js bench/profile.ts --top <file.cpuprofile>` prints the profile's top frames by self
// time (what bench/PROFILES.md quotes).
import { readFileSync } from 'node:fs';
import { parseServerFrame, serverBinaryFrame } from '../codec/index.ts';
import { openFrame, sealFrame } from '../crypto/index.ts';
import { walinkDecode } from './codec.ts';
import { corpus } from './corpus.ts';
import { legacyPeer } from './peers.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

function top(file: string, count = 15): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(perf-codec|peers)\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + node.hitCount);
    total += node.hitCount;
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  for (const [key, hits] of rows) console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`);
}

const [mode = 'legacy', arg] = process.argv.slice(2);
if (mode === '--top') {
  if (!arg) throw new Error('--top needs a .cpuprofile file');
  top(arg);
} else {
  const seconds = Number(arg ?? 4);
  // `legacy:actions50` profiles one corpus item only
  const [, only] = mode.split(':');
  const items = corpus().filter((item) => !only || item.name === only);
  const peer = mode.startsWith('peer') ? legacyPeer() : null;
  const keys = { encKey: new Uint8Array(32).fill(1), macKey: new Uint8Array(32).fill(2) };
  const frames = items.map((item) => serverBinaryFrame('1.--1', sealFrame(keys, item.bytes)));
  const buffers = items.map((item) => Buffer.from(item.bytes));
  const until = performance.now() + seconds * 1000;
  let rounds = 0;
  while (performance.now() < until) {
    for (let i = 0; i < items.length; i++) {
      if (peer) peer.decode(buffers[i]!);
      else if (mode.startsWith('frames')) {
        const frame = parseServerFrame(frames[i]!, true);
        if (frame.kind === 'binary') walinkDecode(openFrame(keys, frame.payload));
      } else walinkDecode(items[i]!.bytes);
    }
    rounds++;
  }
  console.error(`profile: ${rounds} rounds of the corpus (${mode})`);
}
