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
  'privateKey',
  // multi-device: the adv secret keys pair-success's HMAC (docs/protocol-md.md §6.5); app-state sync key
  // data arrives inside `server.message` events (§13), which the inspector shows.
  'advSecret',
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
