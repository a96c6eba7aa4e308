import { describe, expect, it } from 'vitest';
import { md } from '../../../codec/index.ts';
import { toHex, x25519KeyPair, x25519PublicKey } from '../../../crypto/index.ts';
import { xeddsaSign } from '../../../crypto/md/index.ts';
import { hex, noiseVectors } from '../../support/md-vectors.ts';

const { transcripts } = noiseVectors();
const t = transcripts[0]!;
const chainVector = t.decrypted.certChainDecoded;
const root = hex(chainVector.rootPublicKey);
const rootPrivate = hex(chainVector.rootPrivateKey);
const intermediatePrivate = hex(chainVector.intermediatePrivateKey);
const serverStatic = hex(t.decrypted.serverStatic);
const NOW = 1767225600 + 86400;

function failure(chain: Uint8Array, options: Partial<md.VerifyCertChainOptions> = {}): string | null {
  try {
    md.verifyCertChain(chain, { serverStatic, now: NOW, rootPublicKey: root, ...options });
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(md.CertChainError);
    return (error as md.CertChainError).code;
  }
}

/** The vector chain with changed details, re-signed with the vector's keys (so only the change matters). */
function variant(changes: {
  intermediate?: Partial<md.CertDetails>;
  leaf?: Partial<md.CertDetails>;
  intermediateSignature?: Uint8Array;
  leafSignature?: Uint8Array;
}): Uint8Array {
  const chain = md.decodeCertChain(hex(t.decrypted.certChain));
  const intermediateDetails = md.encodeCertDetails({
    ...md.decodeCertDetails(chain.intermediate!.details!),
    ...changes.intermediate,
  });
  const leafDetails = md.encodeCertDetails({
    ...md.decodeCertDetails(chain.leaf!.details!),
    ...changes.leaf,
  });
  return md.encodeCertChain({
    intermediate: {
      details: intermediateDetails,
      signature: changes.intermediateSignature ?? xeddsaSign(rootPrivate, intermediateDetails),
    },
    leaf: {
      details: leafDetails,
      signature: changes.leafSignature ?? xeddsaSign(intermediatePrivate, leafDetails),
    },
  });
}

