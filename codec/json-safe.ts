// Values as JSON for scripts and pages (session events as JSON lines, inspection snapshots): bytes become
// base64, and the fields the protocol keeps secret (keys, tokens, the pairing secret) never leave the process.
const SECRET_FIELDS = new Set([
  'mediaKey',
  'encKey',
  'macKey',
  'secret',
  'clientToken',
  'serverToken',
  'browserToken',
  // Every private key: legacy pairing pairs, and the MD noise, identity, signed pre-key and pair-code
  // ephemeral pairs (docs/protocol-md.md §15).
  'privateKey',
  // MD: the HMAC key of pair-success, in the QR code only (docs/protocol-md.md §6.2, §6.5).
  'advSecret',
  // MD: app-state sync keys shared by the phone (docs/protocol-md.md §13), inside `server.message` events.
  'keyData',
]);

/** A JSON-ready copy of `value`: Uint8Array → base64, secret-named fields → "[redacted]", bigint → string. */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[too deep]';
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((item) => jsonSafe(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (field === undefined) continue;
      out[key] = SECRET_FIELDS.has(key) ? '[redacted]' : jsonSafe(field, depth + 1);
    }
    return out;
  }
  return value;
}
