// The receiver is where a server's fields enter: every one is checked there (docs/protocol.md §2), so a
// hostile answer or push becomes a typed failure or a dropped frame with a code, never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Receiver, type RequestKind, TagLedger } from '../../actors/index.ts';
import { buildQrText } from '../../codec/index.ts';
import type { SocketEvent } from '../../machines/index.ts';

const KINDS: RequestKind[] = ['init', 'login', 'reref', 'challenge', 'test', 'goodbye', 'query', 'message'];
const TOKENS = { clientToken: 'Y2xpZW50', serverToken: '1@c2VydmVy', browserToken: '1@YnJvd3Nlcg==' };
const WID = '491511112222@c.us';

function answer(kind: RequestKind, data: unknown): SocketEvent {
  const ledger = new TagLedger(null);
  ledger.asked('t1', kind);
  return new Receiver(ledger).receive(`t1,${JSON.stringify(data)}`, false);
}

function push(data: unknown): SocketEvent {
  return new Receiver(new TagLedger(null)).receive(`s1,${JSON.stringify(data)}`, false);
}

function conn(fields: Record<string, unknown>): SocketEvent {
  return push(['Conn', { wid: WID, ...TOKENS, ...fields }]);
}

describe('init and reref answers', () => {
  it('a ref with a comma in init is a typed failure, and what it refuses could not have made a QR text', () => {
    expect(() =>
      buildQrText({ ref: 'a,b', publicKey: new Uint8Array(32), clientId: 'AAAAAAAAAAAAAAAAAAAAAA==' }),
    ).toThrow();
    const event = answer('init', { status: 200, ref: '1@abc,def', ttl: 20_000 });
    expect(event).toMatchObject({ type: 'init.failed', status: 'invalid' });
    expect((event as { reason: string }).reason).toMatch(/comma/);
  });

  it('init refs that are empty, too long, not text or with control characters are refused', () => {
    for (const ref of ['', 'x'.repeat(257), 42, 'a\nb', 'a b', null])
      expect(answer('init', { status: 200, ref, ttl: 20_000 })).toMatchObject({ status: 'invalid' });
    expect(answer('init', { status: 200, ref: '1@ok', ttl: 'soon' })).toMatchObject({ status: 'invalid' });
    expect(answer('init', { status: 200, ref: '1@ok', ttl: 20_000 })).toEqual({
      type: 'init.ok',
      ref: '1@ok',
      ttl: 20_000,
    });
    expect(answer('init', { status: 200, ref: '1@ok' })).toEqual({
      type: 'init.ok',
      ref: '1@ok',
      ttl: 20_000,
    });
  });

  it('a reref answered with a comma in its ref is dropped with FRAME_BAD_ANSWER', () => {
    expect(answer('reref', { status: 200, ref: 'a,b', ttl: 20_000 })).toMatchObject({
      type: 'server.frameDropped',
      code: 'FRAME_BAD_ANSWER',
    });
    expect(answer('reref', { status: 200, ref: 'ok', ttl: -5 })).toMatchObject({ code: 'FRAME_BAD_ANSWER' });
    expect(answer('reref', { status: 200, ref: '1@new', ttl: 2 ** 40 })).toEqual({
      type: 'reref.result',
      status: 200,
      ref: '1@new',
      ttl: 2 ** 40, // a duration: the machine caps what it believes (qrTtlMax)
    });
  });
});

describe('Conn pushes (docs/protocol.md §2.3)', () => {
  it('accepts a real one', () => {
    expect(conn({ binVersion: 11, pushname: 'Phone 2222', platform: 'android' })).toEqual({
      type: 'server.conn',
      conn: { wid: WID, ...TOKENS, binVersion: 11, pushname: 'Phone 2222', platform: 'android' },
    });
  });

  it('refuses empty tokens, a 5 MB token and a wid that is a path: the frame is dropped, nothing stored', () => {
    const refused = [
      { clientToken: '' },
      { serverToken: '' },
      { browserToken: '' },
      { serverToken: 'x'.repeat(5 * 1024 * 1024) },
      { clientToken: 'with space' },
      { wid: '../../../tmp/pwned' },
      { wid: '' },
      { wid: '491511112222@c.us/../../x' },
      { secret: 'y'.repeat(2_000) },
      { binVersion: 11.5 },
    ];
    for (const fields of refused) expect(conn(fields)).toMatchObject({ code: 'FRAME_BAD_CONN' });
  });

  it('a binVersion walink does not decode is its own event (the session fails with a reason)', () => {
    expect(conn({ binVersion: 12 })).toEqual({ type: 'conn.unsupported', binVersion: 12 });
  });

  it('leaves out optional fields it cannot take instead of carrying them', () => {
    const event = conn({ pushname: 'a\u0000b', platform: 'p'.repeat(100), ref: 'a,b' });
    expect(event).toEqual({ type: 'server.conn', conn: { wid: WID, ...TOKENS } });
  });

  it('reads an @s.whatsapp.net wid as the @c.us account', () => {
    expect(conn({ wid: '491511112222@s.whatsapp.net' })).toMatchObject({ conn: { wid: WID } });
  });
});

describe('other pushes', () => {
  it('a disconnect with an odd kind is dropped, not read as an unlink', () => {
    expect(push(['Cmd', { type: 'disconnect', kind: 5 }])).toMatchObject({ code: 'FRAME_BAD_PUSH' });
    expect(push(['Cmd', { type: 'disconnect', kind: 'replaced' }])).toEqual({
      type: 'cmd.disconnect',
      kind: 'replaced',
    });
  });

  it('a challenge too long to be one is dropped', () => {
    expect(push(['Cmd', { type: 'challenge', challenge: 'QUFB'.repeat(1_000) }])).toMatchObject({
      code: 'FRAME_BAD_CHALLENGE',
    });
  });

  it('a message ack needs an id of printable text', () => {
    expect(push(['Msg', { cmd: 'ack', id: { x: 1 } }])).toMatchObject({ code: 'FRAME_BAD_PUSH' });
    expect(push(['Msg', { cmd: 'ack', id: '3EB0AA', ack: 3 }])).toEqual({
      type: 'server.receipts',
      receipts: [{ type: 'read', id: '3EB0AA' }],
    });
  });
});

describe('anything at all', () => {
  const EVENT_TYPES = /^(socket|init|reref|login|challenge|logout|cmd|conn|server)\.[a-zA-Z]+$/;

  it('any JSON as the answer to any request, or as any push, is a typed event: never an exception', () => {
    const hostileString = fc.oneof(fc.string(), fc.constantFrom('a,b', '', '../../x', 'x'.repeat(300)));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        hostileString,
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(
          fc.constantFrom(
            'status',
            'ref',
            'ttl',
            'tos',
            't',
            'wid',
            'clientToken',
            'serverToken',
            'browserToken',
            'secret',
            'binVersion',
            'type',
            'kind',
            'challenge',
            'id',
            'cmd',
            'ack',
            'from',
            'version',
          ),
          tie('node'),
          { maxKeys: 8 },
        ),
      ),
    })).node;
    const pushes = fc.tuple(fc.constantFrom('Conn', 'Cmd', 'Stream', 'Pong', 'Msg', 'Props'), value);
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), value, pushes, (kind, data, pushed) => {
        for (const event of [answer(kind, data), push(pushed)]) expect(event.type).toMatch(EVENT_TYPES);
      }),
      { numRuns: 2_000 },
    );
  });
});
