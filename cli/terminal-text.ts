// Text a remote party wrote (message texts, push names, JIDs, server reasons) made safe for a terminal:
// no escape sequences that retitle the window, clear the screen, move the cursor or hide text, no bidi
// overrides that reorder what is shown, no line breaks that fake a log line of our own.

// Whole sequences go (their parameters would otherwise print as junk): CSI, OSC, DCS/SOS/PM/APC, and the
// two-byte ESC forms; the 8-bit C1 introducers CSI (0x9b) and OSC (0x9d) likewise.
const ESCAPE_SEQUENCE = new RegExp(
  [
    '\\x1b\\[[0-?]*[ -/]*[@-~]?', // CSI … final byte
    '\\x9b[0-?]*[ -/]*[@-~]?', // 8-bit CSI
    '\\x1b\\][^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?', // OSC … BEL or ST
    '\\x9d[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?', // 8-bit OSC
    '\\x1b[PX^_][^\\x1b\\x9c]*(?:\\x1b\\\\|\\x9c)?', // DCS, SOS, PM, APC … ST
    '[\\x90\\x98\\x9e\\x9f][^\\x1b\\x9c]*(?:\\x1b\\\\|\\x9c)?', // their 8-bit forms
    '\\x1b[ -/]*[0-~]?', // ESC with intermediates, e.g. ESC ( B, ESC c
  ].join('|'),
  'g',
);
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
// C0 and C1 controls, DEL, bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every escape sequence and control character removed; line breaks shown as ` ↵ `. */
export function terminalSafe(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(LINE_BREAK, ' ↵ ')
    .replace(/\t/g, ' ')
    .replace(CONTROL, '');
}

// JSON.stringify escapes C0 controls but leaves C1 controls, DEL, bidi controls and U+2028/U+2029 raw;
// escaping them keeps every value identical for a JSON reader and inert on a terminal.
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A JSON text whose characters are all harmless on a terminal (same value once parsed). */
export function terminalSafeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One shell word, whatever the text holds (a server chose the ref inside the QR text). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
