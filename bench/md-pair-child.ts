// The pre-seeding half of bench/md-session.ts, in its own process so the measured process starts clean:
// pairs `count` MD companions against a running emulator, each with its own phone number (the emulator's
// MD phone scans each QR code through `/md/phones/<n>/scan`), waits for each one's bootstrap (the phone's
// app-state key share, docs/protocol-md.md §13), and writes their credential records, one JSON string a
// line, to `out`. Progress on stderr.
//   node bin/run-ts.js bench/md-pair-child.ts <md-ws-url> <emulator-http-url> <root-hex> <count> <out> [first]
import { createWriteStream } from 'node:fs';
import {
  createSession,
  MD_CREDENTIAL_CODEC,
  type MdCredentialRecord,
  MemoryCredentialStore,
} from '../actors/index.ts';

const [urlArg, emulatorArg, rootHex, countText, out, firstText] = process.argv.slice(2);
if (!urlArg || !emulatorArg || !rootHex || !countText || !out) {
  console.error('usage: md-pair-child <md-ws-url> <emulator-http-url> <root-hex> <count> <out> [first]');
  process.exit(2);
}
const url: string = urlArg;
const emulatorUrl: string = emulatorArg;
const count = Number(countText);
const first = Number(firstText ?? 0);
const rootPublicKey = new Uint8Array(Buffer.from(rootHex, 'hex'));
const PARALLEL = 24;

/** The phone number of the i-th bench companion (each on its own account: 4 devices at most per account). */
function benchPhone(i: number): string {
  return `1555${String(i).padStart(7, '0')}`;
}

async function pairOne(i: number): Promise<string> {
  const store = new MemoryCredentialStore<MdCredentialRecord>(null, MD_CREDENTIAL_CODEC);
  const session = await createSession({ protocol: 'md', url, rootPublicKey, store, name: `bench-${i}` });
  const phone = benchPhone(i);
  let scanned = false;
  const bootstrapped = new Promise<void>((resolve) => {
    session.events$.subscribe((event) => {
      if (event.type === 'qr' && !scanned) {
        scanned = true;
        void fetch(`${emulatorUrl}/md/phones/${phone}/scan`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ qr: event.text }),
        })
          .then(async (response) => {
            if (!response.ok) console.error(`scan ${i}: ${response.status} ${await response.text()}`);
          })
          .catch((error: unknown) => console.error(`scan ${i}: ${(error as Error).message}`));
      }
      if (event.type === 'md.message' && event.message.content.kind === 'appStateKeys') resolve();
    });
  });
  session.start();
  await session.waitFor((state) => state.tags.includes('ready'), 60_000);
  // The phone's bootstrap messages come right after ready; waiting for them keeps them out of the restore.
  await Promise.race([bootstrapped, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await session.stop();
  const record = await store.load();
  if (!record?.credentials.me) throw new Error(`companion ${i} has no device after pairing`);
  return MD_CREDENTIAL_CODEC.serialize(record);
}

const file = createWriteStream(out);
let next = first;
let done = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: PARALLEL }, async () => {
    while (next < first + count) {
      const i = next++;
      const text = await pairOne(i);
      file.write(`${JSON.stringify(text)}\n`);
      done += 1;
      if (done % 250 === 0 || done === count) {
        const seconds = (performance.now() - started) / 1000;
        console.error(`bench: md-session: paired ${done}/${count} (${(done / seconds).toFixed(0)}/s)`);
      }
    }
  }),
);
await new Promise<void>((resolve, reject) =>
  file.end((error?: Error | null) => (error ? reject(error) : resolve())),
);
process.exit(0);
