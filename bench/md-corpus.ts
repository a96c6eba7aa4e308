// A corpus of realistic MD stanzas (docs/protocol-md.md): offline message delivery with Signal payloads, receipts
// with lists of ids, notifications (devices, encrypt, groups), IQ results with many children (usync device
// lists, group metadata), pre-key uploads, and the small control stanzas around them. Values come from a seeded
// generator and repeat as they do on a real connection (a few chats, many senders) so that neither an
// unrealistic cache hit rate nor unrealistically unique data flatters a decoder.
import type { MdNode } from '../codec/md/index.ts';

/** xorshift32: the same corpus on every run. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    int: (max: number) => next() % max,
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = next() & 0xff;
      return out;
    },
    hex(length: number): string {
      let text = '';
      for (let i = 0; i < length; i++) text += '0123456789ABCDEF'[next() & 15];
      return text;
    },
  };
}

type Random = ReturnType<typeof generator>;

const node = (tag: string, attrs: Record<string, string> = {}, content?: MdNode['content']): MdNode => ({
  tag,
  attrs,
  content,
});

function phone(random: Random): string {
  return `${[1, 44, 49, 55, 91][random.int(5)]}${String(1_000_000_000 + random.int(999_999_999)).slice(0, 10)}`;
}
function lid(random: Random): string {
  return String(100_000_000_000_000 + random.int(2 ** 31) * 1000 + random.int(1000));
}
function messageId(random: Random): string {
  return `3EB0${random.hex(16)}`;
}
const time = (random: Random) => String(1_767_225_600 + random.int(86_400));

/** One message as offline delivery hands it over: direct (pkmsg/msg) or in a group (skmsg). */
function message(random: Random, contacts: string[], groups: string[]): MdNode {
  const from = contacts[random.int(contacts.length)]!;
  const inGroup = random.int(3) === 0;
  const attrs: Record<string, string> = inGroup
    ? {
        from: groups[random.int(groups.length)]!,
        id: messageId(random),
        t: time(random),
        type: 'text',
        participant: `${from.split('@')[0]}:${random.int(4)}@lid`,
        notify: `Contact ${random.int(500)}`,
        addressing_mode: 'lid',
        offline: '1',
      }
    : {
        from,
        id: messageId(random),
        t: time(random),
        type: 'text',
        notify: `Contact ${random.int(500)}`,
        offline: '1',
      };
  const encs = inGroup
    ? [
        node('enc', { v: '2', type: 'skmsg' }, random.bytes(60 + random.int(200))),
        ...(random.int(4) === 0
          ? [node('enc', { v: '2', type: 'pkmsg' }, random.bytes(400 + random.int(300)))]
          : []),
      ]
    : [
        node(
          'enc',
          { v: '2', type: random.int(5) === 0 ? 'pkmsg' : 'msg' },
          random.bytes(120 + random.int(900)),
        ),
      ];
  return node('message', attrs, encs);
}

function receipt(random: Random, contacts: string[]): MdNode {
  const ids = Array.from({ length: 1 + random.int(20) }, () => node('item', { id: messageId(random) }));
  return node(
    'receipt',
    { from: contacts[random.int(contacts.length)]!, id: messageId(random), t: time(random), type: 'read' },
    ids.length > 1 ? [node('list', {}, ids)] : undefined,
  );
}

function notification(random: Random, contacts: string[], groups: string[]): MdNode {
  const kind = random.int(3);
  const base = { id: String(random.int(2 ** 31)), t: time(random) };
  if (kind === 0) {
    return node('notification', { from: '@s.whatsapp.net', type: 'encrypt', ...base }, [
      node('count', { value: String(random.int(30)) }),
    ]);
  }
  if (kind === 1) {
    const user = contacts[random.int(contacts.length)]!.split('@')[0]!;
    return node('notification', { from: `${user}@s.whatsapp.net`, type: 'devices', ...base }, [
      node('add', { device_hash: random.hex(10) }, [
        node('device', {
          jid: `${user}:${1 + random.int(20)}@s.whatsapp.net`,
          'key-index': String(random.int(9)),
        }),
        node('key-index-list', { ts: time(random) }, random.bytes(120)),
      ]),
    ]);
  }
  const participants = Array.from({ length: 1 + random.int(5) }, () =>
    node('participant', { jid: `${lid(random)}@lid`, phone_number: `${phone(random)}@s.whatsapp.net` }),
  );
  return node(
    'notification',
    {
      from: groups[random.int(groups.length)]!,
      type: 'w:gp2',
      participant: `${lid(random)}@lid`,
      addressing_mode: 'lid',
      ...base,
    },
    [node('add', {}, participants)],
  );
}

