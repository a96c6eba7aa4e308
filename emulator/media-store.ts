// The media CDN's objects and the phone's media messages: each upload gets a fresh mediaKey and a
// random token; the CDN serves ct ‖ mac at /d/f/<token>.enc and /mms/<type>/<token>.

import type { Message } from '../codec/index.ts';
import { encryptMedia, type MediaType, mediaSidecar, randomBytes, toHex } from '../crypto/index.ts';

export const PHONE_MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type PhoneMediaType = (typeof PHONE_MEDIA_TYPES)[number];

export interface StoredMedia {
  token: string;
  type: PhoneMediaType;
  object: Uint8Array;
}

export class MediaStore {
  private readonly objects = new Map<string, StoredMedia>();
  private readonly byMessageId = new Map<string, string>();

  get(token: string): StoredMedia | undefined {
    return this.objects.get(token);
  }

  /** Encrypts `plaintext` as the phone would and returns the protobuf Message that points at it. */
  upload(
    messageId: string,
    type: PhoneMediaType,
    plaintext: Uint8Array,
    mimetype: string,
    baseUrl: string,
    now: number,
  ): { message: Message; token: string } {
    const mediaKey = randomBytes(32);
    const encrypted = encryptMedia(plaintext, mediaKey, type as MediaType);
    const token = toHex(randomBytes(16));
    this.objects.set(token, { token, type, object: encrypted.object });
    this.byMessageId.set(messageId, token);
    const directPath = `/d/f/${token}.enc`;
    const common = {
      url: `${baseUrl}${directPath}`,
      mimetype,
      fileSha256: encrypted.fileSha256,
      fileEncSha256: encrypted.fileEncSha256,
      fileLength: encrypted.fileLength,
      mediaKey,
      directPath,
      mediaKeyTimestamp: Math.floor(now / 1000),
    };
    const sidecar = () => mediaSidecar(encrypted.object, mediaKey, type as MediaType);
    switch (type) {
      case 'image':
        return { token, message: { imageMessage: { ...common, height: 1, width: 1 } } };
      case 'sticker':
        return { token, message: { stickerMessage: { ...common, height: 1, width: 1 } } };
      case 'video':
        return { token, message: { videoMessage: { ...common, seconds: 1, streamingSidecar: sidecar() } } };
      case 'audio':
        return {
          token,
          message: { audioMessage: { ...common, seconds: 1, ptt: false, streamingSidecar: sidecar() } },
        };
      case 'document':
        return {
          token,
          message: {
            documentMessage: { ...common, fileName: `document-${token.slice(0, 6)}`, title: 'document' },
          },
        };
    }
  }

  /** docs/protocol.md §4.4: the phone re-uploads expired media; the same object gets a fresh location. */
  reupload(messageId: string, baseUrl: string): { url: string; directPath: string } | undefined {
    const token = this.byMessageId.get(messageId);
    const media = token === undefined ? undefined : this.objects.get(token);
    if (!media) return undefined;
    const fresh = toHex(randomBytes(16));
    this.objects.set(fresh, { ...media, token: fresh });
    this.byMessageId.set(messageId, fresh);
    const directPath = `/d/f/${fresh}.enc`;
    return { url: `${baseUrl}${directPath}`, directPath };
  }
}
