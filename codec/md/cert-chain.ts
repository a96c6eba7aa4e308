// The server certificate chain carried in ServerHello's payload (docs/protocol-md.md "Certificate chain"):
// root → intermediate (issuerSerial 0) → leaf (issuerSerial = intermediate serial, key = the server's Noise
// static), each `details` XEdDSA-signed by the key above it. Verified the way whatsmeow verifies it.
import { constantTimeEqual, fromHex, type X25519KeyPair } from '../../crypto/index.ts';
import { xeddsaSign, xeddsaVerify } from '../../crypto/md/index.ts';
import { isCodecError } from '../errors.ts';
import {
  type CertDetails,
  decodeCertChain,
  decodeCertDetails,
  encodeCertChain,
  encodeCertDetails,
} from './proto.ts';

/** WhatsApp's root ("WhatsAppLongTerm1"), a Curve25519 public key. */
export const WA_CERT_ROOT_PUBLIC_KEY: Uint8Array = fromHex(
  '142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b',
);
/** The intermediate's issuer serial: the root's. */
export const WA_CERT_ROOT_SERIAL = 0;

export type CertChainFailure =
  | 'MALFORMED'
  | 'MISSING_PART'
  | 'BAD_SIGNATURE_LENGTH'
  | 'INTERMEDIATE_SIGNATURE'
  | 'INTERMEDIATE_ISSUER'
  | 'INTERMEDIATE_KEY'
  | 'LEAF_SIGNATURE'
  | 'LEAF_ISSUER'
  | 'LEAF_KEY'
  | 'NOT_YET_VALID'
  | 'EXPIRED';

export class CertChainError extends Error {
  override readonly name = 'CertChainError';
  constructor(
    readonly code: CertChainFailure,
    message: string,
    /** Which certificate failed, when it is one of them. */
    readonly certificate: 'intermediate' | 'leaf' | null = null,
  ) {
    super(message);
  }
}

export interface CertSpec {
  serial: number;
  /** Unix seconds. */
  notBefore: number;
  notAfter: number;
}

export interface BuildCertChainInput {
  rootPrivateKey: Uint8Array;
  intermediate: CertSpec & { keyPair: X25519KeyPair };
  /** The leaf certifies the server's Noise static public key. */
  leaf: CertSpec & { publicKey: Uint8Array };
}

/** Emulator side: a serialized CertChain, signed for real. */
export function buildCertChain(input: BuildCertChainInput): Uint8Array {
  const intermediateDetails = encodeCertDetails({
    serial: input.intermediate.serial,
    issuerSerial: WA_CERT_ROOT_SERIAL,
    key: input.intermediate.keyPair.publicKey,
    notBefore: input.intermediate.notBefore,
    notAfter: input.intermediate.notAfter,
  });
  const leafDetails = encodeCertDetails({
    serial: input.leaf.serial,
    issuerSerial: input.intermediate.serial,
    key: input.leaf.publicKey,
    notBefore: input.leaf.notBefore,
    notAfter: input.leaf.notAfter,
  });
  return encodeCertChain({
    intermediate: {
      details: intermediateDetails,
      signature: xeddsaSign(input.rootPrivateKey, intermediateDetails),
    },
    leaf: { details: leafDetails, signature: xeddsaSign(input.intermediate.keyPair.privateKey, leafDetails) },
  });
}

export interface VerifyCertChainOptions {
  /** The decrypted server static of the handshake: the leaf must certify exactly this key. */
  serverStatic: Uint8Array;
  /** Unix seconds. */
  now: number;
  /** The trusted root (default WhatsApp's; the embedded emulator's when talking to it). */
  rootPublicKey?: Uint8Array;
}

export interface VerifiedCertChain {
  intermediate: CertDetails;
  leaf: CertDetails;
}

/** Every check whatsmeow makes, in its order; each failure is a CertChainError with its own code. */
export function verifyCertChain(chain: Uint8Array, options: VerifyCertChainOptions): VerifiedCertChain {
  const root = options.rootPublicKey ?? WA_CERT_ROOT_PUBLIC_KEY;
  const decoded = decodeOr(() => decodeCertChain(chain), 'the certificate chain');
  const intermediate = decoded.intermediate;
  const leaf = decoded.leaf;
  if (!intermediate?.details || !intermediate.signature || !leaf?.details || !leaf.signature) {
    throw new CertChainError(
      'MISSING_PART',
      'the certificate chain lacks a certificate, details or signature',
    );
  }
  if (intermediate.signature.length !== 64) {
    throw new CertChainError(
      'BAD_SIGNATURE_LENGTH',
      'intermediate signature is not 64 bytes',
      'intermediate',
    );
  }
  if (leaf.signature.length !== 64) {
    throw new CertChainError('BAD_SIGNATURE_LENGTH', 'leaf signature is not 64 bytes', 'leaf');
  }
  if (!xeddsaVerify(root, intermediate.details, intermediate.signature)) {
    throw new CertChainError(
      'INTERMEDIATE_SIGNATURE',
      'the root did not sign the intermediate',
      'intermediate',
    );
  }
  const intermediateDetails = decodeOr(
    () => decodeCertDetails(intermediate.details!),
    'intermediate details',
  );
  if ((intermediateDetails.issuerSerial ?? 0) !== WA_CERT_ROOT_SERIAL) {
    throw new CertChainError(
      'INTERMEDIATE_ISSUER',
      'the intermediate is not issued by the root',
      'intermediate',
    );
  }
  const intermediateKey = intermediateDetails.key;
  if (intermediateKey?.length !== 32) {
    throw new CertChainError('INTERMEDIATE_KEY', 'the intermediate key is not 32 bytes', 'intermediate');
  }
  if (!xeddsaVerify(intermediateKey, leaf.details, leaf.signature)) {
    throw new CertChainError('LEAF_SIGNATURE', 'the intermediate did not sign the leaf', 'leaf');
  }
  checkValidity(intermediateDetails, options.now, 'intermediate');
  const leafDetails = decodeOr(() => decodeCertDetails(leaf.details!), 'leaf details');
  if ((leafDetails.issuerSerial ?? 0) !== (intermediateDetails.serial ?? 0)) {
    throw new CertChainError('LEAF_ISSUER', 'the leaf names another issuer than the intermediate', 'leaf');
  }
  if (!leafDetails.key || !constantTimeEqual(leafDetails.key, options.serverStatic)) {
    throw new CertChainError('LEAF_KEY', "the leaf does not certify the server's static key", 'leaf');
  }
  checkValidity(leafDetails, options.now, 'leaf');
  return { intermediate: intermediateDetails, leaf: leafDetails };
}

function checkValidity(details: CertDetails, now: number, which: 'intermediate' | 'leaf'): void {
  if (now < (details.notBefore ?? 0)) {
    throw new CertChainError('NOT_YET_VALID', `the ${which} certificate is not valid yet`, which);
  }
  if (now > (details.notAfter ?? 0)) {
    throw new CertChainError('EXPIRED', `the ${which} certificate has expired`, which);
  }
}

function decodeOr<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (error) {
    if (isCodecError(error)) throw new CertChainError('MALFORMED', `${what}: ${error.message}`);
    throw error;
  }
}
