import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  decryptMedia,
  encryptMedia,
  expandMediaKey,
  MEDIA_HKDF_INFO,
  MEDIA_TYPES,
  mediaSidecar,
  sha256,
  toHex,
} from '../../crypto/index.ts';
import { MEDIA_SAMPLES, readFixture } from '../support/fixtures.ts';

describe('media samples (test/fixtures/vectors/media)', () => {
  it.each(MEDIA_SAMPLES)('$name decrypts to exactly its original with every check on', ({ name, type }) => {
    const object = readFixture(`media/${name}.encrypted`);
    const mediaKey = readFixture(`media/${name}.key`);
    const original = readFixture(`media/${name}.original`);
    const plaintext = decryptMedia(object, mediaKey, type, {
      fileEncSha256: sha256(object),
      fileSha256: sha256(original),
      fileLength: original.length,
    });
    expect(plaintext.length).toBe(original.length);
    expect(toHex(sha256(plaintext))).toBe(toHex(sha256(original)));
    expect(Buffer.compare(plaintext, original)).toBe(0);
  });

  it.each(MEDIA_SAMPLES)(
    '$name re-encrypts to exactly the CDN object (the IV is derived)',
    ({ name, type }) => {
      const mediaKey = readFixture(`media/${name}.key`);
      const encrypted = encryptMedia(readFixture(`media/${name}.original`), mediaKey, type);
      expect(Buffer.compare(encrypted.object, readFixture(`media/${name}.encrypted`))).toBe(0);
      expect(encrypted.object.length % 16).toBe(10);
    },
  );

  it('computes the VIDEO streaming sidecar exactly', () => {
    const sidecar = mediaSidecar(
      readFixture('media/VIDEO.encrypted'),
      readFixture('media/VIDEO.key'),
      'video',
    );
    expect(toHex(sidecar)).toBe(toHex(readFixture('media/VIDEO.sidecar')));
    expect(sidecar.length).toBe(70);
  });

  it('rejects IMAGE with one flipped byte anywhere (ciphertext or MAC) as BAD_MAC', () => {
    const object = readFixture('media/IMAGE.encrypted');
    const mediaKey = readFixture('media/IMAGE.key');
    for (const position of [0, 15, 16, 1000, object.length - 11, object.length - 10, object.length - 1]) {
      const corrupt = object.slice();
      corrupt[position]! ^= 0x01;
      expect(() => decryptMedia(corrupt, mediaKey, 'image')).toThrow(
        expect.objectContaining({ code: 'BAD_MAC' }),
      );
    }
  });

  it('checks fileEncSha256 before the MAC, and fileSha256 and fileLength after decrypting', () => {
    const object = readFixture('media/AUDIO.encrypted');
    const mediaKey = readFixture('media/AUDIO.key');
    const wrong = new Uint8Array(32);
    expect(() => decryptMedia(object, mediaKey, 'audio', { fileEncSha256: wrong })).toThrow(
      expect.objectContaining({ code: 'HASH_MISMATCH' }),
    );
    expect(() => decryptMedia(object, mediaKey, 'audio', { fileSha256: wrong })).toThrow(
      expect.objectContaining({ code: 'HASH_MISMATCH' }),
    );
    expect(() => decryptMedia(object, mediaKey, 'audio', { fileLength: 1 })).toThrow(
      expect.objectContaining({ code: 'HASH_MISMATCH' }),
    );
  });

  it('decrypting with the wrong type (wrong HKDF info) fails the MAC', () => {
    expect(() =>
      decryptMedia(readFixture('media/IMAGE.encrypted'), readFixture('media/IMAGE.key'), 'video'),
    ).toThrow(expect.objectContaining({ code: 'BAD_MAC' }));
  });

  it('treats an object of 10 bytes or less as deleted media, and a bad length as BAD_LENGTH', () => {
    const key = new Uint8Array(32);
    expect(() => decryptMedia(new Uint8Array(10), key, 'image')).toThrow(
      expect.objectContaining({ code: 'MEDIA_DELETED' }),
    );
    expect(() => decryptMedia(new Uint8Array(27), key, 'image')).toThrow(
      expect.objectContaining({ code: 'BAD_LENGTH' }),
    );
    expect(() => decryptMedia(new Uint8Array(26), new Uint8Array(31), 'image')).toThrow(CryptoError);
  });
});

describe('media key expansion', () => {
  it('has an HKDF info string for every media type, shared within families', () => {
    expect(MEDIA_TYPES).toEqual(['image', 'sticker', 'video', 'gif', 'audio', 'ptt', 'document', 'history']);
    expect(MEDIA_HKDF_INFO.sticker).toBe(MEDIA_HKDF_INFO.image);
    expect(MEDIA_HKDF_INFO.gif).toBe(MEDIA_HKDF_INFO.video);
    expect(MEDIA_HKDF_INFO.ptt).toBe(MEDIA_HKDF_INFO.audio);
    expect(MEDIA_HKDF_INFO.history).toBe('WhatsApp History Keys');
  });

  it('splits 112 bytes into iv, cipherKey, macKey and refKey, different per family', () => {
    const key = new Uint8Array(32).fill(7);
    const image = expandMediaKey(key, 'image');
    expect([image.iv.length, image.cipherKey.length, image.macKey.length, image.refKey.length]).toEqual([
      16, 32, 32, 32,
    ]);
    expect(toHex(expandMediaKey(key, 'document').cipherKey)).not.toBe(toHex(image.cipherKey));
  });

  it('round-trips every media type', () => {
    const plaintext = new TextEncoder().encode('walink media round trip');
    for (const type of MEDIA_TYPES) {
      const mediaKey = new Uint8Array(32).fill(MEDIA_TYPES.indexOf(type) + 1);
      const encrypted = encryptMedia(plaintext, mediaKey, type);
      expect(toHex(decryptMedia(encrypted.object, mediaKey, type, encrypted))).toBe(toHex(plaintext));
    }
  });
});
