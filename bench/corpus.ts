// A corpus of realistic legacy nodes in the shapes of docs/protocol.md §3 ("Messages inside nodes"): a 900-user
// contacts response, a 300-chat list, an action of 200 receipts, and relay actions carrying 50 messages each
// (protobuf WebMessageInfo payloads of ~200 bytes) or 1 (a live message).
import { type BinaryNode, encodeNode, encodeWebMessageInfo } from '../codec/index.ts';

function phone(i: number): string {
  return `49151${String(10_000_000 + i * 7919).slice(-8)}`;
}

export function contactsResponse(count = 900): BinaryNode {
  const users: BinaryNode[] = [];
  for (let i = 0; i < count; i++) {
    users.push([
      'user',
      {
        jid: `${phone(i)}@c.us`,
        notify: `Contact ${i}`,
        name: `Contact Number ${i}`,
        short: `C${i}`,
        ...(i % 10 === 0 ? { vname: `Business ${i}`, verify: '2' } : {}),
      },
      null,
    ]);
  }
  return ['response', { type: 'contacts', duplicate: 'false' }, users];
}

export function chatList(count = 300): BinaryNode {
  const chats: BinaryNode[] = [];
  for (let i = 0; i < count; i++) {
    chats.push([
      'chat',
      {
        jid: i % 5 === 0 ? `${phone(i)}-1600000000@g.us` : `${phone(i)}@c.us`,
        count: String(i % 7),
        t: String(1_600_000_000 + i * 61),
        mute: i % 9 === 0 ? String(1_700_000_000) : '0',
        spam: 'false',
        modify_tag: String(100_000 + i),
        name: `Chat ${i}`,
        ...(i % 11 === 0 ? { archive: 'true' } : {}),
        ...(i % 13 === 0 ? { pin: String(1_600_000_000) } : {}),
      },
      null,
    ]);
  }
  return ['response', { type: 'chat', duplicate: 'false' }, chats];
}

export function relayAction(messages = 50, seed = 0): BinaryNode {
  const children: BinaryNode[] = [];
  for (let i = 0; i < messages; i++) {
    const text = `message ${seed}-${i}: ${'lorem ipsum dolor sit amet '.repeat(5)}`;
    const info = encodeWebMessageInfo({
      key: {
        remoteJid: `${phone(i % 17)}@s.whatsapp.net`,
        fromMe: i % 3 === 0,
        id: `3EB0${(seed * 1000 + i).toString(16).toUpperCase().padStart(16, '0')}`,
      },
      message: { conversation: text },
      messageTimestamp: 1_600_000_000 + i,
      status: 3,
      pushName: `Sender ${i % 17}`,
    });
    children.push(['message', null, info]);
  }
  return ['action', { add: 'last' }, children];
}

export function receiptAction(count = 200): BinaryNode {
  const receipts: BinaryNode[] = [];
  for (let i = 0; i < count; i++) {
    receipts.push([
      'received',
      {
        type: i % 3 === 0 ? 'message' : 'read',
        index: `3EB0${(i * 7919).toString(16).toUpperCase().padStart(16, '0')}`,
        jid: i % 4 === 0 ? `${phone(i % 23)}-1600000000@g.us` : `${phone(i % 23)}@c.us`,
        ...(i % 4 === 0 ? { owner: 'true' } : {}),
      },
      null,
    ]);
  }
  return ['action', { add: 'relay' }, receipts];
}

export interface CorpusItem {
  name: string;
  node: BinaryNode;
  bytes: Uint8Array;
  nodeCount: number;
}

function countNodes(node: BinaryNode): number {
  const content = node[2];
  return 1 + (Array.isArray(content) ? content.reduce((sum, child) => sum + countNodes(child), 0) : 0);
}

export function corpus(): CorpusItem[] {
  const items: [string, BinaryNode][] = [
    ['contacts900', contactsResponse()],
    ['chats300', chatList()],
    ['receipts200', receiptAction()],
    ['actions50', relayAction(50, 1)],
    ['action1', relayAction(1, 2)],
  ];
  return items.map(([name, node]) => ({ name, node, bytes: encodeNode(node), nodeCount: countNodes(node) }));
}
