// What `walink start` writes to a terminal: nothing a remote party wrote gets its control characters
// through, the QR code fits an 80×24 screen, and colours only where a terminal asked for them.
import { PassThrough } from 'node:stream';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import type { SessionAppEvent } from '../../actors/index.ts';
import { humanPrinter, jsonPrinter, qrArt, terminalSafe, wantsColor } from '../../cli/index.ts';

function capture(): { out: PassThrough; text(): string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

const HOSTILE = 'hi\x1b]0;pwned\x07 there\x1b[2J\x1b[H\u009b31m\u202egnp.exe\u2066';

function messageEvent(text: string, pushName: string): SessionAppEvent {
  return {
    type: 'message',
    add: 'relay',
    message: {
      id: '3EB0AAAA',
      chat: `491700000001@c.us\x1b[8m`,
      sender: '491700000001@c.us',
      fromMe: false,
      text,
      pushName,
    },
  } as unknown as SessionAppEvent;
}

// Every byte that starts or ends a terminal control: C0 (tab and line end excepted), DEL, C1, bidi.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

// A QR text as the emulator makes them (ref, public key, clientId): 136 bytes, version 7.
const LEGACY_QR =
  '1@qZIFEnu45KsU9wJpQc5q++w8BcqKjjSsxV9XU2U2N+qFUfhJtgG5veHwn8AdNlbg,o8oylAL4arRJRzWmvNr+Gr9CNP1iMBnGkafvuAk7vyw=,1MgUeyW35D6s7BhtTkNt3Q==';

describe('the human printer', () => {
  it('strips escape sequences, C1 controls and bidi overrides from a message text and a push name', async () => {
    const { out, text } = capture();
    await humanPrinter(out, { color: false, terminal: false }).session(
      messageEvent(`${HOSTILE}\nfake line`, `Mallory\x1b]0;pwned\x07\x1b[2J`),
    );
    const printed = text();
    expect(printed.split('\n').filter(Boolean)).toHaveLength(1);
    expect(printed).not.toMatch(CONTROL);
    expect(printed).not.toContain('pwned');
    expect(printed).not.toContain('[2J');
    expect(printed).toMatch(/message {3}Mallory in 491700000001@c\.us: hi theregnp\.exe ↵ fake line\n$/);
  });

  it('keeps ordinary text, including non-Latin scripts and emoji, as it was', () => {
    for (const text of ['plain', 'Grüße 👋', 'مرحبا', '你好', 'a\u200db'])
      expect(terminalSafe(text)).toBe(text);
  });

  it('prints the QR code without ANSI codes when colour is off, and 24 rows for a legacy code', async () => {
    const { out, text } = capture();
    const event = {
      type: 'qr',
      text: LEGACY_QR,
      ref: '1@x',
      ttl: 20_000,
      index: 0,
      expiresAt: Date.now() + 20_000,
    } as SessionAppEvent;
    await humanPrinter(out, { color: false, terminal: false }).session(event);
    const lines = text().split('\n');
    expect(text()).not.toContain('\x1b');
    expect(lines[0]).toMatch(/qr {8}#1, valid for/);
    const art = lines.slice(1, -1);
    expect(art).toHaveLength(24);
    expect(art.every((row) => [...row].length === 47)).toBe(true);
  });

  it('on a terminal draws the QR code after the lines of the same moment, ending the screen', async () => {
    const { out, text } = capture();
    const printer = humanPrinter(out, { color: true, terminal: true });
    await printer.session({
      type: 'qr',
      text: LEGACY_QR,
      ref: '1@x',
      ttl: 20_000,
      index: 0,
      expiresAt: Date.now() + 20_000,
    } as SessionAppEvent);
    await printer.session({ type: 'state', state: 'online.qr.showing', previous: 'online.initializing' });
    printer.note('the phone scans in 3 s');
    await new Promise((resolve) => setImmediate(resolve));
    const rows = qrArt(LEGACY_QR, { color: true });
    // The last 24 rows on the screen are the code itself, and the cursor waits on its last row.
    expect(text().endsWith(rows.join('\n'))).toBe(true);
    expect(text().split('\n').slice(0, 3).join('\n')).toMatch(
      /#1, valid.*\n.*online\.qr\.showing.*\n.*scans in 3 s/,
    );
    const screen = text();
    printer.note('paired');
    expect(text().slice(screen.length)).toMatch(/^\n[\d:.]+ {2}paired\n$/);
  });
});

describe('the QR art', () => {
  it('decodes to the same modules as the QR code of the text (two modules a row, one-module quiet zone)', () => {
    const { modules } = QRCode.create(LEGACY_QR, { errorCorrectionLevel: 'L' });
    expect(modules.size).toBe(45);
    const rows = qrArt(LEGACY_QR, { color: false });
    // Plain art draws light modules: ' ' is dark over dark, '▀' light over dark, '▄' dark over light.
    const light = (row: number, column: number): boolean => {
      const cell = [...rows[Math.floor(row / 2)]!][column]!;
      const upper = row % 2 === 0;
      return cell === '█' || (upper ? cell === '▀' : cell === '▄');
    };
    for (let r = -1; r <= modules.size; r++) {
      for (let c = -1; c <= modules.size; c++) {
        const inside = r >= 0 && c >= 0 && r < modules.size && c < modules.size;
        const dark = inside && modules.get(r, c) === 1;
        expect(light(r + 1, c + 1)).toBe(!dark);
      }
    }
  });
});

describe('colour', () => {
  it('is used only on a terminal, and never with NO_COLOR set', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    expect(wantsColor(tty, {})).toBe(true);
    expect(wantsColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(new PassThrough(), {})).toBe(false);
  });
});

describe('the JSON printer', () => {
  it('keeps the values but writes no raw control, C1 or bidi character', async () => {
    const { out, text } = capture();
    await jsonPrinter(out).session(messageEvent(HOSTILE, 'Mallory\x1b]0;pwned\x07'));
    expect(text()).not.toMatch(CONTROL);
    const line = JSON.parse(text()) as { message: { text: string; pushName: string } };
    expect(line.message.text).toBe(HOSTILE);
    expect(line.message.pushName).toBe('Mallory\x1b]0;pwned\x07');
  });
});

describe('multi-device lines', () => {
  it('prints the pair code, pairing, ready and messages, with nothing a contact wrote left raw', async () => {
    const { out, text } = capture();
    const print = humanPrinter(out, { color: false, terminal: false });
    const events = [
      { type: 'pairCode', code: 'ABCD-1234', ttl: 180_000, expiresAt: Date.now() + 180_000 },
      {
        type: 'md.paired',
        jid: '15551234567:1@s.whatsapp.net',
        lid: null,
        platform: 'android',
        method: 'code',
      },
      { type: 'md.ready', jid: '15551234567:1@s.whatsapp.net' },
      {
        type: 'md.message',
        message: {
          id: 'm',
          from: '4917000000001@s.whatsapp.net',
          t: 1,
          content: { kind: 'text', text: HOSTILE },
        },
      },
      {
        type: 'md.message',
        message: {
          id: 'n',
          from: '15551234567@s.whatsapp.net',
          t: 1,
          content: { kind: 'appStateKeys', count: 1 },
        },
      },
      { type: 'md.pairCode.failed', reason: 'rateLimited', status: 429, backoffMs: 60_000 },
    ] as SessionAppEvent[];
    for (const event of events) await print.session(event);
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/code {6}ABCD-1234: type it on the phone .*valid for 180 s$/);
    expect(lines[1]).toMatch(/paired {4}with 15551234567:1@s\.whatsapp\.net by pair code \(android\)$/);
    expect(lines[2]).toMatch(/ready {5}as 15551234567:1@s\.whatsapp\.net$/);
    expect(lines[3]).toContain('message   4917000000001@s.whatsapp.net: hi');
    expect(lines[3]).not.toMatch(CONTROL);
    expect(lines[4]).toMatch(/\[1 app-state keys\]$/);
    expect(lines[5]).toMatch(/refused: rateLimited \(429\), try again in 60 s$/);
  });
});
