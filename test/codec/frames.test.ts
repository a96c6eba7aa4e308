import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  ackFrame,
  CodecError,
  clientBinaryFrame,
  decodeWebMessageInfo,
  encodeWebMessageInfo,
  FLAG,
  fromProtoJid,
  jsonFrame,
  METRIC,
  newMessageId,
  PING_FRAME,
  parseClientFrame,
  parseJid,
  parseQrText,
  parseServerFrame,
  pongFrame,
  serverBinaryFrame,
  TagGenerator,
  toProtoJid,
  type WebMessageInfo,
} from '../../codec/index.ts';
import { walinkArgs } from '../support/compiled.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('frames (docs/protocol.md §1)', () => {
  it('parses what a server sends: JSON, empty ack, pong, binary', () => {
    expect(parseServerFrame('1.--0,{"status":200}', false)).toEqual({
      kind: 'json',
      tag: '1.--0',
      data: { status: 200 },
    });
    expect(parseServerFrame(enc('s1,["Conn",{}]'), false)).toEqual({
      kind: 'json',
      tag: 's1',
      data: ['Conn', {}],
    });
    expect(parseServerFrame('3EB0ABCDEF0123456789,', false)).toEqual({
      kind: 'ack',
      tag: '3EB0ABCDEF0123456789',
    });
    expect(parseServerFrame('!1600000000123', false)).toEqual({ kind: 'pong', serverTime: 1600000000123 });
    const binary = serverBinaryFrame('preempt-1-2', new Uint8Array([9, 8, 7]));
    expect(parseServerFrame(binary, true)).toEqual({
      kind: 'binary',
      tag: 'preempt-1-2',
      payload: new Uint8Array([9, 8, 7]),
    });
  });

  it('parses what a client sends: ping, JSON with one or two commas, binary with metric and flag', () => {
    expect(parseClientFrame(PING_FRAME, false)).toEqual({ kind: 'ping' });
    expect(parseClientFrame('goodbye,,["admin","Conn","disconnect"]', false)).toEqual({
      kind: 'json',
      tag: 'goodbye',
      data: ['admin', 'Conn', 'disconnect'],
    });
    const frame = clientBinaryFrame(
      '123.--4',
      METRIC.queryContacts,
      FLAG.expectsProcessing,
      new Uint8Array([1, 2]),
    );
    expect(parseClientFrame(frame, true)).toEqual({
      kind: 'binary',
      tag: '123.--4',
      metric: 6,
      flag: 0x80,
      payload: new Uint8Array([1, 2]),
    });
  });

  it('builds frames exactly', () => {
    expect(jsonFrame('goodbye', ['admin', 'Conn', 'disconnect'], { doubleComma: true })).toBe(
      'goodbye,,["admin","Conn","disconnect"]',
    );
    expect(ackFrame('abc')).toBe('abc,');
    expect(pongFrame(12.7)).toBe('!12');
    expect(() => jsonFrame('a,b', 1)).toThrow(CodecError);
  });

  it('refuses malformed frames with typed errors', () => {
    expect(() => parseServerFrame('no comma here', false)).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
    expect(() => parseServerFrame('t,{bad json', false)).toThrow(
      expect.objectContaining({ code: 'BAD_JSON', offset: 2 }),
    );
    expect(() => parseServerFrame('!abc', false)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => parseClientFrame(enc('tag,'), true)).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
    expect(() => parseClientFrame('tag,', false)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(() => parseClientFrame(new Uint8Array(300).fill(65), true)).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
  });

  it('numbers all 39 metrics and the flag bits as docs/protocol.md lists them', () => {
    expect(Object.values(METRIC)).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    expect([METRIC.message, METRIC.presence, METRIC.queryMedia, METRIC.queryQuickReplies]).toEqual([
      16, 8, 4, 39,
    ]);
    expect(FLAG.expectsProcessing | FLAG.available).toBe(0xa0);
  });
});

describe('tags and ids', () => {
  it('counts long and short tags with one counter per connection', () => {
    let now = 1_600_000_123_456;
    const tags = new TagGenerator(() => now);
    expect(tags.long()).toBe('1600000123.--0');
    now += 5000;
    expect(tags.short()).toBe('123.--1');
    expect(tags.long()).toBe('1600000128.--2');
  });

  it('makes web message ids: 3EB0 + 16 upper-case hex', () => {
    expect(newMessageId(() => new Uint8Array([0xab, 1, 2, 3, 4, 5, 6, 0xff]))).toBe('3EB0AB010203040506FF');
    expect(newMessageId()).toMatch(/^3EB0[0-9A-F]{16}$/);
  });
});

