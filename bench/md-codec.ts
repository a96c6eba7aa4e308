// MD node decode/encode throughput (MB/s of encoded bytes) on the realistic stanzas of bench/md-corpus.ts, for
// each token dictionary. One operation decodes (or encodes) every stanza of a corpus item.
import { md } from '../codec/index.ts';
import { countNodes, mdCorpus } from './md-corpus.ts';
import { measure, round } from './measure.ts';

export async function run(): Promise<Record<string, unknown>> {
  const items = mdCorpus();
  const results: Record<string, unknown> = {};
  for (const version of [2, 3] as const) {
    const dictionary = md.dictionaryForMdVersion(version);
    const perItem: Record<string, unknown> = {};
    let totalBytes = 0;
    let decodeSeconds = 0;
    let encodeSeconds = 0;
    for (const item of items) {
      const encoded = item.stanzas.map((stanza) => md.encodeMdNode(stanza, dictionary));
      const bytes = encoded.reduce((sum, b) => sum + b.length, 0);
      const nodes = item.stanzas.reduce((sum, stanza) => sum + countNodes(stanza), 0);
      const decode = measure(() => {
        for (const b of encoded) md.decodeMdNode(b, dictionary);
      }, 500);
      const encode = measure(() => {
        for (const stanza of item.stanzas) md.encodeMdNode(stanza, dictionary);
      }, 500);
      totalBytes += bytes;
      decodeSeconds += 1 / decode.opsPerSecond;
      encodeSeconds += 1 / encode.opsPerSecond;
      perItem[item.name] = {
        stanzas: item.stanzas.length,
        nodes,
        bytes,
        decodeMBps: round((decode.opsPerSecond * bytes) / 1e6),
        encodeMBps: round((encode.opsPerSecond * bytes) / 1e6),
        decodeNodesPerSecond: Math.round(decode.opsPerSecond * nodes),
        encodeNodesPerSecond: Math.round(encode.opsPerSecond * nodes),
      };
    }
    results[`v${version}`] = {
      // the whole corpus once: every item's bytes over the sum of the items' times
      decodeMBps: round(totalBytes / decodeSeconds / 1e6),
      encodeMBps: round(totalBytes / encodeSeconds / 1e6),
      corpusBytes: totalBytes,
      items: perItem,
    };
  }
  return results;
}
