// The server's certificate chain (docs/protocol-md.md §2.4): root → intermediate (serial 1, issuer 0) →
// leaf (serial 2, issuer 1) certifying the Noise static key, each XEdDSA-signed by the key above it. The
// keys live in MdState (made at first start); the chain is re-signed daily so its validity never lapses.
import { md } from '../../codec/index.ts';
import type { ServerKeys } from './state.ts';

const DAY = 86_400;
const INTERMEDIATE_SERIAL = 1;
const LEAF_SERIAL = 2;

export class CertificateChain {
  #bytes: Uint8Array | null = null;
  #signedAt = 0;

  constructor(
    private readonly keys: ServerKeys,
    private readonly nowMs: () => number,
  ) {}

  /** The serialized CertChain for ServerHello's payload. */
  bytes(): Uint8Array {
    const now = Math.floor(this.nowMs() / 1000);
    if (!this.#bytes || now - this.#signedAt > DAY) {
      const validity = { notBefore: now - DAY, notAfter: now + 30 * DAY };
      this.#bytes = md.buildCertChain({
        rootPrivateKey: this.keys.root.privateKey,
        intermediate: { serial: INTERMEDIATE_SERIAL, keyPair: this.keys.intermediate, ...validity },
        leaf: { serial: LEAF_SERIAL, publicKey: this.keys.noiseStatic.publicKey, ...validity },
      });
      this.#signedAt = now;
    }
    return this.#bytes!;
  }
}
