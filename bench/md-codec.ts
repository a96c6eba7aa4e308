// MD node decode/encode throughput (MB/s of encoded bytes) on the realistic stanzas of bench/md-corpus.ts,
// against the public MD client a user would pick instead (@whiskeysockets/baileys@6.17.16, bench/peers.json):
// its decodeDecompressedBinaryNode and encodeBinaryNode on the same stanzas, interleaved in one run, with the
// dictionary that client speaks (v2; both sides must decode every stanza alike before anything is timed).
// The v3 dictionary, which that client does not have, is measured for walink alone.
// One operation decodes (or encodes) every stanza of a corpus item.
import { md } from '../codec/index.ts';
import { countNodes, mdCorpus } from './md-corpus.ts';
import { interleaved, type Rate, round } from './measure.ts';
import { type MdBinaryNode, mdPeer } from './peers.ts';

const PEER_VERSION = 2;

function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const node = value as MdBinaryNode;
    return {
      tag: node.tag,
      attrs: Object.fromEntries(Object.entries(node.attrs).sort(([a], [b]) => (a < b ? -1 : 1))),
      content: node.content === undefined ? null : canonical(node.content),
    };
  }
  return value;
}

function geomean(values: number[]): number {
  return round(Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length), 2);
}

export async function run(): Promise<Record<string, unknown>> {
  const peer = mdPeer();
  const items = mdCorpus();
  const results: Record<string, unknown> = {
    reference: peer.version,
    referenceDictionary: `v${PEER_VERSION}`,
  };
  for (const version of [2, 3] as const) {
    const dictionary = md.dictionaryForMdVersion(version);
    const withPeer = version === PEER_VERSION;
    const perItem: Record<string, Record<string, number>> = {};
    let totalBytes = 0;
    const seconds = { decode: 0, encode: 0, peerDecode: 0, peerEncode: 0 };
    // Ratios from CPU time (see `interleaved`): a neighbour's load changes it least.
    const cpuSeconds = { decode: 0, encode: 0, peerDecode: 0, peerEncode: 0 };
    for (const item of items) {
      const encoded = item.stanzas.map((stanza) => md.encodeMdNode(stanza, dictionary));
      // The client's decoder starts after the one-byte flag its caller strips.
      const bodies = encoded.map((b) => Buffer.from(b.subarray(1)));
      const peerStanzas = withPeer ? bodies.map((b) => peer.decode(b)) : [];
      if (withPeer) {
        encoded.forEach((b, i) => {
          const ours = JSON.stringify(canonical(md.decodeMdNode(b, dictionary)));
          if (ours !== JSON.stringify(canonical(peerStanzas[i])))
            throw new Error(
              `bench md-codec: ${item.name} #${i} decodes differently in walink and ${peer.version}`,
            );
        });
      }
      const bytes = encoded.reduce((sum, b) => sum + b.length, 0);
      const nodes = item.stanzas.reduce((sum, stanza) => sum + countNodes(stanza), 0);
      const ops = {
        decode: () => {
          for (const b of encoded) md.decodeMdNode(b, dictionary);
        },
        encode: () => {
          for (const stanza of item.stanzas) md.encodeMdNode(stanza, dictionary);
        },
      };
      const rates = withPeer
        ? interleaved(
            {
              ...ops,
              peerDecode: () => {
                for (const b of bodies) peer.decode(b);
              },
              peerEncode: () => {
                for (const stanza of peerStanzas) peer.encode(stanza);
              },
            },
            { rounds: 4, sliceMs: 60 },
          )
        : interleaved(ops, { rounds: 4, sliceMs: 60 });
      totalBytes += bytes;
      const row: Record<string, number> = { stanzas: item.stanzas.length, nodes, bytes };
      for (const [key, rate] of Object.entries(rates)) {
        seconds[key as keyof typeof seconds] += 1 / rate.opsPerSecond;
        cpuSeconds[key as keyof typeof seconds] += 1 / (rate.opsPerCpuSecond ?? rate.opsPerSecond);
        row[`${key}MBps`] = round((rate.opsPerSecond * bytes) / 1e6);
      }
      if (withPeer) {
        const r = rates as Record<string, Rate>;
        row.decodeRatio = round(r.decode!.opsPerCpuSecond! / r.peerDecode!.opsPerCpuSecond!, 2);
        row.encodeRatio = round(r.encode!.opsPerCpuSecond! / r.peerEncode!.opsPerCpuSecond!, 2);
      }
      perItem[item.name] = row;
    }
    const summary: Record<string, unknown> = {
      // the whole corpus once: every item's bytes over the sum of the items' times
      decodeMBps: round(totalBytes / seconds.decode / 1e6),
      encodeMBps: round(totalBytes / seconds.encode / 1e6),
    };
    if (withPeer) {
      summary.peerDecodeMBps = round(totalBytes / seconds.peerDecode / 1e6);
      summary.peerEncodeMBps = round(totalBytes / seconds.peerEncode / 1e6);
      summary.decodeRatio = round(cpuSeconds.peerDecode / cpuSeconds.decode, 2);
      summary.encodeRatio = round(cpuSeconds.peerEncode / cpuSeconds.encode, 2);
      summary.decodeRatioGeomean = geomean(Object.values(perItem).map((r) => r.decodeRatio!));
      summary.encodeRatioGeomean = geomean(Object.values(perItem).map((r) => r.encodeRatio!));
    }
    results[`v${version}`] = { ...summary, corpusBytes: totalBytes, items: perItem };
  }
  return results;
}
