// Node decode/encode throughput on a realistic corpus, and the decode speed of a 2021-style legacy
// decoder (bench/reference) on the same bytes in the same run, as a ratio.
import { decodeNode, encodeNode } from '../codec/index.ts';
import { corpus } from './corpus.ts';
import { measure, round } from './measure.ts';
import { LegacyDecoder } from './reference/legacy-decoder.ts';

export async function run(): Promise<Record<string, unknown>> {
  const legacy = new LegacyDecoder();
  const results: Record<string, unknown> = {};
  let ratioProduct = 1;
  const items = corpus();
  for (const item of items) {
    const buffer = Buffer.from(item.bytes);
    const decode = measure(() => decodeNode(item.bytes));
    const encode = measure(() => encodeNode(item.node));
    const reference = measure(() => legacy.decode(buffer));
    const mb = item.bytes.length / 1e6;
    const ratio = decode.opsPerSecond / reference.opsPerSecond;
    ratioProduct *= ratio;
    results[item.name] = {
      bytes: item.bytes.length,
      nodes: item.nodeCount,
      decodeMBps: round(decode.opsPerSecond * mb),
      decodeNodesPerSecond: Math.round(decode.opsPerSecond * item.nodeCount),
      encodeMBps: round(encode.opsPerSecond * mb),
      encodeNodesPerSecond: Math.round(encode.opsPerSecond * item.nodeCount),
      referenceDecodeMBps: round(reference.opsPerSecond * mb),
      decodeRatioToReference: round(ratio, 2),
    };
  }
  return { nodes: results, decodeRatioToReferenceGeomean: round(ratioProduct ** (1 / items.length), 2) };
}