describe('server certificate chain (noise-xx.json certChainDecoded)', () => {
  it('exports WhatsApp root key', () => {
    expect(toHex(md.WA_CERT_ROOT_PUBLIC_KEY)).toBe(
      '142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b',
    );
  });

  it.each(transcripts)('$id: the chain verifies against its root and the server static', (transcript) => {
    const verified = md.verifyCertChain(hex(transcript.decrypted.certChain), {
      serverStatic: hex(transcript.decrypted.serverStatic),
      now: NOW,
      rootPublicKey: hex(transcript.decrypted.certChainDecoded.rootPublicKey),
    });
    expect(verified.intermediate).toMatchObject({ serial: 1, issuerSerial: 0 });
    expect(verified.leaf).toMatchObject({ serial: 2, issuerSerial: 1 });
    expect(toHex(verified.leaf.key!)).toBe(transcript.decrypted.serverStatic);
  });

  it('is not trusted under WhatsApp root (the default)', () => {
    expect(failure(hex(t.decrypted.certChain), { rootPublicKey: undefined })).toBe('INTERMEDIATE_SIGNATURE');
  });

  it('the re-signed vector chain still verifies (the tamper helper changes nothing by itself)', () => {
    expect(failure(variant({}))).toBeNull();
  });

  it('each check fails on its own tamper', () => {
    const genuine = md.decodeCertChain(hex(t.decrypted.certChain));
    const flip = (bytes: Uint8Array, at: number) => {
      const out = bytes.slice();
      out[at]! ^= 1;
      return out;
    };
    const cases: [string, Uint8Array, Partial<md.VerifyCertChainOptions>?][] = [
      ['MALFORMED', Uint8Array.of(0x0a, 0x7f)],
      ['MISSING_PART', md.encodeCertChain({ intermediate: genuine.intermediate! })],
      ['MISSING_PART', md.encodeCertChain({ ...genuine, leaf: { details: genuine.leaf!.details! } })],
      [
        'BAD_SIGNATURE_LENGTH',
        md.encodeCertChain({ ...genuine, leaf: { ...genuine.leaf, signature: new Uint8Array(63) } }),
      ],
      [
        'BAD_SIGNATURE_LENGTH',
        md.encodeCertChain({
          ...genuine,
          intermediate: { ...genuine.intermediate, signature: new Uint8Array(65) },
        }),
      ],
      [
        'INTERMEDIATE_SIGNATURE',
        variant({ intermediateSignature: flip(genuine.intermediate!.signature!, 5) }),
      ],
      ['INTERMEDIATE_SIGNATURE', hex(t.decrypted.certChain), { rootPublicKey: x25519KeyPair().publicKey }],
      ['INTERMEDIATE_ISSUER', variant({ intermediate: { issuerSerial: 7 } })],
      ['INTERMEDIATE_KEY', variant({ intermediate: { key: new Uint8Array(31) } })],
      ['LEAF_SIGNATURE', variant({ leafSignature: flip(genuine.leaf!.signature!, 40) })],
      ['LEAF_SIGNATURE', variant({ intermediate: { key: x25519KeyPair().publicKey } })],
      ['LEAF_ISSUER', variant({ leaf: { issuerSerial: 9 } })],
      ['LEAF_KEY', hex(t.decrypted.certChain), { serverStatic: x25519KeyPair().publicKey }],
      ['LEAF_KEY', hex(t.decrypted.certChain), { serverStatic: serverStatic.subarray(0, 31) }],
      ['NOT_YET_VALID', hex(t.decrypted.certChain), { now: 1767225600 - 1 }],
      ['EXPIRED', hex(t.decrypted.certChain), { now: 1798761600 + 1 }],
      ['NOT_YET_VALID', variant({ leaf: { notBefore: NOW + 10 } })],
      ['EXPIRED', variant({ leaf: { notAfter: NOW - 10 } })],
    ];
    for (const [code, chain, options] of cases) expect(failure(chain, options), code).toBe(code);
    // The window is inclusive at both ends.
    expect(failure(hex(t.decrypted.certChain), { now: 1767225600 })).toBeNull();
    expect(failure(hex(t.decrypted.certChain), { now: 1798761600 })).toBeNull();
  });

  it('names the certificate that failed', () => {
    try {
      md.verifyCertChain(variant({ leaf: { notAfter: NOW - 10 } }), {
        serverStatic,
        now: NOW,
        rootPublicKey: root,
      });
    } catch (error) {
      expect((error as md.CertChainError).certificate).toBe('leaf');
    }
    expect.assertions(1);
  });
});

describe('building a chain (emulator)', () => {
  it('rebuilds the vector details byte for byte from the same keys, serials and window', () => {
    const intermediateKey = x25519PublicKey(intermediatePrivate);
    const details = md.decodeCertDetails(hex(chainVector.intermediate.details));
    const chain = md.buildCertChain({
      rootPrivateKey: rootPrivate,
      intermediate: {
        keyPair: { privateKey: intermediatePrivate, publicKey: intermediateKey },
        serial: 1,
        notBefore: details.notBefore!,
        notAfter: details.notAfter!,
      },
      leaf: {
        publicKey: serverStatic,
        serial: 2,
        notBefore: details.notBefore!,
        notAfter: details.notAfter!,
      },
    });
    const decoded = md.decodeCertChain(chain);
    expect(toHex(decoded.intermediate!.details!)).toBe(chainVector.intermediate.details);
    expect(toHex(decoded.leaf!.details!)).toBe(chainVector.leaf.details);
    expect(failure(chain)).toBeNull();
  });

  it('a fresh chain verifies against its own root only', () => {
    const rootKeys = x25519KeyPair();
    const server = x25519KeyPair();
    const chain = md.buildCertChain({
      rootPrivateKey: rootKeys.privateKey,
      intermediate: { keyPair: x25519KeyPair(), serial: 10, notBefore: 0, notAfter: NOW * 2 },
      leaf: { publicKey: server.publicKey, serial: 11, notBefore: 0, notAfter: NOW * 2 },
    });
    expect(failure(chain, { rootPublicKey: rootKeys.publicKey, serverStatic: server.publicKey })).toBeNull();
    expect(failure(chain, { serverStatic: server.publicKey })).toBe('INTERMEDIATE_SIGNATURE');
  });
});
