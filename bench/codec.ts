// The legacy codec against the public legacy client a user would pick instead (@adiwajshing/baileys@3.5.3,
// bench/peers.json), on the same bytes, interleaved in one run:
// - decode: walink's decodeNode plus decodeWebMessageInfo for each message (what that client's decoder does
//   in one pass) against the client's Decoder.read, on bytes walink encoded (the client's encoder writes
//   LIST_16 sizes in one byte, so its own bytes of a 900-user list are not a valid node);
// - encode: encodeNode against the client's Encoder.write of the same node (byte content as Buffers);
// - frames: parseServerFrame + openFrame + the decode above against the client's decryptWA, on the same
//   sealed frames.
// Before anything is timed, both decoders must agree on every corpus item and frame.
import { randomBytes } from 'node:crypto';
import {
  type BinaryNode,
  decodeNode,
  decodeWebMessageInfo,
  encodeNode,
  parseServerFrame,
  serverBinaryFrame,
  type WebMessageInfo,
} from '../codec/index.ts';
import { openFrame, sealFrame } from '../crypto/index.ts';
import { type CorpusItem, corpus } from './corpus.ts';
import { interleaved, type Rate, round } from './measure.ts';
import { type LegacyPeer, legacyPeer } from './peers.ts';

type Decoded = [
  string,
  Record<string, string> | null,
  Decoded[] | string | Uint8Array | WebMessageInfo | null,
];

/** walink's node decode with each message's WebMessageInfo decoded, as the legacy client's decoder does. */
export function walinkDecode(bytes: Uint8Array): Decoded {
  return withMessages(decodeNode(bytes));
}

function withMessages(node: BinaryNode): Decoded {
  const [tag, attrs, content] = node;
  if (Array.isArray(content)) return [tag, attrs, content.map(withMessages)];
  if (tag === 'message' && content instanceof Uint8Array) return [tag, attrs, decodeWebMessageInfo(content)];
  return [tag, attrs, content];
}

/** A canonical text of a decoded node from either side: JID servers as walink names them, bytes as hex. */
function canonical(value: unknown, peer: LegacyPeer, inNode = true): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'string') return inNode ? value.replace(/@s\.whatsapp\.net$/, '@c.us') : value;
  if (Array.isArray(value)) {
    if (inNode && value.length === 3 && typeof value[0] === 'string' && value[0] === 'message') {
      const content = value[2];
      const message =
        content && !(content instanceof Uint8Array) && typeof content === 'object' && 'toJSON' in content
          ? peer.messageToObject(content)
          : content;
      return [value[0], canonical(value[1], peer), canonical(message, peer, false)];
    }
    return value.map((v) => canonical(v, peer, inNode));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined && inner !== null) out[key] = canonical(inner, peer, inNode);
    }
    return out;
  }
  return value;
}

function forPeer(node: BinaryNode): unknown {
  const [tag, attrs, content] = node;
  if (Array.isArray(content)) return [tag, attrs, content.map(forPeer)];
  if (content instanceof Uint8Array) return [tag, attrs, Buffer.from(content)];
  return [tag, attrs, content];
}

function checkSame(name: string, ours: unknown, theirs: unknown, peer: LegacyPeer): void {
  const a = JSON.stringify(canonical(ours, peer));
  const b = JSON.stringify(canonical(theirs, peer));
  if (a !== b) throw new Error(`bench codec: ${name} decodes differently in walink and ${peer.version}`);
}

/** The ratio of two interleaved rates, by CPU time (see `interleaved`). */
function ratio(ours: Rate, theirs: Rate): number {
  return round(
    (ours.opsPerCpuSecond ?? ours.opsPerSecond) / (theirs.opsPerCpuSecond ?? theirs.opsPerSecond),
    2,
  );
}

function geomean(values: number[]): number {
  return round(Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length), 2);
}

function codecItem(item: CorpusItem, peer: LegacyPeer) {
  const buffer = Buffer.from(item.bytes);
  const peerNode = forPeer(item.node);
  checkSame(item.name, walinkDecode(item.bytes), peer.decode(buffer), peer);
  const rates = interleaved({
    decode: () => walinkDecode(item.bytes),
    peerDecode: () => peer.decode(buffer),
    encode: () => encodeNode(item.node),
    peerEncode: () => peer.encode(peerNode),
  });
  const mb = item.bytes.length / 1e6;
  return {
    bytes: item.bytes.length,
    nodes: item.nodeCount,
    decodeMBps: round(rates.decode.opsPerSecond * mb),
    peerDecodeMBps: round(rates.peerDecode.opsPerSecond * mb),
    decodeRatio: ratio(rates.decode, rates.peerDecode),
    encodeMBps: round(rates.encode.opsPerSecond * mb),
    peerEncodeMBps: round(rates.peerEncode.opsPerSecond * mb),
    encodeRatio: ratio(rates.encode, rates.peerEncode),
  };
}

function frameItem(item: CorpusItem, peer: LegacyPeer) {
  const keys = { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
  const frame = serverBinaryFrame('1605000000.--42', sealFrame(keys, item.bytes));
  const frameBuffer = Buffer.from(frame);
  const macKey = Buffer.from(keys.macKey);
  const encKey = Buffer.from(keys.encKey);
  const ours = () => {
    const parsed = parseServerFrame(frame, true);
    if (parsed.kind !== 'binary') throw new Error('not a binary frame');
    return walinkDecode(openFrame(keys, parsed.payload));
  };
  const theirs = peer.decryptWA(frameBuffer, macKey, encKey) as [string, unknown];
  checkSame(`the frame of ${item.name}`, ours(), theirs[1], peer);
  const rates = interleaved({
    open: ours,
    peerOpen: () => peer.decryptWA(frameBuffer, macKey, encKey),
  });
  return {
    frameBytes: frame.length,
    framesPerSecond: Math.round(rates.open.opsPerSecond),
    peerFramesPerSecond: Math.round(rates.peerOpen.opsPerSecond),
    ratio: ratio(rates.open, rates.peerOpen),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const peer = legacyPeer();
  const items = corpus();
  const nodes: Record<string, ReturnType<typeof codecItem>> = {};
  const frames: Record<string, ReturnType<typeof frameItem>> = {};
  for (const item of items) {
    console.error(`bench codec: ${item.name}…`);
    nodes[item.name] = codecItem(item, peer);
    frames[item.name] = frameItem(item, peer);
  }
  const all = Object.values(nodes);
  return {
    reference: peer.version,
    decodeRatioGeomean: geomean(all.map((n) => n.decodeRatio)),
    encodeRatioGeomean: geomean(all.map((n) => n.encodeRatio)),
    frameRatioGeomean: geomean(Object.values(frames).map((f) => f.ratio)),
    nodes,
    frames,
  };
}