/** A usync device-list result for `count` users, as asked before sending to a group. */
function usyncResult(random: Random, count: number): MdNode {
  const users = Array.from({ length: count }, () => {
    const user = phone(random);
    const devices = Array.from({ length: 1 + random.int(4) }, (_, i) =>
      node(
        'device',
        i === 0 ? { id: '0' } : { id: String(1 + random.int(30)), 'key-index': String(random.int(9)) },
      ),
    );
    return node('user', { jid: `${user}@s.whatsapp.net` }, [
      node('devices', {}, [
        node('device-list', {}, devices),
        node('key-index-list', { ts: time(random) }, random.bytes(120)),
      ]),
    ]);
  });
  return node(
    'iq',
    { from: '@s.whatsapp.net', id: `${random.int(99_999)}.${random.int(999)}-3`, type: 'result' },
    [
      node(
        'usync',
        { sid: `${random.int(2 ** 31)}`, mode: 'query', last: 'true', index: '0', context: 'message' },
        [node('result', {}, [node('devices', {})]), node('list', {}, users)],
      ),
    ],
  );
}

function groupMetadata(random: Random, count: number): MdNode {
  const participants = Array.from({ length: count }, (_, i) =>
    node('participant', {
      jid: `${lid(random)}@lid`,
      phone_number: `${phone(random)}@s.whatsapp.net`,
      ...(i < 3 ? { type: i === 0 ? 'superadmin' : 'admin' } : {}),
    }),
  );
  return node(
    'iq',
    { from: `120363${random.int(1e9)}@g.us`, id: String(random.int(99_999)), type: 'result' },
    [
      node(
        'group',
        {
          id: `120363${random.int(1e9)}`,
          creator: `${lid(random)}@lid`,
          creation: time(random),
          subject: 'Weekend hiking — Alpine club',
          s_t: time(random),
          s_o: `${lid(random)}@lid`,
          size: String(count),
          addressing_mode: 'lid',
        },
        [
          ...participants,
          node('description', { id: messageId(random) }, [node('body', {}, random.bytes(200))]),
        ],
      ),
    ],
  );
}

/** The companion's pre-key upload: registration id, identity, `count` one-time keys and the signed pre-key. */
function preKeyUpload(random: Random, count: number): MdNode {
  const keyId = (id: number) => Uint8Array.of(id >> 16, (id >> 8) & 0xff, id & 0xff);
  return node(
    'iq',
    {
      id: `${random.int(99_999)}.${random.int(999)}-2`,
      xmlns: 'encrypt',
      type: 'set',
      to: '@s.whatsapp.net',
    },
    [
      node('registration', {}, random.bytes(4)),
      node('type', {}, Uint8Array.of(5)),
      node('identity', {}, random.bytes(32)),
      node(
        'list',
        {},
        Array.from({ length: count }, (_, i) =>
          node('key', {}, [node('id', {}, keyId(i + 1)), node('value', {}, random.bytes(32))]),
        ),
      ),
      node('skey', {}, [
        node('id', {}, keyId(1)),
        node('value', {}, random.bytes(32)),
        node('signature', {}, random.bytes(64)),
      ]),
    ],
  );
}

/** Acks, presences, chat states and ib stanzas: many small nodes. */
function control(random: Random, contacts: string[]): MdNode {
  const to = contacts[random.int(contacts.length)]!;
  switch (random.int(4)) {
    case 0:
      return node('ack', { class: 'message', id: messageId(random), to, t: time(random) });
    case 1:
      return node('presence', {
        from: to,
        type: random.int(2) ? 'available' : 'unavailable',
        last: time(random),
      });
    case 2:
      return node('chatstate', { from: to }, [node(random.int(2) ? 'composing' : 'paused', {})]);
    default:
      return node('ib', { from: '@s.whatsapp.net' }, [node('offline', { count: String(random.int(100)) })]);
  }
}

export interface MdCorpusItem {
  name: string;
  stanzas: MdNode[];
}

export function mdCorpus(): MdCorpusItem[] {
  const random = generator(0x5eed);
  const contacts = Array.from({ length: 300 }, () => `${phone(random)}@s.whatsapp.net`);
  const groups = Array.from({ length: 20 }, () => `120363${String(random.int(1e9)).padStart(12, '0')}@g.us`);
  return [
    { name: 'messages', stanzas: Array.from({ length: 200 }, () => message(random, contacts, groups)) },
    { name: 'receipts', stanzas: Array.from({ length: 200 }, () => receipt(random, contacts)) },
    {
      name: 'notifications',
      stanzas: Array.from({ length: 200 }, () => notification(random, contacts, groups)),
    },
    { name: 'usyncResult', stanzas: [usyncResult(random, 250)] },
    { name: 'groupMetadata', stanzas: [groupMetadata(random, 512)] },
    { name: 'preKeyUpload', stanzas: [preKeyUpload(random, 812)] },
    { name: 'control', stanzas: Array.from({ length: 300 }, () => control(random, contacts)) },
  ];
}

export function countNodes(node: MdNode): number {
  return (
    1 + (Array.isArray(node.content) ? node.content.reduce((sum, child) => sum + countNodes(child), 0) : 0)
  );
}
