// What the server says, as docs/protocol.md §2 and 3 spell it: the Conn object, Stream and Props pushes,
// and the binary responses to contacts and chat queries.
import type { BinaryNode } from '../../codec/index.ts';
import type { Phone, Tokens } from './world.ts';

export const SERVER_VERSION = '2.2142.12';
export const MD_UPGRADE_VERSION = '2.2126.11';

export function connPayload(
  phone: Phone,
  tokens: Tokens,
  extra: { ref?: string; secret?: string },
): ['Conn', Record<string, unknown>] {
  return [
    'Conn',
    {
      ...(extra.ref ? { ref: extra.ref } : {}),
      wid: phone.wid,
      connected: true,
      isResponse: 'false',
      serverToken: tokens.serverToken,
      browserToken: tokens.browserToken,
      clientToken: tokens.clientToken,
      lc: 'US',
      lg: 'en',
      locales: 'en-US',
      is24h: true,
      ...(extra.secret ? { secret: extra.secret } : {}),
      protoVersion: [0, 17],
      binVersion: 11,
      battery: 87,
      plugged: false,
      platform: phone.platform,
      features: { KEY_PARSE_TT: true, FLAGS: 'EAEYAQ==' },
      phone: {
        wa_version: '2.21.23.23',
        mcc: '262',
        mnc: '001',
        os_version: '11',
        device_manufacturer: 'walink',
        device_model: 'emulated phone',
        os_build_number: 'walink-emulator',
      },
      tos: 0,
      pushname: phone.pushname,
    },
  ];
}

export const STREAM_UPDATE = ['Stream', 'update', false, SERVER_VERSION];
export const PROPS = [
  'Props',
  {
    imageMaxKBytes: 1024,
    maxParticipants: 257,
    videoMaxEdge: 960,
    groupDescLength: 2048,
    mediaMaxKBytes: 65536,
  },
];

/** A small address book every emulated phone has: stable, derived from its number. */
export function contactsOf(phone: Phone): { jid: string; name: string; notify: string }[] {
  const base = Number(phone.number.slice(-6)) || 100000;
  return Array.from({ length: 3 }, (_, i) => {
    const number = `4915${String(base + 1000 * (i + 1)).padStart(8, '0')}`;
    return { jid: `${number}@c.us`, name: `Contact ${i + 1}`, notify: `Friend ${i + 1}` };
  });
}

export function contactsResponse(phone: Phone): BinaryNode {
  const users: BinaryNode[] = contactsOf(phone).map((c) => [
    'user',
    { jid: c.jid, notify: c.notify, name: c.name, short: c.name.split(' ')[0]!, vname: '', verify: '0' },
    null,
  ]);
  return ['response', { type: 'contacts', duplicate: 'false' }, users];
}

export function chatResponse(phone: Phone, nowMs: number): BinaryNode {
  const t = String(Math.floor(nowMs / 1000));
  const chats: BinaryNode[] = contactsOf(phone).map((c, i) => [
    'chat',
    {
      jid: c.jid,
      count: String(i),
      t,
      mute: '0',
      spam: 'false',
      modify_tag: String(100 + i),
      name: c.name,
      archive: 'false',
      pin: '0',
    },
    null,
  ]);
  return ['response', { type: 'chat', duplicate: 'false' }, chats];
}
