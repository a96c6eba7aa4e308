// crypto/bytes.ts: beBytes, the big-endian fixed-width integer of the MD stanzas and payloads.
import { describe, expect, it } from 'vitest';
import { beBytes, toHex } from '../../crypto/index.ts';

describe('beBytes', () => {
  it('writes a value big-endian in the given width', () => {
    expect(toHex(beBytes(0x01020304, 4))).toBe('01020304');
    expect(toHex(beBytes(1, 3))).toBe('000001');
    expect(toHex(beBytes(0, 2))).toBe('0000');
  });

  it('keeps the low bytes when the value is wider than the width', () => {
    expect(toHex(beBytes(0x01020304, 3))).toBe('020304');
    expect(toHex(beBytes(0xffffffff, 4))).toBe('ffffffff');
  });

  it('handles values above 2^32 without 32-bit overflow', () => {
    expect(toHex(beBytes(2 ** 40 + 5, 6))).toBe('010000000005');
  });
});