describe('JIDs and QR text', () => {
  it('parses user, agent, device and server, and maps c.us ⇄ s.whatsapp.net', () => {
    expect(parseJid('4915112345678.1:2@c.us')).toEqual({
      user: '4915112345678',
      agent: 1,
      device: 2,
      server: 'c.us',
    });
    expect(parseJid('status@broadcast')).toEqual({ user: 'status', server: 'broadcast' });
    expect(toProtoJid('49151@c.us')).toBe('49151@s.whatsapp.net');
    expect(fromProtoJid('49151@s.whatsapp.net')).toBe('49151@c.us');
    expect(() => parseJid('a@')).toThrow(CodecError);
  });

  it('refuses malformed QR text', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    const id = Buffer.alloc(16, 2).toString('base64');
    expect(parseQrText(`1@abc,${key},${id}`).publicKey.length).toBe(32);
    for (const bad of [
      '',
      `1@abc,${key}`,
      `,${key},${id}`,
      `1@abc,${key.slice(4)},${id}`,
      `1@abc,${key},${id},x`,
      `1@abc,${key},!!`,
    ]) {
      expect(() => parseQrText(bad)).toThrow(expect.objectContaining({ code: 'BAD_QR' }));
    }
  });
});

describe('WebMessageInfo protobuf', () => {
  const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  const cases: WebMessageInfo[] = [
    {
      key: { remoteJid: '4915112345678@s.whatsapp.net', fromMe: false, id: '3EB0AAAAAAAAAAAAAAAA' },
      message: { conversation: 'hallo' },
      messageTimestamp: 1_600_000_000,
      status: 2,
      pushName: 'Anna',
    },
    {
      key: { remoteJid: '1@s.whatsapp.net', fromMe: true, id: 'B' },
      message: {
        imageMessage: {
          url: 'https://mmg.whatsapp.net/d/f/x.enc',
          mimetype: 'image/jpeg',
          fileSha256: bytes(32, 1),
          fileEncSha256: bytes(32, 2),
          mediaKey: bytes(32, 3),
          fileLength: 54211,
          height: 10,
          width: 20,
          directPath: '/d/f/x.enc',
          mediaKeyTimestamp: 1_600_000_000,
          caption: 'a cat',
        },
      },
    },
    {
      key: { remoteJid: '1@s.whatsapp.net', id: 'C' },
      message: {
        videoMessage: {
          fileLength: 393736,
          seconds: 3,
          mediaKey: bytes(32, 4),
          streamingSidecar: bytes(70, 5),
          gifPlayback: false,
        },
      },
    },
    {
      key: { remoteJid: '1@g.us', id: 'D', participant: '2@s.whatsapp.net' },
      message: {
        documentMessage: { fileName: 'a.pdf', pageCount: 3, mediaKey: bytes(32, 6) },
        extendedTextMessage: {
          text: 'see',
          contextInfo: { stanzaId: 'Q', mentionedJid: ['3@s.whatsapp.net'] },
        },
      },
    },
  ];

  it.each(cases.map((c) => [c.key.id, c] as const))('round-trips message %s', (_id, info) => {
    expect(decodeWebMessageInfo(encodeWebMessageInfo(info))).toEqual(info);
  });

  it('refuses malformed bytes and invalid objects with CodecError', () => {
    expect(() => decodeWebMessageInfo(new Uint8Array([0x0a, 0xff]))).toThrow(
      expect.objectContaining({ code: 'BAD_PROTO' }),
    );
    expect(() => decodeWebMessageInfo(new Uint8Array([0x12, 0x00]))).toThrow(
      expect.objectContaining({ code: 'BAD_PROTO' }),
    );
    expect(() => encodeWebMessageInfo({ key: { id: 5 } } as unknown as WebMessageInfo)).toThrow(CodecError);
  });
});

describe('walink codec (CLI)', () => {
  const walink = (args: string[], input?: string) =>
    spawnSync(process.execPath, [...walinkArgs(), 'codec', ...args], {
      input,
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('decodes --hex to the node as JSON', () => {
    const run = walink(['decode', '--hex', 'f805445b136bfc0131']);
    expect(run.stdout.trim()).toBe('["query",{"type":"chat","epoch":"1"},null]');
    expect(run.status).toBe(0);
  });

  it('decodes stdin line by line, with an error line for a bad one, and encodes back', () => {
    const run = walink(['decode'], 'f805445b176bfc0131\nf8\nf801f803415b0e\n');
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('["query",{"type":"contacts","epoch":"1"},null]');
    expect(JSON.parse(lines[1]!)).toMatchObject({ code: 'TRUNCATED', offset: 1 });
    expect(lines.length).toBe(3);
    expect(run.status).toBe(0);
    const back = walink(['encode'], `${lines[0]}\n["picture",null,{"hex":"0102"}]\n`);
    expect(back.stdout.trim().split('\n')).toEqual(['f805445b176bfc0131', 'f8023ffc020102']);
  });
});
