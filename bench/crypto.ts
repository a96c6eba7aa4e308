// Frame seal/open per second, beside a reference doing the bare AES-CBC + HMAC work with no checks.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { openFrame, sealFrame } from '../crypto/index.ts';
import { measure, round } from './measure.ts';

const SIZES = [200, 4096, 65536];

export async function run(): Promise<Record<string, unknown>> {
  const keys = { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
  const results: Record<string, unknown> = {};
  for (const size of SIZES) {
    const payload = new Uint8Array(randomBytes(size));
    const sealed = sealFrame(keys, payload);
    const iv = randomBytes(16);
    const seal = measure(() => sealFrame(keys, payload));
    const open = measure(() => openFrame(keys, sealed));
    // Reference: the same primitives without length/key checks, constant-time compare or copies.
    const referenceOpen = measure(() => {
      createHmac('sha256', keys.macKey).update(sealed.subarray(32)).digest();
      const d = createDecipheriv('aes-256-cbc', keys.encKey, sealed.subarray(32, 48));
      d.update(sealed.subarray(48));
      d.final();
    });
    const referenceSeal = measure(() => {
      const c = createCipheriv('aes-256-cbc', keys.encKey, iv);
      const ct = Buffer.concat([c.update(payload), c.final()]);
      createHmac('sha256', keys.macKey).update(iv).update(ct).digest();
    });
    results[`${size}B`] = {
      sealPerSecond: seal.opsPerSecond,
      openPerSecond: open.opsPerSecond,
      referenceSealPerSecond: referenceSeal.opsPerSecond,
      referenceOpenPerSecond: referenceOpen.opsPerSecond,
      sealRatioToReference: round(seal.opsPerSecond / referenceSeal.opsPerSecond, 2),
      openRatioToReference: round(open.opsPerSecond / referenceOpen.opsPerSecond, 2),
    };
  }
  return { frames: results };
}
