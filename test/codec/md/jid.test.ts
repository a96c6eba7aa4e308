import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deviceOf,
  formatMdJid,
  isSameUser,
  isServerJid,
  MD_SERVERS,
  type MdJid,
  parseMdJid,
  toUserJid,
  tryParseMdJid,
} from '../../../codec/md/index.ts';

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('parseMdJid', () => {
  it('reads each form', () => {
    const cases: [string, MdJid][] = [
      ['15551234567@s.whatsapp.net', { user: '15551234567', server: 's.whatsapp.net' }],
      ['15551234567:3@s.whatsapp.net', { user: '15551234567', server: 's.whatsapp.net', device: 3 }],
      ['15551234567:0@s.whatsapp.net', { user: '15551234567', server: 's.whatsapp.net', device: 0 }],
      [
        '15551234567.2:3@s.whatsapp.net',
        { user: '15551234567', server: 's.whatsapp.net', agent: 2, device: 3 },
      ],
      ['123456789012345:99@lid', { user: '123456789012345', server: 'lid', device: 99 }],
      ['15551234567:9@hosted', { user: '15551234567', server: 'hosted', device: 9 }],
      ['123456789012345@hosted.lid', { user: '123456789012345', server: 'hosted.lid' }],
      ['120363012345678901@g.us', { user: '120363012345678901', server: 'g.us' }],
      ['15551234567-1577700000@g.us', { user: '15551234567-1577700000', server: 'g.us' }],
      ['status@broadcast', { user: 'status', server: 'broadcast' }],
      ['120363000000000001@newsletter', { user: '120363000000000001', server: 'newsletter' }],
      ['100012345678901:5@msgr', { user: '100012345678901', server: 'msgr', device: 5 }],
      ['7-123456789:1@interop', { user: '123456789', server: 'interop', integrator: 7, device: 1 }],
      ['16505361212@c.us', { user: '16505361212', server: 'c.us' }],
      ['@s.whatsapp.net', { user: '', server: 's.whatsapp.net' }],
      ['@g.us', { user: '', server: 'g.us' }],
    ];
    for (const [text, jid] of cases) {
      expect(parseMdJid(text)).toEqual(jid);
      expect(formatMdJid(jid)).toBe(text);
    }
  });

  it('refuses malformed JIDs with BAD_JID', () => {
    const bad = [
      '',
      's.whatsapp.net', // a server without @ is a token, not a JID
      '1@example.com',
      '1@',
      '1@s.whatsapp.net@s.whatsapp.net',
      ':3@s.whatsapp.net',
      '1:@s.whatsapp.net',
      '1:256@s.whatsapp.net',
      '1:03@s.whatsapp.net',
      '1:-1@s.whatsapp.net',
      '1:3:4@s.whatsapp.net',
      '1.2.3@s.whatsapp.net',
      '1.2:3@lid', // an agent is for s.whatsapp.net and c.us
      '1:3@g.us', // groups have no devices
      'a b@s.whatsapp.net',
      '123:1@interop', // no integrator
      '70000-1:1@interop',
      '1:70000@msgr',
    ];
    for (const text of bad) {
      expect(
        code(() => parseMdJid(text)),
        text,
      ).toBe('BAD_JID');
      expect(tryParseMdJid(text)).toBeUndefined();
    }
    expect(code(() => parseMdJid(5 as unknown as string))).toBe('BAD_JID');
  });
});

describe('formatMdJid', () => {
  it('refuses parts that do not form a JID', () => {
    expect(code(() => formatMdJid({ user: '1.5', server: 's.whatsapp.net' }))).toBe('BAD_JID');
    expect(code(() => formatMdJid({ user: '1', server: 'g.us', device: 2 }))).toBe('BAD_JID');
    expect(code(() => formatMdJid({ user: '1', server: 's.whatsapp.net', device: 1.5 }))).toBe('BAD_JID');
    expect(code(() => formatMdJid({ user: '1', server: 'interop' }))).toBe('BAD_JID');
    expect(code(() => formatMdJid({ user: '', server: 's.whatsapp.net', device: 1 }))).toBe('BAD_JID');
  });

  it('round-trips every valid JID (property)', () => {
    const servers = fc.constantFrom(...MD_SERVERS);
    const jid = fc
      .record({
        user: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
        server: servers,
        device: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        agent: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        integrator: fc.integer({ min: 0, max: 65535 }),
      })
      .map(({ user, server, device, agent, integrator }) => {
        const parts: MdJid = { user, server };
        if (device !== undefined && !['g.us', 'broadcast', 'newsletter'].includes(server))
          parts.device = device;
        if (agent !== undefined && (server === 's.whatsapp.net' || server === 'c.us')) parts.agent = agent;
        if (server === 'interop') parts.integrator = integrator;
        return parts;
      });
    fc.assert(
      fc.property(jid, (parts) => {
        const text = formatMdJid(parts);
        expect(parseMdJid(text)).toEqual(parts);
        expect(formatMdJid(parseMdJid(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('helpers', () => {
  it('toUserJid drops agent and device', () => {
    expect(toUserJid('15551234567.2:3@s.whatsapp.net')).toBe('15551234567@s.whatsapp.net');
    expect(toUserJid('1:3@lid')).toBe('1@lid');
    expect(toUserJid('7-9:1@interop')).toBe('7-9@interop');
    expect(toUserJid(parseMdJid('status@broadcast'))).toBe('status@broadcast');
  });

  it('isSameUser compares user and server, not devices', () => {
    expect(isSameUser('1:3@s.whatsapp.net', '1@s.whatsapp.net')).toBe(true);
    expect(isSameUser('1:3@s.whatsapp.net', '1:3@lid')).toBe(false);
    expect(isSameUser('1@s.whatsapp.net', '2@s.whatsapp.net')).toBe(false);
    expect(isSameUser('7-9:1@interop', '8-9:1@interop')).toBe(false);
    expect(code(() => isSameUser('1@nowhere', '1@s.whatsapp.net'))).toBe('BAD_JID');
  });

  it('deviceOf reads an absent device as 0; isServerJid spots @server', () => {
    expect(deviceOf('1:7@s.whatsapp.net')).toBe(7);
    expect(deviceOf('1@s.whatsapp.net')).toBe(0);
    expect(isServerJid('@s.whatsapp.net')).toBe(true);
    expect(isServerJid('1@s.whatsapp.net')).toBe(false);
  });
});
