// Runs one streaming decryption in its own process and reports its time and peak RSS, so the memory
// figure is the decryptor's, not the benchmark runner's.
import { decryptMediaToFile, openFileSource } from '../workers/index.ts';

const [input, output, keyHex, encShaHex, shaHex, length] = process.argv.slice(2);
const baseline = process.resourceUsage().maxRSS;
const started = performance.now();
const source = await openFileSource(input!);
await decryptMediaToFile(source.stream, output!, {
  type: 'document',
  mediaKey: Buffer.from(keyHex!, 'hex'),
  fileEncSha256: Buffer.from(encShaHex!, 'hex'),
  fileSha256: Buffer.from(shaHex!, 'hex'),
  fileLength: Number(length),
  objectSize: source.size!,
});
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, startupRssMiB: baseline / 1024 })}\n`,
);
