import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { NoiseTransport } from './crypto/index.ts';

const key = randomBytes(32);
const ko = createSecretKey(key);
const iv = Buffer.alloc(12);
function raw(k: any, pt: Buffer) {
  const c = createCipheriv('aes-256-gcm', k, iv);
  const s = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
  const d = createDecipheriv('aes-256-gcm', k, iv);
  d.setAuthTag(s.subarray(s.length - 16));
  Buffer.concat([d.update(s.subarray(0, s.length - 16)), d.final()]);
}
const w = new NoiseTransport(key, key),
  r = new NoiseTransport(key, key);
function rate(fn: () => void, ms = 300) {
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return n / ((performance.now() - t) / 1000);
}
for (const size of [64, 1024]) {
  const pt = randomBytes(size);
  const u = new Uint8Array(pt);
  const best = { raw: 0, rawKO: 0, noise: 0 };
  for (let round = 0; round < 6; round++) {
    best.raw = Math.max(
      best.raw,
      rate(() => raw(key, pt)),
    );
    best.rawKO = Math.max(
      best.rawKO,
      rate(() => raw(ko, pt)),
    );
    best.noise = Math.max(
      best.noise,
      rate(() => r.open(w.seal(u))),
    );
  }
  console.log(size, best, (best.noise / best.raw).toFixed(2));
}
