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

/** What the CDN keeps at most; past either the oldest objects go (their URLs then answer 404). */
export interface MediaLimits {
  maxObjects: number;
  maxBytes: number;
}

export const DEFAULT_MEDIA_LIMITS: MediaLimits = { maxObjects: 1000, maxBytes: 256 * 1024 * 1024 };

export class MediaStore {
  private readonly objects = new Map<string, StoredMedia>();
  private readonly byMessageId = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly limits: MediaLimits = DEFAULT_MEDIA_LIMITS) {}

  /** Objects and bytes held now. */
  get size(): { objects: number; bytes: number } {
    return { objects: this.objects.size, bytes: this.bytes };
  }

  private put(media: StoredMedia): void {
    this.objects.set(media.token, media);
    this.bytes += media.object.length;
    for (const [token, old] of this.objects) {
      if (this.objects.size <= this.limits.maxObjects && this.bytes <= this.limits.maxBytes) break;
      if (token === media.token) break;
      this.objects.delete(token);
      this.bytes -= old.object.length;
      for (const [id, held] of this.byMessageId) if (held === token) this.byMessageId.delete(id);
    }
  }

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
    this.put({ token, type, object: encrypted.object });
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
    this.put({ ...media, token: fresh });
    this.byMessageId.set(messageId, fresh);
    const directPath = `/d/f/${fresh}.enc`;
    return { url: `${baseUrl}${directPath}`, directPath };
  }
}
